/* core.db: the database from Lua. Query functions raise on misuse (bad SQL, bad argument
 * types) and return nil, err on operational failures (constraint, busy). */
#include "fold.h"
#include "host.h"

#include "log.h"

#include <lauxlib.h>
#include <string.h>

#define BLOB_MT "core.db.blob"

static db_t *need_db(lua_State *L)
{
	if (!H->db)
		luaL_error(L, "no database is open");
	return H->db;
}

static void bind_args(lua_State *L, db_t *db, sqlite3_stmt *st, int first)
{
	int top = lua_gettop(L);
	int want = sqlite3_bind_parameter_count(st);
	if (top - first + 1 != want)
		luaL_error(L, "the statement takes %d parameter(s) but got %d", want, top - first + 1);
	for (int i = first; i <= top; i++) {
		int idx = i - first + 1, rc = SQLITE_OK;
		switch (lua_type(L, i)) {
		case LUA_TNIL:
			rc = sqlite3_bind_null(st, idx);
			break;
		case LUA_TBOOLEAN:
			rc = sqlite3_bind_int(st, idx, lua_toboolean(L, i));
			break;
		case LUA_TNUMBER:
			if (lua_isinteger(L, i))
				rc = sqlite3_bind_int64(st, idx, lua_tointeger(L, i));
			else
				rc = sqlite3_bind_double(st, idx, lua_tonumber(L, i));
			break;
		case LUA_TSTRING: {
			size_t n;
			const char *s = lua_tolstring(L, i, &n);
			rc = sqlite3_bind_text(st, idx, s, (int)n, SQLITE_STATIC);
			break;
		}
		case LUA_TUSERDATA: {
			size_t *len = luaL_testudata(L, i, BLOB_MT);
			if (!len)
				luaL_argerror(L, i, "cannot store this userdata");
			rc = sqlite3_bind_blob(st, idx, len + 1, (int)*len, SQLITE_STATIC);
			break;
		}
		default:
			luaL_argerror(L, i,
			              "cannot store this type (use string, number, boolean, nil or db.blob)");
		}
		if (rc != SQLITE_OK)
			luaL_error(L, "cannot bind parameter %d: %s", idx, db_errmsg(db));
	}
}

static sqlite3_stmt *prepare(lua_State *L, db_t *db)
{
	size_t n;
	const char *sql = luaL_checklstring(L, 1, &n);
	sqlite3_stmt *st = db_prepare(db, sql, (int)n);
	if (!st)
		luaL_error(L, "bad SQL: %s in: %s", db_errmsg(db), sql);
	bind_args(L, db, st, 2);
	return st;
}

static void push_column(lua_State *L, sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		lua_pushinteger(L, sqlite3_column_int64(st, i));
		break;
	case SQLITE_FLOAT:
		lua_pushnumber(L, sqlite3_column_double(st, i));
		break;
	case SQLITE_TEXT:
		lua_pushlstring(L, (const char *)sqlite3_column_text(st, i),
		                (size_t)sqlite3_column_bytes(st, i));
		break;
	case SQLITE_BLOB: {
		const void *p = sqlite3_column_blob(st, i);
		lua_pushlstring(L, p ? p : "", (size_t)sqlite3_column_bytes(st, i));
		break;
	}
	default:
		lua_pushnil(L);
	}
}

static void push_row(lua_State *L, sqlite3_stmt *st, int ncol)
{
	lua_createtable(L, 0, ncol);
	for (int i = 0; i < ncol; i++) {
		if (sqlite3_column_type(st, i) == SQLITE_NULL)
			continue;
		push_column(L, st, i);
		lua_setfield(L, -2, sqlite3_column_name(st, i));
	}
}

static int step_failed(lua_State *L, db_t *db, sqlite3_stmt *st, int rc)
{
	char msg[600];
	snprintf(msg, sizeof msg, "%s", sqlite3_errmsg(db_sqlite(db)));
	const char *code = db_error_code(db, rc); /* before the reset: it reads the system errno */
	sqlite3_reset(st);
	return host_fail(L, code, "%s", msg);
}

/** db.query(sql, ...) -> array of rows (tables keyed by column name) */
static int l_query(lua_State *L)
{
	db_t *db = need_db(L);
	sqlite3_stmt *st = prepare(L, db);
	db_count_query(db);
	int ncol = sqlite3_column_count(st), rc, n = 0;
	lua_newtable(L);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		push_row(L, st, ncol);
		lua_rawseti(L, -2, ++n);
	}
	if (rc != SQLITE_DONE)
		return step_failed(L, db, st, rc);
	sqlite3_reset(st);
	return 1;
}

/** db.row(sql, ...) -> first row or nil */
static int l_row(lua_State *L)
{
	db_t *db = need_db(L);
	sqlite3_stmt *st = prepare(L, db);
	db_count_query(db);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		push_row(L, st, sqlite3_column_count(st));
	else if (rc == SQLITE_DONE)
		lua_pushnil(L);
	else
		return step_failed(L, db, st, rc);
	sqlite3_reset(st);
	return 1;
}

/** db.value(sql, ...) -> first column of the first row, or nil */
static int l_value(lua_State *L)
{
	db_t *db = need_db(L);
	sqlite3_stmt *st = prepare(L, db);
	db_count_query(db);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		push_column(L, st, 0);
	else if (rc == SQLITE_DONE)
		lua_pushnil(L);
	else
		return step_failed(L, db, st, rc);
	sqlite3_reset(st);
	return 1;
}

/** db.column(sql, ...) -> array of the first column of every row */
static int l_column(lua_State *L)
{
	db_t *db = need_db(L);
	sqlite3_stmt *st = prepare(L, db);
	db_count_query(db);
	int rc, n = 0;
	lua_newtable(L);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		push_column(L, st, 0);
		lua_rawseti(L, -2, ++n);
	}
	if (rc != SQLITE_DONE)
		return step_failed(L, db, st, rc);
	sqlite3_reset(st);
	return 1;
}

/** db.columns(sql, ...) -> { name = array of that column's values, ... }, number of rows. A NULL
 * leaves a hole (nil) at its row. For long lists: no table per row. */
static int l_columns(lua_State *L)
{
	db_t *db = need_db(L);
	sqlite3_stmt *st = prepare(L, db);
	db_count_query(db);
	int ncol = sqlite3_column_count(st), rc, n = 0;
	int base = lua_gettop(L) + 1;
	lua_createtable(L, 0, ncol);
	for (int i = 0; i < ncol; i++) {
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, base, sqlite3_column_name(st, i));
	}
	/* the column arrays are at base + 1 .. base + ncol */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		for (int i = 0; i < ncol; i++) {
			if (sqlite3_column_type(st, i) == SQLITE_NULL)
				continue;
			push_column(L, st, i);
			lua_rawseti(L, base + 1 + i, n);
		}
	}
	if (rc != SQLITE_DONE)
		return step_failed(L, db, st, rc);
	sqlite3_reset(st);
	lua_settop(L, base);
	lua_pushinteger(L, n);
	return 2;
}

/** db.exec(sql, ...) -> changes, last_insert_rowid  |  nil, err */
static int l_exec(lua_State *L)
{
	db_t *db = need_db(L);
	sqlite3_stmt *st = prepare(L, db);
	db_count_query(db);
	int rc = sqlite3_step(st);
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return step_failed(L, db, st, rc);
	sqlite3_reset(st);
	lua_pushinteger(L, sqlite3_changes(db_sqlite(db)));
	lua_pushinteger(L, sqlite3_last_insert_rowid(db_sqlite(db)));
	return 2;
}

/** db.script(sql) runs several statements without parameters (schema work, tests). */
static int l_script(lua_State *L)
{
	db_t *db = need_db(L);
	if (db_exec(db, luaL_checkstring(L, 1)) != 0)
		return host_fail(L, db_last_error_code(db), "%s", db_errmsg(db));
	lua_pushboolean(L, 1);
	return 1;
}

/** db.begin([unsynced]) starts a transaction (a savepoint inside one); with unsynced its commit
 * does not wait for the disk (db_begin_unsynced: until a later commit or db.sync()). */
static int l_begin(lua_State *L)
{
	db_t *db = need_db(L);
	if ((lua_toboolean(L, 1) ? db_begin_unsynced(db) : db_begin(db)) != 0)
		return host_fail(L, db_last_error_code(db), "cannot start a transaction: %s", db_errmsg(db));
	lua_pushboolean(L, 1);
	return 1;
}

static int l_commit(lua_State *L)
{
	db_t *db = need_db(L);
	if (db_depth(db) == 0)
		return luaL_error(L, "commit without a transaction");
	if (db_commit(db) != 0)
		return host_fail(L, db_last_error_code(db), "commit failed (rolled back): %s", db_errmsg(db));
	lua_pushboolean(L, 1);
	return 1;
}

static int l_rollback(lua_State *L)
{
	db_t *db = need_db(L);
	if (db_depth(db) == 0)
		return luaL_error(L, "rollback without a transaction");
	db_rollback(db);
	lua_pushboolean(L, 1);
	return 1;
}

/** db.sync() waits until every commit so far is on the disk (db_sync). */
static int l_sync(lua_State *L)
{
	db_t *db = need_db(L);
	if (db_sync(db) != 0)
		return host_fail(L, db_last_error_code(db), "%s", db_errmsg(db));
	lua_pushboolean(L, 1);
	return 1;
}

static int l_depth(lua_State *L)
{
	lua_pushinteger(L, H->db ? db_depth(H->db) : 0);
	return 1;
}

/** db.blob(s) marks a string to be stored as a BLOB (e.g. ciphertext). */
static int l_blob(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	size_t *ud = lua_newuserdatauv(L, sizeof(size_t) + n, 0);
	*ud = n;
	memcpy(ud + 1, s, n);
	luaL_setmetatable(L, BLOB_MT);
	return 1;
}

/* The tables Lua watches, in the order of their bits: a database opened later watches them too,
 * with the same bits. */
static char *watched[DB_WATCH_MAX];
static int nwatched;

/** db.watch(table) -> bit: the table's generation moves whenever it may have changed (see
 * db.generation); the same table gives the same bit. */
static int l_watch(lua_State *L)
{
	db_t *db = need_db(L);
	const char *name = luaL_checkstring(L, 1);
	int bit = db_watch(db, name);
	if (bit < 0)
		return luaL_error(L, "cannot watch more than %d tables", DB_WATCH_MAX);
	if (bit == nwatched) {
		watched[nwatched] = strdup(name);
		if (!watched[nwatched])
			return luaL_error(L, "out of memory");
		nwatched++;
	}
	lua_pushinteger(L, (lua_Integer)((uint64_t)1 << bit));
	return 1;
}

/** db.generation(bits) -> number: changes whenever one of the watched tables in bits (db.watch
 * results added together) may have changed, by this connection (rolled back or not) or another. */
static int l_generation(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)db_generation(need_db(L), (uint64_t)luaL_checkinteger(L, 1)));
	return 1;
}

/** db.open(path) closes the current database and opens path (":memory:" in tests). */
static int l_open(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char err[512];
	db_t *db = db_open(path, err, sizeof err);
	if (!db)
		return host_fail(L, "db_error", "%s", err);
	for (int i = 0; i < nwatched; i++)
		db_watch(db, watched[i]);
	db_close(H->db);
	H->db = db;
	lua_pushboolean(L, 1);
	return 1;
}

static int l_close(lua_State *L)
{
	(void)L;
	db_close(H->db);
	H->db = NULL;
	return 0;
}

/** db.migrate(dir [, upto]) -> number applied | nil, err */
static int l_migrate(lua_State *L)
{
	db_t *db = need_db(L);
	char err[1024];
	int n = db_migrate(db, luaL_checkstring(L, 1), (int)luaL_optinteger(L, 2, 0), err, sizeof err);
	if (n < 0)
		return host_fail(L, "migration", "%s", err);
	lua_pushinteger(L, n);
	return 1;
}

static int l_version(lua_State *L)
{
	lua_pushinteger(L, db_version(need_db(L)));
	return 1;
}

static int l_checkpoint(lua_State *L)
{
	lua_pushboolean(L, db_checkpoint(need_db(L)) == 0);
	return 1;
}

static int l_backup(lua_State *L)
{
	db_t *db = need_db(L);
	if (db_backup(db, luaL_checkstring(L, 1)) != 0)
		return host_fail(L, "db_error", "%s", db_errmsg(db));
	lua_pushboolean(L, 1);
	return 1;
}

/** db.stats() -> {queries=, cached=, depth=} */
static int l_stats(lua_State *L)
{
	db_t *db = need_db(L);
	lua_createtable(L, 0, 3);
	lua_pushinteger(L, (lua_Integer)db_query_count(db));
	lua_setfield(L, -2, "queries");
	lua_pushinteger(L, db_cache_size(db));
	lua_setfield(L, -2, "cached");
	lua_pushinteger(L, db_depth(db));
	lua_setfield(L, -2, "depth");
	return 1;
}

/** db.fold(text) -> the key the FOLD collation orders by (Lua sorts agree with SQL's) */
static int l_fold(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	size_t need = fold_text(s, n, NULL, 0);
	char *out = luaL_buffinitsize(L, &b, need + 1);
	fold_text(s, n, out, need + 1);
	luaL_pushresultsize(&b, need);
	return 1;
}

static int l_is_open(lua_State *L)
{
	lua_pushboolean(L, H->db != NULL);
	return 1;
}

int luaopen_core_db(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"open", l_open},
	    {"close", l_close},
	    {"is_open", l_is_open},
	    {"query", l_query},
	    {"row", l_row},
	    {"value", l_value},
	    {"column", l_column},
	    {"columns", l_columns},
	    {"exec", l_exec},
	    {"script", l_script},
	    {"begin", l_begin},
	    {"commit", l_commit},
	    {"rollback", l_rollback},
	    {"depth", l_depth},
	    {"sync", l_sync},
	    {"blob", l_blob},
	    {"migrate", l_migrate},
	    {"version", l_version},
	    {"checkpoint", l_checkpoint},
	    {"backup", l_backup},
	    {"stats", l_stats},
	    {"fold", l_fold},
	    {"watch", l_watch},
	    {"generation", l_generation},
	    {NULL, NULL},
	};
	luaL_newmetatable(L, BLOB_MT);
	lua_pop(L, 1);
	luaL_newlib(L, fns);
	return 1;
}
