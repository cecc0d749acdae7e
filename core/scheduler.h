/** Timed jobs persisted in SQLite (table jobs, created by migration 001). Plain C: the
 * binding arms one libuv timer for the next due job and runs due jobs through Lua. */
#ifndef CANDOR_SCHEDULER_H
#define CANDOR_SCHEDULER_H

#include "db.h"

#include <stdint.h>

/** One job as read from the table; strings point into the statement (valid during the callback). */
typedef struct sched_job {
	int64_t id;           /* row id */
	int64_t due_ms;       /* when it is due (ms since epoch) */
	const char *kind;     /* handler name, e.g. "workflow.step" */
	const char *payload;  /* JSON text */
	const char *key;      /* unique key or NULL */
	int attempts;         /* failed runs so far */
} sched_job_t;

/** Called for each due job; return non-zero to stop the iteration. */
typedef int (*sched_job_fn)(const sched_job_t *job, void *ud);

/** Adds a job. A job with the same non-NULL key is replaced (so re-planning is idempotent).
 * Returns the new id, or -1. */
int64_t sched_add(db_t *db, int64_t due_ms, const char *kind, const char *payload, const char *key);
/** Removes jobs whose key equals key, or starts with it when prefix is set. Returns how many, or -1. */
int sched_cancel(db_t *db, const char *key, int prefix);
/** The earliest due time, or -1 when there are no jobs. */
int64_t sched_next_due(db_t *db);
/** Calls fn for up to limit jobs due at or before now, earliest first. Returns how many, or -1. */
int sched_each_due(db_t *db, int64_t now_ms, int limit, sched_job_fn fn, void *ud);
/** Removes a finished job. 0 or -1. */
int sched_done(db_t *db, int64_t id);
/** Records a failure and moves the job to due_ms. 0 or -1. */
int sched_retry(db_t *db, int64_t id, int64_t due_ms, const char *error);

#endif
