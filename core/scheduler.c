/* Persistent timed jobs. */
#include "scheduler.h"

#include "clock.h"

#include <string.h>

static int64_t step_done(db_t *db, sqlite3_stmt *st)
{
	db_count_query(db);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int64_t sched_add(db_t *db, int64_t due_ms, const char *kind, const char *payload, const char *key)
{
	sqlite3_stmt *st = db_prepare(db,
		"INSERT INTO jobs(due_ms, kind, payload, key, created_ms) VALUES(?,?,?,?,?) "
		"ON CONFLICT(key) DO UPDATE SET due_ms=excluded.due_ms, kind=excluded.kind, "
		"payload=excluded.payload, attempts=0, last_error=NULL", -1);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, due_ms);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, payload ? payload : "{}", -1, SQLITE_STATIC);
	if (key)
		sqlite3_bind_text(st, 4, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, clock_now_ms());
	if (step_done(db, st) != 0)
		return -1;
	if (!key)
		return sqlite3_last_insert_rowid(db_sqlite(db));
	sqlite3_stmt *q = db_prepare(db, "SELECT id FROM jobs WHERE key=?", -1);
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
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
	sqlite3_stmt *st = db_prepare(db, "SELECT min(due_ms) FROM jobs", -1);
	if (!st)
		return -1;
	db_count_query(db);
	int64_t due = -1;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		due = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return due;
}

int sched_each_due(db_t *db, int64_t now_ms, int limit, sched_job_fn fn, void *ud)
{
	sqlite3_stmt *st = db_prepare(db,
		"SELECT id, due_ms, kind, payload, key, attempts FROM jobs "
		"WHERE due_ms <= ? ORDER BY due_ms, id LIMIT ?", -1);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int(st, 2, limit);
	db_count_query(db);
	int n = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		sched_job_t job = {
			.id = sqlite3_column_int64(st, 0),
			.due_ms = sqlite3_column_int64(st, 1),
			.kind = (const char *)sqlite3_column_text(st, 2),
			.payload = (const char *)sqlite3_column_text(st, 3),
			.key = (const char *)sqlite3_column_text(st, 4),
			.attempts = sqlite3_column_int(st, 5),
		};
		n++;
		if (fn(&job, ud) != 0)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : -1;
}

int sched_done(db_t *db, int64_t id)
{
	sqlite3_stmt *st = db_prepare(db, "DELETE FROM jobs WHERE id=?", -1);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return (int)step_done(db, st);
}

int sched_retry(db_t *db, int64_t id, int64_t due_ms, const char *error)
{
	sqlite3_stmt *st = db_prepare(db,
		"UPDATE jobs SET due_ms=?, attempts=attempts+1, last_error=? WHERE id=?", -1);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, due_ms);
	sqlite3_bind_text(st, 2, error ? error : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	return (int)step_done(db, st);
}
