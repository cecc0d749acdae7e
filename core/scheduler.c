/* Persistent timed jobs: the queue every kind of job goes through (see scheduler.h). */
#include "scheduler.h"

#include "clock.h"

#include <stdlib.h>
#include <string.h>

/** The columns a sched_job_t is read from, in this order. */
#define JOB_COLUMNS "id, due_ms, created_ms, kind, payload, key, lane, attempts"

/** Jobs that may start: not claimed, in a lane where nothing is claimed. */
#define MAY_START "claimed_by IS NULL AND lane NOT IN (SELECT lane FROM jobs WHERE claimed_by IS NOT NULL)"

static int step_done(db_t *db, sqlite3_stmt *st)
{
	db_count_query(db);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Calls fn for each row of st (columns JOB_COLUMNS), resets st. Returns the rows seen, or -1. */
static int each_job(db_t *db, sqlite3_stmt *st, sched_job_fn fn, void *ud)
{
	db_count_query(db);
	int n = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sched_job_t job = {
		    .id = sqlite3_column_int64(st, 0),
		    .due_ms = sqlite3_column_int64(st, 1),
		    .created_ms = sqlite3_column_int64(st, 2),
		    .kind = (const char *)sqlite3_column_text(st, 3),
		    .payload = (const char *)sqlite3_column_text(st, 4),
		    .key = (const char *)sqlite3_column_text(st, 5),
		    .lane = (const char *)sqlite3_column_text(st, 6),
		    .attempts = sqlite3_column_int(st, 7),
		};
		n++;
		if (fn(&job, ud) != 0)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : -1;
}

int64_t sched_add(db_t *db, const sched_new_t *job)
{
	/* again: 1 when work was coalesced into a running job, 2 when a running job was re-planned */
	static const char *sql[] = {
	    [SCHED_REPLACE] =
	        "INSERT INTO jobs(due_ms, kind, payload, key, lane, created_ms) VALUES(?,?,?,?,?,?) "
	        "ON CONFLICT(key) DO UPDATE SET due_ms=excluded.due_ms, kind=excluded.kind, "
	        "payload=excluded.payload, lane=excluded.lane, created_ms=excluded.created_ms, "
	        "attempts=0, last_error=NULL, "
	        "again=CASE WHEN claimed_by IS NULL THEN 0 ELSE 2 END",
	    [SCHED_KEEP_EARLIER] =
	        "INSERT INTO jobs(due_ms, kind, payload, key, lane, created_ms) VALUES(?,?,?,?,?,?) "
	        "ON CONFLICT(key) DO UPDATE SET "
	        "due_ms=CASE WHEN claimed_by IS NOT NULL AND again=0 THEN excluded.due_ms "
	        "ELSE min(due_ms, excluded.due_ms) END, "
	        "again=CASE WHEN claimed_by IS NULL THEN 0 WHEN again=0 THEN 1 ELSE again END",
	};
	if (job->on_conflict != SCHED_REPLACE && job->on_conflict != SCHED_KEEP_EARLIER)
		return -1;
	sqlite3_stmt *st = db_prepare(db, sql[job->on_conflict], -1);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, job->due_ms);
	sqlite3_bind_text(st, 2, job->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, job->payload ? job->payload : "{}", -1, SQLITE_STATIC);
	if (job->key)
		sqlite3_bind_text(st, 4, job->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, job->lane ? job->lane : "main", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, clock_now_ms());
	if (step_done(db, st) != 0)
		return -1;
	if (!job->key)
		return sqlite3_last_insert_rowid(db_sqlite(db));
	sqlite3_stmt *q = db_prepare(db, "SELECT id FROM jobs WHERE key=?", -1);
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, job->key, -1, SQLITE_STATIC);
	int64_t id = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
	sqlite3_reset(q);
	return id;
}

int sched_cancel(db_t *db, const char *key, int prefix)
{
	sqlite3_stmt *st;
	if (prefix) {
		/* key range instead of LIKE, so '%' and '_' in keys mean nothing special */
		st = db_prepare(db, "DELETE FROM jobs WHERE key >= ?1 AND key < ?1 || char(1114111)", -1);
	} else {
		st = db_prepare(db, "DELETE FROM jobs WHERE key = ?1", -1);
	}
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (step_done(db, st) != 0)
		return -1;
	return sqlite3_changes(db_sqlite(db));
}

int64_t sched_next_due(db_t *db)
{
	sqlite3_stmt *st =
	    db_prepare(db, "SELECT due_ms FROM jobs WHERE " MAY_START " ORDER BY due_ms LIMIT 1", -1);
	if (!st)
		return -1;
	db_count_query(db);
	int64_t due = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		due = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return due;
}

int sched_each_due(db_t *db, int64_t now_ms, int limit, const char *lane, sched_job_fn fn, void *ud)
{
	sqlite3_stmt *st;
	if (lane) {
		st = db_prepare(db,
		                "SELECT " JOB_COLUMNS
		                " FROM jobs WHERE lane = ?3 AND due_ms <= ?1 AND " MAY_START
		                " ORDER BY due_ms, id LIMIT ?2",
		                -1);
	} else {
		st = db_prepare(db,
		                "SELECT " JOB_COLUMNS " FROM jobs WHERE due_ms <= ?1 AND " MAY_START
		                " ORDER BY due_ms, id LIMIT ?2",
		                -1);
	}
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int(st, 2, limit);
	if (lane)
		sqlite3_bind_text(st, 3, lane, -1, SQLITE_STATIC);
	return each_job(db, st, fn, ud);
}

int sched_find(db_t *db, const char *key, sched_job_fn fn, void *ud)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT " JOB_COLUMNS " FROM jobs WHERE key = ?", -1);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	return each_job(db, st, fn, ud);
}

int sched_claim(db_t *db, int64_t id, const char *claimant)
{
	sqlite3_stmt *st =
	    db_prepare(db, "UPDATE jobs SET claimed_by=? WHERE id=? AND claimed_by IS NULL", -1);
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, claimant, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	if (step_done(db, st) != 0)
		return -1;
	return sqlite3_changes(db_sqlite(db)) == 1;
}

int sched_done(db_t *db, int64_t id)
{
	sqlite3_stmt *del = db_prepare(db, "DELETE FROM jobs WHERE id=? AND again=0", -1);
	if (!del)
		return -1;
	sqlite3_bind_int64(del, 1, id);
	if (step_done(db, del) != 0)
		return -1;
	if (sqlite3_changes(db_sqlite(db)) == 1)
		return 0;
	/* re-planned while it ran (or gone): released, due at its new time, a fresh series of attempts */
	sqlite3_stmt *st = db_prepare(
	    db, "UPDATE jobs SET claimed_by=NULL, again=0, attempts=0, last_error=NULL WHERE id=?", -1);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return step_done(db, st);
}

int sched_retry(db_t *db, int64_t id, int64_t due_ms, const char *error)
{
	sqlite3_stmt *st = db_prepare(
	    db,
	    "UPDATE jobs SET due_ms=CASE WHEN again=2 THEN due_ms ELSE ?1 END, "
	    "attempts=CASE WHEN again=2 THEN 0 ELSE attempts+1 END, "
	    "last_error=CASE WHEN again=2 THEN NULL ELSE ?2 END, claimed_by=NULL, again=0 WHERE id=?3",
	    -1);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, due_ms);
	sqlite3_bind_text(st, 2, error ? error : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	return step_done(db, st);
}

int sched_release(db_t *db, int (*alive)(const char *claimant, void *ud), void *ud)
{
	sqlite3_stmt *st =
	    db_prepare(db, "SELECT DISTINCT claimed_by FROM jobs WHERE claimed_by IS NOT NULL", -1);
	sqlite3_stmt *up = db_prepare(db, "UPDATE jobs SET claimed_by=NULL, again=0 WHERE claimed_by=?", -1);
	if (!st || !up)
		return -1;
	/* the claimants first (few: one per process that ran jobs), then the updates */
	char **names = NULL;
	int n = 0, cap = 0, released = 0, rc;
	db_count_query(db);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			char **nn = realloc(names, (size_t)cap * sizeof *names);
			if (!nn)
				goto fail;
			names = nn;
		}
		names[n] = strdup((const char *)sqlite3_column_text(st, 0));
		if (!names[n])
			goto fail;
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto fail;
	for (int i = 0; i < n; i++) {
		if (alive(names[i], ud))
			continue;
		sqlite3_bind_text(up, 1, names[i], -1, SQLITE_STATIC);
		if (step_done(db, up) != 0)
			goto fail;
		released += sqlite3_changes(db_sqlite(db));
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return released;
fail:
	sqlite3_reset(st);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return -1;
}
