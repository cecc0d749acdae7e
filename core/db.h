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

/** Checkpoints and truncates the WAL. 0 or -1. */
int db_checkpoint(db_t *db);
/** Writes a consistent copy of the database to path. 0 or -1. */
int db_backup(db_t *db, const char *path);

#endif
