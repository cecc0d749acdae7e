/* core.sched: persistent timed jobs (core/scheduler.c) and the Lua handler that runs them. */
#include "host.h"

#include "scheduler.h"

#include <lauxlib.h>

static db_t *need_db(lua_State *L)
{
	if (!H->db)
		luaL_error(L, "no database is open");
	return H->db;
}

/** sched.add(due_ms, kind, payload_json [, key]) -> id */
static int l_add(lua_State *L)
{
	db_t *db = need_db(L);
	int64_t due = luaL_checkinteger(L, 1);
	const char *kind = luaL_checkstring(L, 2);
	const char *payload = luaL_optstring(L, 3, "{}");
	const char *key = luaL_optstring(L, 4, NULL);
	int64_t id = sched_add(db, due, kind, payload, key);
	if (id < 0)
		return host_fail(L, "db_error", "cannot add job: %s", db_errmsg(db));
	host_sched_changed();
	lua_pushinteger(L, id);
	return 1;
}

/** sched.cancel(key [, prefix]) -> number removed */
static int l_cancel(lua_State *L)
{
	db_t *db = need_db(L);
	int n = sched_cancel(db, luaL_checkstring(L, 1), lua_toboolean(L, 2));
	if (n < 0)
		return host_fail(L, "db_error", "cannot cancel: %s", db_errmsg(db));
	host_sched_changed();
	lua_pushinteger(L, n);
	return 1;
}

/** sched.next_due() -> ms or nil */
static int l_next_due(lua_State *L)
{
	int64_t due = sched_next_due(need_db(L));
	if (due < 0)
		return 0;
	lua_pushinteger(L, due);
	return 1;
}

static int collect(const sched_job_t *job, void *ud)
{
	lua_State *L = ud;
	lua_createtable(L, 0, 6);
	lua_pushinteger(L, job->id);
	lua_setfield(L, -2, "id");
	lua_pushinteger(L, job->due_ms);
	lua_setfield(L, -2, "due_ms");
	lua_pushstring(L, job->kind);
	lua_setfield(L, -2, "kind");
	lua_pushstring(L, job->payload);
	lua_setfield(L, -2, "payload");
	if (job->key) {
		lua_pushstring(L, job->key);
		lua_setfield(L, -2, "key");
	}
	lua_pushinteger(L, job->attempts);
	lua_setfield(L, -2, "attempts");
	lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
	return 0;
}

/** sched.due(now_ms [, limit=100]) -> array of jobs due, earliest first */
static int l_due(lua_State *L)
{
	db_t *db = need_db(L);
	int64_t now = luaL_checkinteger(L, 1);
	int limit = (int)luaL_optinteger(L, 2, 100);
	lua_newtable(L);
	if (sched_each_due(db, now, limit, collect, L) < 0)
		return host_fail(L, "db_error", "cannot read jobs: %s", db_errmsg(db));
	return 1;
}

static int l_done(lua_State *L)
{
	db_t *db = need_db(L);
	if (sched_done(db, luaL_checkinteger(L, 1)) != 0)
		return host_fail(L, "db_error", "%s", db_errmsg(db));
	lua_pushboolean(L, 1);
	return 1;
}

/** sched.retry(id, due_ms, error_text) */
static int l_retry(lua_State *L)
{
	db_t *db = need_db(L);
	if (sched_retry(db, luaL_checkinteger(L, 1), luaL_checkinteger(L, 2), luaL_optstring(L, 3, "")) != 0)
		return host_fail(L, "db_error", "%s", db_errmsg(db));
	host_sched_changed();
	lua_pushboolean(L, 1);
	return 1;
}

/** sched.set_handler(fn): fn() runs (as a task) whenever jobs are due on the real clock. */
static int l_set_handler(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TFUNCTION);
	luaL_unref(L, LUA_REGISTRYINDEX, H->jobs_ref);
	lua_pushvalue(L, 1);
	H->jobs_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	host_sched_changed();
	return 0;
}

/** sched.changed() re-arms the timer (after jobs were changed with plain SQL). */
static int l_changed(lua_State *L)
{
	(void)L;
	host_sched_changed();
	return 0;
}

int luaopen_core_sched(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"add", l_add},   {"cancel", l_cancel}, {"next_due", l_next_due}, {"due", l_due},
		{"done", l_done}, {"retry", l_retry},   {"set_handler", l_set_handler},
		{"changed", l_changed}, {NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
