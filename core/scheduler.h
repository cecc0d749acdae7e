/** Timed jobs persisted in SQLite (table jobs: migrations 001 and 015). Plain C: the binding
 * arms one libuv timer for the next due job and runs due jobs through Lua.
 *
 * A job belongs to a lane (a name; "main" unless given). The runner runs the jobs of one lane
 * one at a time, in due order, and different lanes at once: a job is *claimed* while it runs
 * (claimed_by names the process), and the due lists leave out claimed jobs and every job of a
 * lane that has one. Claims of a process that is gone are released (the job runs again: jobs
 * run at least once). */
#ifndef CANDOR_SCHEDULER_H
#define CANDOR_SCHEDULER_H

#include "db.h"

#include <stdint.h>

/** One job as read from the table; strings point into the statement (valid during the callback). */
typedef struct sched_job {
	int64_t id;          /* row id */
	int64_t due_ms;      /* when it is due (ms since epoch) */
	int64_t created_ms;  /* when it was planned (a replacing plan counts as new) */
	const char *kind;    /* handler name, e.g. "workflow.step" */
	const char *payload; /* JSON text */
	const char *key;     /* unique key or NULL */
	const char *lane;    /* its lane */
	int attempts;        /* failed runs so far */
} sched_job_t;

/** Called for each due job; return non-zero to stop the iteration. */
typedef int (*sched_job_fn)(const sched_job_t *job, void *ud);

/** What adding a job does when its key is taken already. */
typedef enum sched_conflict {
	SCHED_REPLACE, /** the new plan replaces the job: due time, kind, payload, lane; attempts start over
	                */
	SCHED_KEEP_EARLIER, /** coalescing: one job stays, due at the earlier of the two times (payload and
	                       attempts kept) */
} sched_conflict_t;

/** A job to add. */
typedef struct sched_new {
	int64_t due_ms;               /* when it is due */
	const char *kind;             /* handler name */
	const char *payload;          /* JSON text; NULL: "{}" */
	const char *key;              /* unique key, or NULL */
	const char *lane;             /* NULL: "main" */
	sched_conflict_t on_conflict; /* when key is taken */
} sched_new_t;

/** Adds a job. When its key is taken, on_conflict says what happens; if the job there is running,
 * it stays claimed and is marked to run again (at its new time) when this run ends. Returns the
 * job's id (the existing one's on a conflict), or -1. */
int64_t sched_add(db_t *db, const sched_new_t *job);
/** Removes jobs whose key equals key, or starts with it when prefix is set. Returns how many, or -1. */
int sched_cancel(db_t *db, const char *key, int prefix);
/** The earliest due time of a job that may start (unclaimed, in a lane with no claimed job), or
 * -1 when there is none. */
int64_t sched_next_due(db_t *db);
/** Calls fn for up to limit jobs that may start and are due at or before now, earliest first (then
 * by id); only those of lane when it is not NULL. Returns how many, or -1. */
int sched_each_due(db_t *db, int64_t now_ms, int limit, const char *lane, sched_job_fn fn, void *ud);
/** Calls fn for the job with this key, if there is one. Returns 1, 0 or -1. */
int sched_find(db_t *db, const char *key, sched_job_fn fn, void *ud);
/** Claims a job for claimant (a process: see proc.h). Returns 1 when claimed, 0 when it is claimed
 * already or gone, -1 on error. */
int sched_claim(db_t *db, int64_t id, const char *claimant);
/** A run ended well: removes the job, or, when it was re-planned while it ran, releases it to run
 * again (its attempts start over). 0 or -1. */
int sched_done(db_t *db, int64_t id);
/** A run failed: records error, counts the attempt and moves the job to due_ms, released. A job
 * replaced while it ran keeps its new plan instead (its attempts start over); a coalesced one
 * waits for due_ms like any other. 0 or -1. */
int sched_retry(db_t *db, int64_t id, int64_t due_ms, const char *error);
/** Releases the claims of every claimant that alive() says is gone (returns 0 for it). Returns how
 * many jobs were released, or -1. */
int sched_release(db_t *db, int (*alive)(const char *claimant, void *ud), void *ud);

#endif
