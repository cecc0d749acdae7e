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
 * holds CACHE_MAX statements (dynamic SQL), the one used least recently is finalized to make
 * room: the statements every request runs stay prepared. */
#define CACHE_SLOTS 1024
#define CACHE_MAX 700

/** One cache slot. */
struct slot {
	char *sql;          /* owned copy of the SQL text, NULL when empty */
	int len;            /* its length */
	uint32_t hash;      /* hash of the text */
	sqlite3_stmt *stmt; /* the prepared statement */
	uint64_t used;      /* the cache's clock when it was last asked for */
	uint64_t writes;    /* the watched tables it writes (bits, see db_watch) */
};

/** An open database. */
struct db {
	sqlite3 *conn;      /* the connection */
	struct slot *slots; /* statement cache */
	int cached;         /* statements in the cache */
	uint64_t clock;     /* counts db_prepare calls: the cache's notion of time */
	int depth;          /* transaction nesting depth */
	uint64_t queries;   /* statements executed, for tests and benchmarks */
	char errbuf[512];   /* error text not coming from SQLite */
	int errcode;        /* SQLite result code of the last db_exec failure (0: not SQLite's) */
	sqlite3_stmt *pin;  /* a read left open between statements: one snapshot for them */
	int pinned;         /* pin holds a read transaction now */
	int pin_ok;         /* a snapshot may be kept now (db_pin_scope): only while a task's slice runs */
	uint64_t pins;      /* read snapshots taken (to check foreign changes once per snapshot) */
	char *watched[DB_WATCH_MAX]; /* names of the watched tables, by bit */
	int nwatched;
	uint64_t gen[DB_WATCH_MAX]; /* changes seen per watched table */
	uint64_t epoch;             /* added to every generation: no two opened databases share one */
	uint64_t prep_writes;       /* watched tables written by the statement being prepared */
	sqlite3_stmt *dv;           /* PRAGMA data_version: commits of other connections */
	int64_t dv_seen;            /* its last value (-1: not read yet) */
	uint64_t dv_pin;            /* the snapshot it was last read in */
	int wal_frames;       /* frames in the WAL after the last commit (when checkpoints are offloaded) */
	int unsynced;         /* the open transaction commits without waiting for the disk */
	int unsynced_commits; /* commits since the last db_sync that did not wait for the disk */
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

/* Finalizes the statement in slot i and closes the hole (backward-shift deletion: a later
 * entry of the same probe run moves up, so every entry stays reachable from its home slot). */
static void slot_remove(db_t *db, int i)
{
	struct slot *s = db->slots;
	sqlite3_finalize(s[i].stmt);
	free(s[i].sql);
	s[i] = (struct slot){0};
	db->cached--;
	for (int j = (i + 1) % CACHE_SLOTS; s[j].sql; j = (j + 1) % CACHE_SLOTS) {
		int home = (int)(s[j].hash % CACHE_SLOTS);
		int from_home = (j - home + CACHE_SLOTS) % CACHE_SLOTS;
		int from_hole = (j - i + CACHE_SLOTS) % CACHE_SLOTS;
		if (from_home >= from_hole) {
			s[i] = s[j];
			s[j] = (struct slot){0};
			i = j;
		}
	}
}

/* Finalizes the statement used least recently. */
static void evict_one(db_t *db)
{
	int oldest = -1;
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (db->slots[i].sql && (oldest < 0 || db->slots[i].used < db->slots[oldest].used))
			oldest = i;
	if (oldest >= 0)
		slot_remove(db, oldest);
}

/* --- watched tables: a generation per table that moves whenever it may have changed --- */
static void bump(db_t *db, uint64_t bits)
{
	for (int i = 0; bits && i < db->nwatched; i++, bits >>= 1)
		if (bits & 1)
			db->gen[i]++;
}

static uint64_t all_watched(db_t *db)
{
	return db->nwatched >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << db->nwatched) - 1);
}

static uint64_t watched_bit(db_t *db, const char *table)
{
	for (int i = 0; table && i < db->nwatched; i++)
		if (sqlite3_stricmp(db->watched[i], table) == 0)
			return (uint64_t)1 << i;
	return 0;
}

/* The authorizer sees every statement as it is prepared (triggers and foreign key actions
 * included): a write to a watched table moves its generation now (an exec runs at once) and
 * is remembered with the cached statement (every later run moves it again); a schema change
 * moves them all. It allows everything. */
static int authorize(void *ud, int action, const char *a, const char *b, const char *dbname,
                     const char *trigger)
{
	(void)b;
	(void)dbname;
	(void)trigger;
	db_t *db = ud;
	uint64_t bits = 0;
	switch (action) {
	case SQLITE_INSERT:
	case SQLITE_UPDATE:
	case SQLITE_DELETE:
		bits = watched_bit(db, a);
		break;
	case SQLITE_ALTER_TABLE:
	case SQLITE_DROP_TABLE:
	case SQLITE_DROP_TEMP_TABLE:
	case SQLITE_CREATE_TRIGGER:
	case SQLITE_DROP_TRIGGER:
		bits = all_watched(db);
		break;
	default:
		return SQLITE_OK;
	}
	db->prep_writes |= bits;
	bump(db, bits);
	return SQLITE_OK;
}

/* Any rollback, SQLite's own included (a failed COMMIT): what was read since may be gone. */
static void on_rollback(void *ud)
{
	db_t *db = ud;
	bump(db, all_watched(db));
}

int db_watch(db_t *db, const char *table)
{
	for (int i = 0; i < db->nwatched; i++)
		if (sqlite3_stricmp(db->watched[i], table) == 0)
			return i;
	if (db->nwatched >= DB_WATCH_MAX)
		return -1;
	char *copy = strdup(table);
	if (!copy)
		return -1;
	db->watched[db->nwatched] = copy;
	/* statements cached before did not record writes to it: forget them */
	cache_clear(db);
	return db->nwatched++;
}

/* Commits of other connections (another process on the same file) since the last look: read
 * once per snapshot; when there were some, every generation moves. */
static void check_foreign(db_t *db)
{
	if (db->pinned && db->dv_pin == db->pins)
		return;
	if (!db->dv && sqlite3_prepare_v3(db->conn, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT,
	                                  &db->dv, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(db->dv) == SQLITE_ROW) {
		int64_t v = sqlite3_column_int64(db->dv, 0);
		if (db->dv_seen >= 0 && v != db->dv_seen)
			bump(db, all_watched(db));
		db->dv_seen = v;
	}
	sqlite3_reset(db->dv);
	db->dv_pin = db->pins;
}

uint64_t db_generation(db_t *db, uint64_t bits)
{
	db_pin(db);
	check_foreign(db);
	uint64_t sum = db->epoch;
	for (int i = 0; bits && i < db->nwatched; i++, bits >>= 1)
		if (bits & 1)
			sum += db->gen[i];
	return sum;
}

/* --- the read snapshot kept between statements --- */
void db_pin(db_t *db)
{
	if (db->pinned || !db->pin_ok || db->depth > 0 || !sqlite3_get_autocommit(db->conn))
		return;
	if (!db->pin && sqlite3_prepare_v3(db->conn, "SELECT 1 FROM sqlite_schema", -1,
	                                   SQLITE_PREPARE_PERSISTENT, &db->pin, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(db->pin) == SQLITE_ROW) {
		db->pinned = 1;
		db->pins++;
	} else {
		sqlite3_reset(db->pin);
	}
}

void db_pin_scope(db_t *db, int on)
{
	if (!db)
		return;
	db_end_read(db);
	db->pin_ok = on;
}

void db_end_read(db_t *db)
{
	if (db && db->pinned) {
		sqlite3_reset(db->pin);
		db->pinned = 0;
	}
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
	db->dv_seen = -1;
	static uint64_t opened; /* the loop's thread opens databases */
	db->epoch = ++opened << 40;
	sqlite3_set_authorizer(db->conn, authorize, db);
	sqlite3_rollback_hook(db->conn, on_rollback, db);
	sqlite3_create_collation_v2(db->conn, "FOLD", SQLITE_UTF8, NULL, fold_collate, NULL);
	sqlite3_create_function_v2(db->conn, "fold", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
	                           NULL, fold_sql, NULL, NULL, NULL);
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
	db_end_read(db);
	if (db->depth > 0)
		sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
	cache_clear(db);
	sqlite3_finalize(db->pin);
	sqlite3_finalize(db->dv);
	for (int i = 0; i < db->nwatched; i++)
		free(db->watched[i]);
	free(db->slots);
	sqlite3_close_v2(db->conn);
	free(db);
}

sqlite3 *db_sqlite(db_t *db)
{
	return db->conn;
}

const char *db_errmsg(db_t *db)
{
	if (db->errbuf[0])
		return db->errbuf;
	return sqlite3_errmsg(db->conn);
}

/* A statement is about to run: reads share the snapshot kept open since the last write (no lock
 * calls of their own); a write ends it first (its transaction starts from the newest data) and
 * moves the generations of the watched tables it writes. */
static sqlite3_stmt *about_to_run(db_t *db, struct slot *s)
{
	s->used = ++db->clock;
	if (sqlite3_stmt_readonly(s->stmt)) {
		db_pin(db);
	} else {
		db_end_read(db);
		if (s->writes)
			bump(db, s->writes);
	}
	return s->stmt;
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
			return about_to_run(db, s);
		}
		i = (i + 1) % CACHE_SLOTS;
	}
	sqlite3_stmt *stmt = NULL;
	const char *tail = NULL;
	db->prep_writes = 0;
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
	uint64_t writes = db->prep_writes;
	if (db->cached >= CACHE_MAX)
		evict_one(db);
	i = (int)(h % CACHE_SLOTS);
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
	db->slots[i] = (struct slot){copy, len, h, stmt, 0, writes};
	db->cached++;
	return about_to_run(db, &db->slots[i]);
}

const char *db_error_code(db_t *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		return "constraint";
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return "busy";
	case SQLITE_FULL:
		return "disk_full";
	case SQLITE_READONLY:
		return "readonly";
	case SQLITE_IOERR: {
		/* SQLite answers SQLITE_FULL for a write that finds the disk full, but an I/O error
		 * for other calls that do (fsync, growing a file) */
		int e = sqlite3_system_errno(db->conn);
		return e == ENOSPC || e == EDQUOT ? "disk_full" : "db_error";
	}
	default:
		return "db_error";
	}
}

const char *db_last_error_code(db_t *db)
{
	return db->errcode ? db_error_code(db, db->errcode) : "db_error";
}

int db_exec(db_t *db, const char *sql)
{
	char *msg = NULL;
	db->errbuf[0] = 0;
	db->errcode = 0;
	db_end_read(db);
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

uint64_t db_query_count(db_t *db)
{
	return db->queries;
}

void db_count_query(db_t *db)
{
	db->queries++;
}

int db_cache_size(db_t *db)
{
	return db->cached;
}

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

/* After the end of a top-level transaction begun by db_begin_unsynced: commits wait again. */
static void end_unsynced(db_t *db, int committed)
{
	if (db->depth != 0 || !db->unsynced)
		return;
	db->unsynced = 0;
	db->unsynced_commits += committed;
	sqlite3_exec(db->conn, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
}

int db_begin_unsynced(db_t *db)
{
	if (db->depth > 0)
		return db_begin(db);
	/* SQLite refuses to change the level inside a transaction: set it before */
	if (db_exec(db, "PRAGMA synchronous=NORMAL") != 0)
		return -1;
	db->unsynced = 1;
	if (db_begin(db) != 0) {
		end_unsynced(db, 0);
		return -1;
	}
	return 0;
}

int db_sync(db_t *db)
{
	if (db->unsynced_commits == 0)
		return 0;
	sqlite3_file *wal = NULL;
	if (sqlite3_file_control(db->conn, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK || !wal ||
	    !wal->pMethods) {
		db->unsynced_commits = 0; /* no WAL file: an in-memory database */
		return 0;
	}
	int rc = wal->pMethods->xSync(wal, SQLITE_SYNC_FULL);
	if (rc != SQLITE_OK) {
		snprintf(db->errbuf, sizeof db->errbuf, "cannot sync the database's log: %s",
		         sqlite3_errstr(rc));
		db->errcode = rc;
		return -1;
	}
	db->unsynced_commits = 0;
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
	end_unsynced(db, 1);
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
	bump(db, all_watched(db)); /* a savepoint's rollback does not call the rollback hook */
	int rc = db_exec(db, sql);
	/* SQLite may already have rolled back (e.g. after SQLITE_FULL); make sure. */
	if (rc != 0 && db->depth == 0 && !sqlite3_get_autocommit(db->conn))
		sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
	end_unsynced(db, 0);
	return rc != 0 ? -1 : 0;
}

int db_depth(db_t *db)
{
	return db->depth;
}

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
			sqlite3_stmt *st =
			    db_prepare(db,
			               "INSERT INTO schema_migrations(version,name,applied_at) "
			               "VALUES(?,?,strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
			               -1);
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
				snprintf(db->errbuf, sizeof db->errbuf,
				         "foreign key check failed in table %s",
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
	db_end_read(db);
	int rc = sqlite3_wal_checkpoint_v2(db->conn, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	return rc == SQLITE_OK ? 0 : -1;
}

/* --- checkpoints off the loop --- */
static int wal_hook(void *ud, sqlite3 *conn, const char *name, int frames)
{
	(void)conn;
	(void)name;
	((db_t *)ud)->wal_frames = frames;
	return SQLITE_OK;
}

void db_manual_checkpoints(db_t *db)
{
	sqlite3_wal_hook(db->conn, wal_hook, db); /* replaces SQLite's automatic checkpoint */
}

int db_wal_frames(db_t *db)
{
	return db->wal_frames;
}

const char *db_path(db_t *db)
{
	const char *p = sqlite3_db_filename(db->conn, "main");
	return p && p[0] ? p : NULL;
}

/** A connection of its own that checkpoints the WAL, from a thread other than the loop's. */
struct db_ckpt {
	sqlite3 *conn;
};

db_ckpt_t *db_ckpt_open(const char *path, char *err, size_t errlen)
{
	db_ckpt_t *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &c->conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s to checkpoint it: %s", path,
		         c->conn ? sqlite3_errmsg(c->conn) : "out of memory");
		sqlite3_close_v2(c->conn);
		free(c);
		return NULL;
	}
	sqlite3_extended_result_codes(c->conn, 1);
	sqlite3_exec(c->conn, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	return c;
}

int db_ckpt_run(db_ckpt_t *c, int *frames, int *done)
{
	*frames = *done = 0;
	return sqlite3_wal_checkpoint_v2(c->conn, NULL, SQLITE_CHECKPOINT_PASSIVE, frames, done) == SQLITE_OK
	           ? 0
	           : -1;
}

const char *db_ckpt_errmsg(db_ckpt_t *c)
{
	return sqlite3_errmsg(c->conn);
}

void db_ckpt_close(db_ckpt_t *c)
{
	if (!c)
		return;
	sqlite3_close_v2(c->conn);
	free(c);
}

int db_backup(db_t *db, const char *path)
{
	sqlite3 *dst = NULL;
	db_end_read(db);
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
