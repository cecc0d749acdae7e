/** Storage: one SQLite connection with safe settings, a statement cache keyed by SQL
 * text, nested transactions (savepoints) and numbered migrations. Plain C, no Lua. */
#ifndef CANDOR_DB_H
#define CANDOR_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/** An open database. */
typedef struct db db_t;

/** Opens (creating if needed) the database at path (":memory:" for a private in-memory
 * database) with WAL, synchronous=FULL, foreign keys, defensive mode, trusted_schema=OFF
 * and extension loading off. Returns NULL and writes a message to err on failure. */
db_t *db_open(const char *path, char *err, size_t errlen);
/** Finalizes cached statements and closes; rolls back an open transaction. NULL is fine. */
void db_close(db_t *db);
/** The underlying connection, for the bindings. */
sqlite3 *db_sqlite(db_t *db);
/** The last error message on this connection. */
const char *db_errmsg(db_t *db);
/** The name of a failure with SQLite result code rc on this connection: "constraint", "busy",
 * "disk_full" (SQLITE_FULL, or an I/O error from ENOSPC or EDQUOT), "readonly" or "db_error". */
const char *db_error_code(db_t *db, int rc);
/** The name (as db_error_code) of the last failure of db_exec, db_begin, db_commit or
 * db_rollback; "db_error" for a failure that did not come from SQLite. */
const char *db_last_error_code(db_t *db);

/** Returns a cached, reset statement for sql (len bytes, or -1 for NUL-terminated), bindings
 * cleared. The statement stays owned by the cache. NULL on a prepare error. */
sqlite3_stmt *db_prepare(db_t *db, const char *sql, int len);
/** Runs one or more statements without parameters. 0 or -1. */
int db_exec(db_t *db, const char *sql);
/** Number of statements stepped to completion or first row since open (for query counting). */
uint64_t db_query_count(db_t *db);
/** Counts one executed statement (the bindings call it). */
void db_count_query(db_t *db);
/** Number of statements held in the cache. */
int db_cache_size(db_t *db);

/** Starts a transaction, or a savepoint when one is open. 0 or -1. */
int db_begin(db_t *db);
/** Starts a transaction whose commit does not wait for the disk (synchronous=NORMAL for it
 * alone): it survives a crash only once a later commit or db_sync has synced the WAL, and since
 * the WAL keeps commits in order, a crash loses a tail of such commits, never one in the middle.
 * A savepoint when one is open (it then lasts as the outer transaction does). 0 or -1. */
int db_begin_unsynced(db_t *db);
/** Waits until every commit so far is on the disk (an fsync of the WAL when an unsynced commit
 * happened since the last sync; nothing otherwise). 0 or -1. */
int db_sync(db_t *db);
/** Commits the innermost transaction or releases the savepoint. On a failed COMMIT the
 * transaction is rolled back and -1 returned. */
int db_commit(db_t *db);
/** Rolls back the innermost transaction or savepoint. 0 or -1. */
int db_rollback(db_t *db);
/** Current nesting depth (0 outside a transaction). */
int db_depth(db_t *db);

/** Applies the numbered migrations NNN_name.sql found in dir whose number is above the
 * database's, up to and including upto (0 for all), each in its own transaction.
 * Returns the number applied or -1 (err says why, e.g. a database newer than the code). */
int db_migrate(db_t *db, const char *dir, int upto, char *err, size_t errlen);
/** The highest applied migration number (0 for a new database). */
int db_version(db_t *db);

/** How many tables db_watch can watch. */
#define DB_WATCH_MAX 64
/** Watches table: from now on its generation (db_generation) moves whenever a statement that
 * writes it runs (triggers and foreign key actions included), on every rollback, and when
 * another connection committed. Returns its bit number (the same for the same name), or -1
 * when DB_WATCH_MAX tables are watched. Clears the statement cache. */
int db_watch(db_t *db, const char *table);
/** A number that changes whenever one of the watched tables in bits (1 << db_watch(...)) may
 * have changed: what was read from them while it had a value is still true while it has it. */
uint64_t db_generation(db_t *db, uint64_t bits);

/** Keeps a read transaction open from now until the next write, db_exec or db_end_read, so
 * that the statements in between share one snapshot without locking calls of their own (the
 * host ends it when a task yields or finishes). Nothing outside a transaction's nesting. */
void db_pin(db_t *db);
/** Opens (on=1) or closes (on=0) the stretch in which db_pin may keep a snapshot: the host
 * opens it for a task's slice and closes it when the slice yields or finishes, so that no
 * snapshot outlives code that runs to the end without giving way (tests, the command line read
 * what other processes commit at once). Either way the current snapshot ends. NULL is fine. */
void db_pin_scope(db_t *db, int on);
/** Ends the read snapshot db_pin kept (no-op when none; NULL is fine). */
void db_end_read(db_t *db);

/** Checkpoints become the caller's: SQLite's automatic checkpoint at commit is turned off and
 * the size of the WAL after each commit is kept for db_wal_frames. */
void db_manual_checkpoints(db_t *db);
/** Frames in the WAL after the last commit (db_manual_checkpoints). */
int db_wal_frames(db_t *db);
/** The database file's path, or NULL for an in-memory database. */
const char *db_path(db_t *db);

/** A second connection that checkpoints the WAL of the database at path from another thread
 * (one thread at a time), so that the loop never waits for it. */
typedef struct db_ckpt db_ckpt_t;
/** Opens it; NULL and a message in err on failure. */
db_ckpt_t *db_ckpt_open(const char *path, char *err, size_t errlen);
/** A passive checkpoint: copies what no reader still needs, waiting for nobody; frames and done
 * get the WAL's size and how much of it is in the database now. 0 or -1. */
int db_ckpt_run(db_ckpt_t *c, int *frames, int *done);
/** Its last error message. */
const char *db_ckpt_errmsg(db_ckpt_t *c);
/** Closes it (NULL is fine). */
void db_ckpt_close(db_ckpt_t *c);

/** Checkpoints and truncates the WAL. 0 or -1. */
int db_checkpoint(db_t *db);
/** Writes a consistent copy of the database to path. 0 or -1. */
int db_backup(db_t *db, const char *path);

#endif
