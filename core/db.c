/* SQLite with safe settings, a statement cache, savepoints and migrations. */
#include "db.h"

#include "fold.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The statement cache is an open-addressing hash table of SQL text -> statement. When it
 * fills up (dynamic SQL gone wild), everything is finalized and it starts again. */
#define CACHE_SLOTS 1024
#define CACHE_MAX 700

/** One cache slot. */
struct slot {
	char *sql;            /* owned copy of the SQL text, NULL when empty */
	int len;              /* its length */
	uint32_t hash;        /* hash of the text */
	sqlite3_stmt *stmt;   /* the prepared statement */
};

/** An open database. */
struct db {
	sqlite3 *conn;        /* the connection */
	struct slot *slots;   /* statement cache */
	int cached;           /* statements in the cache */
	int depth;            /* transaction nesting depth */
	uint64_t queries;     /* statements executed, for tests and benchmarks */
	char errbuf[512];     /* error text not coming from SQLite */
	int errcode;          /* SQLite result code of the last db_exec failure (0: not SQLite's) */
};

static uint32_t hash_text(const char *s, int len)
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static void cache_clear(db_t *db)
{
	for (int i = 0; i < CACHE_SLOTS; i++) {
		if (db->slots[i].sql) {
			sqlite3_finalize(db->slots[i].stmt);
			free(db->slots[i].sql);
			db->slots[i].sql = NULL;
		}
	}
	db->cached = 0;
}

/** The FOLD collation: names ordered without regard to case or accents (fold.h). */
static int fold_collate(void *ud, int an, const void *a, int bn, const void *b)
{
	(void)ud;
	return fold_compare(a, (size_t)an, b, (size_t)bn);
}

/** SQL fold(text): the key FOLD orders by, for matching ("lukasz" finds "Łukasz"). */
static void fold_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
		sqlite3_result_null(ctx);
		return;
	}
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	size_t n = (size_t)sqlite3_value_bytes(argv[0]);
	char small[256];
	size_t need = fold_text(s, n, small, sizeof small);
	if (need < sizeof small) {
		sqlite3_result_text(ctx, small, (int)need, SQLITE_TRANSIENT);
		return;
	}
	char *big = sqlite3_malloc64(need + 1);
	if (!big) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	fold_text(s, n, big, need + 1);
	sqlite3_result_text(ctx, big, (int)need, sqlite3_free);
}

db_t *db_open(const char *path, char *err, size_t errlen)
{
	db_t *db = calloc(1, sizeof *db);
	if (!db) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	db->slots = calloc(CACHE_SLOTS, sizeof *db->slots);
	if (!db->slots)
		goto fail_mem;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &db->conn, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open database %s: %s", path,
			 db->conn ? sqlite3_errmsg(db->conn) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(db->conn, 1);
	sqlite3_db_config(db->conn, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db->conn, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_db_config(db->conn, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db->conn, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
	sqlite3_db_config(db->conn, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
	sqlite3_busy_timeout(db->conn, 5000);
	sqlite3_create_collation_v2(db->conn, "FOLD", SQLITE_UTF8, NULL, fold_collate, NULL);
	sqlite3_create_function_v2(db->conn, "fold", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
				   fold_sql, NULL, NULL, NULL);
	const char *setup = "PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF; "
			    "PRAGMA synchronous=FULL; PRAGMA journal_mode=WAL;";
	char *msg = NULL;
	if (sqlite3_exec(db->conn, setup, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "cannot set up database %s: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		goto fail;
	}
	return db;
fail_mem:
	snprintf(err, errlen, "out of memory");
fail:
	if (db->conn)
		sqlite3_close_v2(db->conn);
	free(db->slots);
	free(db);
	return NULL;
}

void db_close(db_t *db)
{
	if (!db)
		return;
	if (db->depth > 0)
		sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
	cache_clear(db);
	free(db->slots);
	sqlite3_close_v2(db->conn);
	free(db);
}

sqlite3 *db_sqlite(db_t *db) { return db->conn; }

const char *db_errmsg(db_t *db)
{
	if (db->errbuf[0])
		return db->errbuf;
	return sqlite3_errmsg(db->conn);
}

sqlite3_stmt *db_prepare(db_t *db, const char *sql, int len)
{
	if (len < 0)
		len = (int)strlen(sql);
	db->errbuf[0] = 0;
	uint32_t h = hash_text(sql, len);
	int i = (int)(h % CACHE_SLOTS);
	for (;;) {
		struct slot *s = &db->slots[i];
		if (!s->sql)
			break;
		if (s->hash == h && s->len == len && memcmp(s->sql, sql, (size_t)len) == 0) {
			sqlite3_reset(s->stmt);
			sqlite3_clear_bindings(s->stmt);
			return s->stmt;
		}
		i = (i + 1) % CACHE_SLOTS;
	}
	sqlite3_stmt *stmt = NULL;
	const char *tail = NULL;
	if (sqlite3_prepare_v3(db->conn, sql, len, SQLITE_PREPARE_PERSISTENT, &stmt, &tail) != SQLITE_OK)
		return NULL;
	if (!stmt) {
		snprintf(db->errbuf, sizeof db->errbuf, "empty statement");
		return NULL;
	}
	if (tail && tail < sql + len) {
		for (const char *p = tail; p < sql + len; p++) {
			if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r' && *p != ';') {
				sqlite3_finalize(stmt);
				snprintf(db->errbuf, sizeof db->errbuf,
					 "one statement at a time (found more after the first)");
				return NULL;
			}
		}
	}
	if (db->cached >= CACHE_MAX) {
		cache_clear(db);
		i = (int)(h % CACHE_SLOTS);
	}
	while (db->slots[i].sql)
		i = (i + 1) % CACHE_SLOTS;
	char *copy = malloc((size_t)len + 1);
	if (!copy) {
		sqlite3_finalize(stmt);
		snprintf(db->errbuf, sizeof db->errbuf, "out of memory");
		return NULL;
	}
	memcpy(copy, sql, (size_t)len);
	copy[len] = 0;
	db->slots[i] = (struct slot){copy, len, h, stmt};
	db->cached++;
	return stmt;
}

const char *db_error_code(db_t *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT: return "constraint";
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return "busy";
	case SQLITE_FULL: return "disk_full";
	case SQLITE_READONLY: return "readonly";
	case SQLITE_IOERR: {
		/* SQLite answers SQLITE_FULL for a write that finds the disk full, but an I/O error
		 * for other calls that do (fsync, growing a file) */
		int e = sqlite3_system_errno(db->conn);
		return e == ENOSPC || e == EDQUOT ? "disk_full" : "db_error";
	}
	default: return "db_error";
	}
}

const char *db_last_error_code(db_t *db) { return db->errcode ? db_error_code(db, db->errcode) : "db_error"; }

int db_exec(db_t *db, const char *sql)
{
	char *msg = NULL;
	db->errbuf[0] = 0;
	db->errcode = 0;
	int rc = sqlite3_exec(db->conn, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		db->errcode = rc;
		snprintf(db->errbuf, sizeof db->errbuf, "%s", msg ? msg : sqlite3_errmsg(db->conn));
		sqlite3_free(msg);
		return -1;
	}
	db->queries++;
	return 0;
}

uint64_t db_query_count(db_t *db) { return db->queries; }

void db_count_query(db_t *db) { db->queries++; }

int db_cache_size(db_t *db) { return db->cached; }

int db_begin(db_t *db)
{
	char sql[64];
	if (db->depth == 0)
		snprintf(sql, sizeof sql, "BEGIN IMMEDIATE");
	else
		snprintf(sql, sizeof sql, "SAVEPOINT sp%d", db->depth);
	if (db_exec(db, sql) != 0)
		return -1;
	db->depth++;
	return 0;
}

int db_commit(db_t *db)
{
	char sql[64];
	if (db->depth <= 0) {
		snprintf(db->errbuf, sizeof db->errbuf, "commit without a transaction");
		db->errcode = 0;
		return -1;
	}
	if (db->depth == 1)
		snprintf(sql, sizeof sql, "COMMIT");
	else
		snprintf(sql, sizeof sql, "RELEASE sp%d", db->depth - 1);
	if (db_exec(db, sql) != 0) {
		char keep[512];
		int keep_code = db->errcode;
		snprintf(keep, sizeof keep, "%s", db_errmsg(db));
		db_rollback(db);
		snprintf(db->errbuf, sizeof db->errbuf, "%s", keep);
		db->errcode = keep_code;
		return -1;
	}
	db->depth--;
	return 0;
}

int db_rollback(db_t *db)
{
	char sql[96];
	if (db->depth <= 0) {
		snprintf(db->errbuf, sizeof db->errbuf, "rollback without a transaction");
		db->errcode = 0;
		return -1;
	}
	if (db->depth == 1)
		snprintf(sql, sizeof sql, "ROLLBACK");
	else
		snprintf(sql, sizeof sql, "ROLLBACK TO sp%d; RELEASE sp%d", db->depth - 1, db->depth - 1);
	db->depth--;
	if (db_exec(db, sql) != 0) {
		/* SQLite may already have rolled back (e.g. after SQLITE_FULL); make sure. */
		if (db->depth == 0 && !sqlite3_get_autocommit(db->conn))
			sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int db_depth(db_t *db) { return db->depth; }

static int migration_number(const char *name)
{
	/* NNN_name.sql: three digits, an underscore, ends in .sql */
	size_t n = strlen(name);
	if (n < 9 || name[3] != '_' || strcmp(name + n - 4, ".sql") != 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (name[i] < '0' || name[i] > '9')
			return -1;
	return (name[0] - '0') * 100 + (name[1] - '0') * 10 + (name[2] - '0');
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	if (fseek(f, 0, SEEK_END) != 0)
		goto done;
	long n = ftell(f);
	if (n < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto done;
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = 0;
done:
	fclose(f);
	return buf;
}

int db_version(db_t *db)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT coalesce(max(version),0) FROM schema_migrations", -1);
	if (!st)
		return 0; /* no table yet */
	int v = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return v;
}

int db_migrate(db_t *db, const char *dir, int upto, char *err, size_t errlen)
{
	struct dirent **list = NULL;
	int applied = -1, known = 0;
	if (db_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations("
			"version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)") != 0) {
		snprintf(err, errlen, "cannot create schema_migrations: %s", db_errmsg(db));
		return -1;
	}
	int n = scandir(dir, &list, NULL, by_name);
	if (n < 0) {
		snprintf(err, errlen, "cannot read migrations folder %s: %s", dir, strerror(errno));
		return -1;
	}
	int current = db_version(db);
	for (int i = 0, prev = -1; i < n; i++) {
		int v = migration_number(list[i]->d_name);
		if (v < 0)
			continue;
		if (v == prev) { /* sorted by name: same numbers are neighbours */
			snprintf(err, errlen, "two migrations numbered %03d", v);
			goto done;
		}
		prev = v;
		if (v > known)
			known = v;
	}
	if (current > known && (upto == 0 || upto >= known)) {
		snprintf(err, errlen,
			 "the database is at schema version %d but this Candor knows only up to %d: "
			 "use the newer Candor that wrote it",
			 current, known);
		goto done;
	}
	applied = 0;
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		int v = migration_number(name);
		if (v < 0)
			continue;
		if (v <= current || (upto > 0 && v > upto))
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, name);
		char *sql = read_file(path);
		if (!sql) {
			snprintf(err, errlen, "cannot read %s", path);
			applied = -1;
			goto done;
		}
		int ok = db_begin(db) == 0 && db_exec(db, sql) == 0;
		free(sql);
		if (ok) {
			sqlite3_stmt *st = db_prepare(db,
				"INSERT INTO schema_migrations(version,name,applied_at) "
				"VALUES(?,?,strftime('%Y-%m-%dT%H:%M:%SZ','now'))", -1);
			ok = st && sqlite3_bind_int(st, 1, v) == SQLITE_OK &&
			     sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
			     sqlite3_step(st) == SQLITE_DONE;
			if (st)
				sqlite3_reset(st);
		}
		if (ok) {
			/* a migration must leave foreign keys consistent */
			sqlite3_stmt *fk = db_prepare(db, "PRAGMA foreign_key_check", -1);
			if (fk && sqlite3_step(fk) == SQLITE_ROW) {
				snprintf(db->errbuf, sizeof db->errbuf, "foreign key check failed in table %s",
					 (const char *)sqlite3_column_text(fk, 0));
				ok = 0;
			}
			if (fk)
				sqlite3_reset(fk);
		}
		if (!ok || db_commit(db) != 0) {
			snprintf(err, errlen, "migration %s failed: %s", name, db_errmsg(db));
			if (db->depth > 0)
				db_rollback(db);
			applied = -1;
			goto done;
		}
		log_info("applied migration %s", name);
		applied++;
	}
done:
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return applied;
}

int db_checkpoint(db_t *db)
{
	int rc = sqlite3_wal_checkpoint_v2(db->conn, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	return rc == SQLITE_OK ? 0 : -1;
}

int db_backup(db_t *db, const char *path)
{
	sqlite3 *dst = NULL;
	int rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", db->conn, "main");
	if (!b) {
		rc = SQLITE_ERROR;
		goto fail;
	}
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_close(dst);
	return 0;
fail:
	snprintf(db->errbuf, sizeof db->errbuf, "backup to %s failed: %s", path,
		 dst ? sqlite3_errmsg(dst) : "cannot open");
	if (dst)
		sqlite3_close(dst);
	return -1;
}
