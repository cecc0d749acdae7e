/* Unit tests of core/db.c: settings, defensive mode, the statement cache, nested
 * transactions, migrations, backup and checkpoint; watched tables' generations, the read
 * snapshot kept inside a scope, checkpoints by a connection of their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "db.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/** A temp folder per test, removed afterwards. */
static char dir[256];

static int setup(void **state)
{
	(void)state;
	log_set_level(LOG_WARN);
	snprintf(dir, sizeof dir, "/tmp/candor-db-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

static db_t *open_file(const char *name)
{
	char path[512], err[512] = "";
	path_in(path, sizeof path, name);
	db_t *db = db_open(path, err, sizeof err);
	if (!db)
		print_error("db_open: %s\n", err);
	assert_non_null(db);
	return db;
}

/* The first column of the first row of sql, as an integer (asserts there is a row). */
static int64_t query_int(db_t *db, const char *sql)
{
	sqlite3_stmt *st = db_prepare(db, sql, -1);
	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

static const char *query_text(db_t *db, const char *sql)
{
	static char out[256];
	sqlite3_stmt *st = db_prepare(db, sql, -1);
	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return out;
}

static void write_file(const char *sub, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *make_folder(const char *sub)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, sub);
	assert_int_equal(mkdir(path, 0700), 0);
	return path;
}

/* --- settings --- */
static void file_database_has_the_safe_settings(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	assert_string_equal(query_text(db, "PRAGMA journal_mode"), "wal");
	assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(query_int(db, "PRAGMA synchronous"), 2); /* FULL */
	assert_int_equal(query_int(db, "PRAGMA trusted_schema"), 0);
	int on = -1;
	sqlite3_db_config(db_sqlite(db), SQLITE_DBCONFIG_DEFENSIVE, -1, &on);
	assert_int_equal(on, 1);
	sqlite3_db_config(db_sqlite(db), SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, -1, &on);
	assert_int_equal(on, 0);
	db_close(db);
}

static void foreign_keys_are_enforced(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	assert_int_equal(db_exec(db, "CREATE TABLE p(id INTEGER PRIMARY KEY);"
	                             "CREATE TABLE c(id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id));"
	                             "INSERT INTO p VALUES(1); INSERT INTO c VALUES(1, 1)"),
	                 0);
	assert_int_equal(db_exec(db, "INSERT INTO c VALUES(2, 99)"), -1);
	assert_non_null(strstr(db_errmsg(db), "FOREIGN KEY"));
	assert_int_equal(query_int(db, "SELECT count(*) FROM c"), 1);
	db_close(db);
}

static void defensive_mode_refuses_schema_writes(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	assert_int_equal(db_exec(db, "CREATE TABLE t(x)"), 0);
	db_exec(db, "PRAGMA writable_schema=ON"); /* ignored or refused: either way no effect */
	assert_int_equal(db_exec(db, "UPDATE sqlite_master SET sql='CREATE TABLE t(x, y)' WHERE name='t'"),
	                 -1);
	assert_string_equal(query_text(db, "SELECT sql FROM sqlite_master WHERE name='t'"),
	                    "CREATE TABLE t(x)");
	db_close(db);
}

static void extensions_cannot_be_loaded(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	assert_int_equal(db_exec(db, "SELECT load_extension('/usr/lib/nothing.so')"), -1);
	assert_non_null(strstr(db_errmsg(db), "not authorized"));
	db_close(db);
}

static void bad_path_fails_with_a_message(void **state)
{
	(void)state;
	char err[512] = "";
	db_t *db = db_open("/nonexistent-folder/x/y.db", err, sizeof err);
	assert_null(db);
	assert_non_null(strstr(err, "/nonexistent-folder/x/y.db"));
}

/* --- statement cache --- */
static void same_sql_gives_the_same_statement(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	sqlite3_stmt *a = db_prepare(db, "SELECT ?1 + 1", -1);
	assert_non_null(a);
	int size = db_cache_size(db);
	sqlite3_bind_int(a, 1, 41);
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(a, 0), 42);
	/* same text (also given with a length): same statement, reset, bindings cleared */
	sqlite3_stmt *b = db_prepare(db, "SELECT ?1 + 1 -- ignored tail", 13);
	assert_ptr_equal(a, b);
	assert_int_equal(db_cache_size(db), size);
	assert_int_equal(sqlite3_step(b), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(b, 0), SQLITE_NULL);
	sqlite3_reset(b);
	sqlite3_stmt *c = db_prepare(db, "SELECT ?1 + 2", -1);
	assert_ptr_not_equal(a, c);
	assert_int_equal(db_cache_size(db), size + 1);
	db_close(db);
}

static void many_distinct_statements_keep_working(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	char sql[64];
	for (int i = 0; i < 2500; i++) {
		snprintf(sql, sizeof sql, "SELECT %d * 2", i);
		sqlite3_stmt *st = db_prepare(db, sql, -1);
		assert_non_null(st);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), i * 2);
		sqlite3_reset(st);
		assert_true(db_cache_size(db) <= 1024);
	}
	/* an early one is prepared again and still right */
	assert_int_equal(query_int(db, "SELECT 7 * 2"), 14);
	assert_int_equal(query_int(db, "SELECT 7 * 2"), 14);
	db_close(db);
}

static void a_statement_used_often_stays_prepared(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	sqlite3_stmt *hot = db_prepare(db, "SELECT 41 + 1", -1);
	char sql[64];
	for (int i = 0; i < 2500; i++) {
		snprintf(sql, sizeof sql, "SELECT %d * 2", i);
		assert_int_equal(query_int(db, sql), i * 2);
		/* the one every "request" runs is never the least recently used: the same statement */
		assert_ptr_equal(db_prepare(db, "SELECT 41 + 1", -1), hot);
	}
	assert_true(db_cache_size(db) <= 1024);
	db_close(db);
}

static void a_generation_moves_with_every_write_to_its_tables(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	assert_int_equal(
	    db_exec(db, "CREATE TABLE a(x); CREATE TABLE b(x); CREATE TABLE c(x);"
	                "CREATE TRIGGER b_to_a AFTER INSERT ON b BEGIN INSERT INTO a VALUES(new.x); END"),
	    0);
	int bit = db_watch(db, "a");
	assert_true(bit >= 0);
	assert_int_equal(db_watch(db, "A"), bit);
	uint64_t mask = (uint64_t)1 << bit;
	uint64_t g = db_generation(db, mask);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 0);
	assert_true(db_generation(db, mask) == g); /* a read moves nothing */
	assert_int_equal(db_exec(db, "INSERT INTO c VALUES(1)"), 0);
	assert_true(db_generation(db, mask) == g); /* nor a write to another table */
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO a VALUES(?)", -1);
	sqlite3_bind_int(st, 1, 1);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_true(db_generation(db, mask) != g);
	g = db_generation(db, mask);
	st = db_prepare(db, "INSERT INTO a VALUES(?)", -1); /* cached: every run counts */
	sqlite3_bind_int(st, 1, 2);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_true(db_generation(db, mask) != g);
	g = db_generation(db, mask);
	assert_int_equal(db_exec(db, "INSERT INTO b VALUES(3)"), 0); /* through a trigger */
	assert_true(db_generation(db, mask) != g);
	g = db_generation(db, mask);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO c VALUES(2)"), 0);
	assert_int_equal(db_rollback(db), 0); /* what was read meanwhile may be gone */
	assert_true(db_generation(db, mask) != g);
	db_close(db);
}

static void a_generation_moves_when_another_connection_commits(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	assert_int_equal(db_exec(db, "CREATE TABLE a(x)"), 0);
	db_t *other = open_file("a.db");
	uint64_t mask = (uint64_t)1 << db_watch(db, "a");
	uint64_t g = db_generation(db, mask);
	assert_true(db_generation(db, mask) == g);
	assert_int_equal(db_exec(other, "INSERT INTO a VALUES(1)"), 0);
	assert_true(db_generation(db, mask) != g);
	db_close(other);
	db_close(db);
}

static void a_snapshot_is_shared_only_inside_its_scope(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	assert_int_equal(db_exec(db, "CREATE TABLE a(x)"), 0);
	db_t *other = open_file("a.db");
	/* outside a scope every read sees the newest data */
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 0);
	assert_int_equal(db_exec(other, "INSERT INTO a VALUES(1)"), 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 1);
	/* inside one, reads share the snapshot of the first until it ends */
	db_pin_scope(db, 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 1);
	assert_int_equal(db_exec(other, "INSERT INTO a VALUES(2)"), 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 1);
	db_end_read(db);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 2);
	/* a write of its own ends it first: the write sees the newest data */
	assert_int_equal(db_exec(other, "INSERT INTO a VALUES(3)"), 0);
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO a SELECT count(*) FROM a", -1);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(query_int(db, "SELECT x FROM a ORDER BY rowid DESC LIMIT 1"), 3);
	/* a transaction never runs in one */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO a VALUES(10)"), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 5);
	db_pin_scope(db, 0);
	assert_int_equal(db_exec(other, "INSERT INTO a VALUES(4)"), 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 6);
	db_close(other);
	db_close(db);
}

static void checkpoints_run_by_a_connection_of_their_own(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	db_manual_checkpoints(db);
	assert_int_equal(db_exec(db, "CREATE TABLE t(x)"), 0);
	for (int i = 0; i < 1200; i++)
		assert_int_equal(db_exec(db, "INSERT INTO t VALUES(randomblob(100))"), 0);
	/* no commit checkpointed on its own (SQLite's automatic one starts at 1000 frames) */
	assert_true(db_wal_frames(db) >= 1200);
	char err[512] = "";
	db_ckpt_t *c = db_ckpt_open(db_path(db), err, sizeof err);
	assert_non_null(c);
	int frames = 0, done = 0;
	assert_int_equal(db_ckpt_run(c, &frames, &done), 0);
	assert_true(frames >= 1200);
	assert_int_equal(done, frames);
	db_ckpt_close(c);
	/* the next commit starts the WAL again from its beginning */
	assert_int_equal(db_exec(db, "INSERT INTO t VALUES(1)"), 0);
	assert_true(db_wal_frames(db) < 10);
	assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 1201);
	db_close(db);
	db_t *again = open_file("a.db");
	assert_int_equal(query_int(again, "SELECT count(*) FROM t"), 1201);
	db_close(again);
}

static void an_unsynced_commit_waits_for_the_disk_only_when_synced(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	assert_int_equal(db_exec(db, "CREATE TABLE t(x)"), 0);
	assert_int_equal(db_begin_unsynced(db), 0);
	assert_int_equal(query_int(db, "PRAGMA synchronous"), 1); /* NORMAL: no fsync at commit */
	/* a savepoint inside lasts as the outer transaction does */
	assert_int_equal(db_begin_unsynced(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO t VALUES(1)"), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(query_int(db, "PRAGMA synchronous"), 1);
	assert_int_equal(db_commit(db), 0);
	/* every other commit waits for the disk again */
	assert_int_equal(query_int(db, "PRAGMA synchronous"), 2);
	assert_int_equal(db_begin_unsynced(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO t VALUES(2)"), 0);
	assert_int_equal(db_rollback(db), 0);
	assert_int_equal(query_int(db, "PRAGMA synchronous"), 2);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(query_int(db, "PRAGMA synchronous"), 2);
	assert_int_equal(db_rollback(db), 0);
	assert_int_equal(db_sync(db), 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 1);
	db_close(db);
	db_t *again = open_file("a.db");
	assert_int_equal(query_int(again, "SELECT count(*) FROM t"), 1);
	db_close(again);
}

static void two_statements_in_one_text_are_refused(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	assert_null(db_prepare(db, "SELECT 1; SELECT 2", -1));
	assert_non_null(strstr(db_errmsg(db), "one statement"));
	assert_non_null(db_prepare(db, "SELECT 1;  \n", -1));
	assert_null(db_prepare(db, "SELEKT 1", -1));
	assert_non_null(strstr(db_errmsg(db), "syntax error"));
	db_close(db);
}

/* --- transactions --- */
static void inner_rollback_keeps_the_outer_work(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	assert_int_equal(db_exec(db, "CREATE TABLE t(x)"), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO t VALUES(1)"), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_depth(db), 2);
	assert_int_equal(db_exec(db, "INSERT INTO t VALUES(2)"), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO t VALUES(3)"), 0);
	assert_int_equal(db_commit(db), 0);   /* 3 goes into level 2 ... */
	assert_int_equal(db_rollback(db), 0); /* ... which is rolled back with 2 */
	assert_int_equal(db_depth(db), 1);
	assert_int_equal(db_exec(db, "INSERT INTO t VALUES(4)"), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(db_depth(db), 0);
	assert_int_equal(query_int(db, "SELECT group_concat(x) = '1,4' FROM t"), 1);
	db_close(db);
}

static void outer_rollback_drops_everything(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	assert_int_equal(db_exec(db, "CREATE TABLE t(x)"), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO t VALUES(1)"), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO t VALUES(2)"), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(db_rollback(db), 0);
	assert_int_equal(db_depth(db), 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 0);
	/* commit or rollback without a transaction is an error */
	assert_int_equal(db_commit(db), -1);
	assert_int_equal(db_rollback(db), -1);
	assert_int_equal(db_depth(db), 0);
	db_close(db);
}

static void close_rolls_back_an_open_transaction(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	assert_int_equal(db_exec(db, "CREATE TABLE t(x)"), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO t VALUES(1)"), 0);
	db_close(db);
	db = open_file("a.db");
	assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 0);
	db_close(db);
}

/* --- migrations --- */
static void migrations_apply_in_order_once(void **state)
{
	(void)state;
	const char *m = make_folder("m");
	/* 002 needs 001's table: applied in number order, not in directory order */
	write_file("m", "002_fill.sql", "INSERT INTO a VALUES('two');");
	write_file("m", "001_make.sql", "CREATE TABLE a(x TEXT);");
	write_file("m", "010_more.sql", "INSERT INTO a VALUES('ten');");
	write_file("m", "README.md", "not a migration");
	db_t *db = open_file("a.db");
	char err[512] = "";
	assert_int_equal(db_version(db), 0);
	assert_int_equal(db_migrate(db, m, 0, err, sizeof err), 3);
	assert_int_equal(db_version(db), 10);
	assert_int_equal(query_int(db, "SELECT group_concat(x) = 'two,ten' FROM a"), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM schema_migrations"), 3);
	/* a second run applies nothing */
	assert_int_equal(db_migrate(db, m, 0, err, sizeof err), 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 2);
	db_close(db);
}

static void migrations_stop_at_upto(void **state)
{
	(void)state;
	const char *m = make_folder("m");
	write_file("m", "001_make.sql", "CREATE TABLE a(x TEXT);");
	write_file("m", "002_fill.sql", "INSERT INTO a VALUES('two');");
	db_t *db = open_file("a.db");
	char err[512] = "";
	assert_int_equal(db_migrate(db, m, 1, err, sizeof err), 1);
	assert_int_equal(db_version(db), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 0);
	assert_int_equal(db_migrate(db, m, 0, err, sizeof err), 1);
	assert_int_equal(db_version(db), 2);
	db_close(db);
}

static void failing_migration_rolls_back_entirely(void **state)
{
	(void)state;
	const char *m = make_folder("m");
	write_file("m", "001_make.sql", "CREATE TABLE a(x TEXT);");
	write_file("m", "002_bad.sql",
	           "CREATE TABLE b(y); INSERT INTO a VALUES('half'); INSERT INTO nosuch VALUES(1);");
	write_file("m", "003_after.sql", "CREATE TABLE c(z);");
	db_t *db = open_file("a.db");
	char err[512] = "";
	assert_int_equal(db_migrate(db, m, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "002_bad.sql"));
	assert_non_null(strstr(err, "nosuch"));
	assert_int_equal(db_depth(db), 0);
	assert_int_equal(db_version(db), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('b','c')"), 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM a"), 0);
	db_close(db);
}

static void migration_breaking_foreign_keys_is_refused(void **state)
{
	(void)state;
	const char *m = make_folder("m");
	write_file("m", "001_make.sql",
	           "CREATE TABLE p(id INTEGER PRIMARY KEY);"
	           "CREATE TABLE c(p INTEGER REFERENCES p(id));");
	write_file("m", "002_orphan.sql", "PRAGMA defer_foreign_keys=ON; INSERT INTO c VALUES(7);");
	db_t *db = open_file("a.db");
	char err[512] = "";
	assert_int_equal(db_migrate(db, m, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "002_orphan.sql"));
	assert_int_equal(db_version(db), 1);
	assert_int_equal(query_int(db, "SELECT count(*) FROM c"), 0);
	db_close(db);
}

static void database_newer_than_the_code_is_refused(void **state)
{
	(void)state;
	const char *m = make_folder("new");
	write_file("new", "001_make.sql", "CREATE TABLE a(x);");
	write_file("new", "002_more.sql", "CREATE TABLE b(x);");
	write_file("new", "003_more.sql", "CREATE TABLE c(x);");
	db_t *db = open_file("a.db");
	char err[512] = "";
	assert_int_equal(db_migrate(db, m, 0, err, sizeof err), 3);
	const char *old = make_folder("old");
	write_file("old", "001_make.sql", "CREATE TABLE a(x);");
	write_file("old", "002_more.sql", "CREATE TABLE b(x);");
	assert_int_equal(db_migrate(db, old, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "schema version 3"));
	assert_non_null(strstr(err, "only up to 2"));
	assert_int_equal(db_version(db), 3);
	db_close(db);
}

static void two_migrations_with_one_number_are_refused(void **state)
{
	(void)state;
	const char *m = make_folder("m");
	write_file("m", "001_make.sql", "CREATE TABLE a(x);");
	write_file("m", "002_one.sql", "CREATE TABLE b(x);");
	write_file("m", "002_two.sql", "CREATE TABLE c(x);");
	db_t *db = open_file("a.db");
	char err[512] = "";
	assert_int_equal(db_migrate(db, m, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "two migrations numbered 002"));
	assert_int_equal(db_version(db), 0); /* refused before anything is applied */
	assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('b','c')"), 0);
	db_close(db);
}

static void missing_migrations_folder_is_an_error(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	char err[512] = "";
	assert_int_equal(db_migrate(db, "/nonexistent/migrations", 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "/nonexistent/migrations"));
	db_close(db);
}

static void the_real_migrations_apply(void **state)
{
	(void)state;
	char err[512] = "";
	db_t *db = db_open(":memory:", err, sizeof err);
	assert_non_null(db);
	int n = db_migrate(db, "lua/migrations", 0, err, sizeof err);
	if (n < 0)
		print_error("%s\n", err);
	assert_true(n >= 1);
	assert_true(db_version(db) >= n);
	assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name='jobs'"), 1);
	assert_int_equal(db_migrate(db, "lua/migrations", 0, err, sizeof err), 0);
	db_close(db);
}

/* --- backup and checkpoint --- */
static void backup_is_a_readable_copy(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	assert_int_equal(db_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES('one'),('two')"), 0);
	char copy[512];
	path_in(copy, sizeof copy, "copy.db");
	assert_int_equal(db_backup(db, copy), 0);
	db_close(db);
	db = open_file("copy.db");
	assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 2);
	assert_string_equal(query_text(db, "PRAGMA integrity_check"), "ok");
	db_close(db);
	/* a place that cannot be written */
	db = open_file("a.db");
	assert_int_equal(db_backup(db, "/nonexistent/copy.db"), -1);
	assert_non_null(strstr(db_errmsg(db), "backup"));
	db_close(db);
}

static void checkpoint_empties_the_wal(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	assert_int_equal(db_exec(db, "CREATE TABLE t(x)"), 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(db_exec(db, "INSERT INTO t VALUES(randomblob(1000))"), 0);
	char wal[512];
	path_in(wal, sizeof wal, "a.db-wal");
	struct stat st;
	assert_int_equal(stat(wal, &st), 0);
	assert_true(st.st_size > 50000);
	assert_int_equal(db_checkpoint(db), 0);
	assert_int_equal(stat(wal, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 50);
	db_close(db);
}

static void query_count_counts_statements(void **state)
{
	(void)state;
	db_t *db = open_file("a.db");
	uint64_t before = db_query_count(db);
	assert_int_equal(db_exec(db, "CREATE TABLE t(x)"), 0);
	db_count_query(db);
	assert_int_equal(db_query_count(db), before + 2);
	db_close(db);
	db_close(NULL);
}

/* A database that may not grow (max_page_count at its size, as on a full disk): the failure is
 * named disk_full, and the transaction it happened in keeps nothing. */
static void a_full_disk_is_named_and_keeps_nothing(void **state)
{
	(void)state;
	db_t *db = open_file("full.db");
	assert_int_equal(db_exec(db, "CREATE TABLE t(x)"), 0);
	char sql[96];
	snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld",
	         (long long)query_int(db, "PRAGMA page_count"));
	assert_int_equal(db_exec(db, sql), 0);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO t VALUES ('small')"), 0); /* fits in a page */
	assert_int_equal(db_exec(db, "INSERT INTO t VALUES (zeroblob(100000))"), -1);
	assert_string_equal(db_last_error_code(db), "disk_full");
	db_rollback(db);
	assert_int_equal(db_depth(db), 0);
	assert_int_equal(query_int(db, "SELECT count(*) FROM t"), 0);
	/* a statement stepped by hand */
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO t VALUES (zeroblob(100000))", -1);
	int rc = sqlite3_step(st);
	assert_int_equal(rc & 0xff, SQLITE_FULL);
	assert_string_equal(db_error_code(db, rc), "disk_full");
	sqlite3_reset(st);
	/* other failures keep their names */
	assert_string_equal(db_error_code(db, SQLITE_CONSTRAINT_UNIQUE), "constraint");
	assert_string_equal(db_error_code(db, SQLITE_BUSY), "busy");
	assert_string_equal(db_error_code(db, SQLITE_ERROR), "db_error");
	assert_int_equal(db_commit(db), -1);
	assert_string_equal(db_last_error_code(db), "db_error"); /* not SQLite's: no transaction */
	db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(file_database_has_the_safe_settings, setup, teardown),
	    cmocka_unit_test_setup_teardown(foreign_keys_are_enforced, setup, teardown),
	    cmocka_unit_test_setup_teardown(defensive_mode_refuses_schema_writes, setup, teardown),
	    cmocka_unit_test_setup_teardown(extensions_cannot_be_loaded, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_path_fails_with_a_message, setup, teardown),
	    cmocka_unit_test_setup_teardown(same_sql_gives_the_same_statement, setup, teardown),
	    cmocka_unit_test_setup_teardown(many_distinct_statements_keep_working, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_statement_used_often_stays_prepared, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_generation_moves_with_every_write_to_its_tables, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(a_generation_moves_when_another_connection_commits, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(a_snapshot_is_shared_only_inside_its_scope, setup, teardown),
	    cmocka_unit_test_setup_teardown(checkpoints_run_by_a_connection_of_their_own, setup, teardown),
	    cmocka_unit_test_setup_teardown(an_unsynced_commit_waits_for_the_disk_only_when_synced, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(two_statements_in_one_text_are_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(inner_rollback_keeps_the_outer_work, setup, teardown),
	    cmocka_unit_test_setup_teardown(outer_rollback_drops_everything, setup, teardown),
	    cmocka_unit_test_setup_teardown(close_rolls_back_an_open_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(migrations_apply_in_order_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(migrations_stop_at_upto, setup, teardown),
	    cmocka_unit_test_setup_teardown(failing_migration_rolls_back_entirely, setup, teardown),
	    cmocka_unit_test_setup_teardown(migration_breaking_foreign_keys_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(database_newer_than_the_code_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(two_migrations_with_one_number_are_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(missing_migrations_folder_is_an_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(the_real_migrations_apply, setup, teardown),
	    cmocka_unit_test_setup_teardown(backup_is_a_readable_copy, setup, teardown),
	    cmocka_unit_test_setup_teardown(checkpoint_empties_the_wal, setup, teardown),
	    cmocka_unit_test_setup_teardown(query_count_counts_statements, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_full_disk_is_named_and_keeps_nothing, setup, teardown),
	};
	return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
