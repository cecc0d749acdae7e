/* core.sched: the persistent job queue (core/scheduler.c) and the Lua handler that runs due jobs. */
#include "host.h"

#include "proc.h"
#include "scheduler.h"

#include <lauxlib.h>

static db_t *need_db(lua_State *L)
{
	if (!H->db)
		luaL_error(L, "no database is open");
	return H->db;
}

/** sched.add(due_ms, kind, payload_json [, key [, { lane =, keep_earlier = }]]) -> id.
 * keep_earlier: the key coalesces (the job stays, at the earlier due time) instead of replacing. */
static int l_add(lua_State *L)
{
	db_t *db = need_db(L);
	sched_new_t job = {
	    .due_ms = luaL_checkinteger(L, 1),
	    .kind = luaL_checkstring(L, 2),
	    .payload = luaL_optstring(L, 3, "{}"),
	    .key = luaL_optstring(L, 4, NULL),
	    .on_conflict = SCHED_REPLACE,
	};
	if (!lua_isnoneornil(L, 5)) {
		luaL_checktype(L, 5, LUA_TTABLE);
		lua_getfield(L, 5, "lane");
		job.lane = luaL_optstring(L, -1, NULL);
		lua_getfield(L, 5, "keep_earlier");
		if (lua_toboolean(L, -1)) {
			luaL_argcheck(L, job.key != NULL, 4, "keep_earlier needs a key");
			job.on_conflict = SCHED_KEEP_EARLIER;
		}
		lua_pop(L, 2);
	}
	int64_t id = sched_add(db, &job);
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

/** sched.next_due() -> ms or nil (of a job that may start) */
static int l_next_due(lua_State *L)
{
	int64_t due = sched_next_due(need_db(L));
	if (due < 0)
		return 0;
	lua_pushinteger(L, due);
	return 1;
}

/* Pushes job as a table. */
static void push_job(lua_State *L, const sched_job_t *job)
{
	lua_createtable(L, 0, 8);
	lua_pushinteger(L, job->id);
	lua_setfield(L, -2, "id");
	lua_pushinteger(L, job->due_ms);
	lua_setfield(L, -2, "due_ms");
	lua_pushinteger(L, job->created_ms);
	lua_setfield(L, -2, "created_ms");
	lua_pushstring(L, job->kind);
	lua_setfield(L, -2, "kind");
	lua_pushstring(L, job->payload);
	lua_setfield(L, -2, "payload");
	if (job->key) {
		lua_pushstring(L, job->key);
		lua_setfield(L, -2, "key");
	}
	lua_pushstring(L, job->lane);
	lua_setfield(L, -2, "lane");
	lua_pushinteger(L, job->attempts);
	lua_setfield(L, -2, "attempts");
}

static int collect(const sched_job_t *job, void *ud)
{
	lua_State *L = ud;
	push_job(L, job);
	lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
	return 0;
}

/** sched.due(now_ms [, limit=100 [, lane]]) -> array of jobs that may start, earliest first */
static int l_due(lua_State *L)
{
	db_t *db = need_db(L);
	int64_t now = luaL_checkinteger(L, 1);
	int limit = (int)luaL_optinteger(L, 2, 100);
	const char *lane = luaL_optstring(L, 3, NULL);
	lua_newtable(L);
	if (sched_each_due(db, now, limit, lane, collect, L) < 0)
		return host_fail(L, "db_error", "cannot read jobs: %s", db_errmsg(db));
	return 1;
}

static int push_one(const sched_job_t *job, void *ud)
{
	push_job(ud, job);
	return 1;
}

/** sched.find(key) -> the job with this key, or nil */
static int l_find(lua_State *L)
{
	db_t *db = need_db(L);
	int top = lua_gettop(L);
	int n = sched_find(db, luaL_checkstring(L, 1), push_one, L);
	if (n < 0)
		return host_fail(L, "db_error", "cannot read jobs: %s", db_errmsg(db));
	return lua_gettop(L) - top;
}

/** This process's name, claiming jobs ("pid.start"). */
static const char *claimant(lua_State *L)
{
	const char *name = proc_self();
	if (!name[0])
		luaL_error(L, "cannot name this process");
	return name;
}

/** sched.claim(id) -> true when this process now runs the job, false when it is taken or gone */
static int l_claim(lua_State *L)
{
	db_t *db = need_db(L);
	int rc = sched_claim(db, luaL_checkinteger(L, 1), claimant(L));
	if (rc < 0)
		return host_fail(L, "db_error", "%s", db_errmsg(db));
	lua_pushboolean(L, rc);
	return 1;
}

/** sched.done(id): the run ended well */
static int l_done(lua_State *L)
{
	db_t *db = need_db(L);
	if (sched_done(db, luaL_checkinteger(L, 1)) != 0)
		return host_fail(L, "db_error", "%s", db_errmsg(db));
	host_sched_changed();
	lua_pushboolean(L, 1);
	return 1;
}

/** sched.retry(id, due_ms, error_text): the run failed */
static int l_retry(lua_State *L)
{
	db_t *db = need_db(L);
	if (sched_retry(db, luaL_checkinteger(L, 1), luaL_checkinteger(L, 2), luaL_optstring(L, 3, "")) != 0)
		return host_fail(L, "db_error", "%s", db_errmsg(db));
	host_sched_changed();
	lua_pushboolean(L, 1);
	return 1;
}

static int claimant_alive(const char *name, void *ud)
{
	(void)ud;
	return proc_alive(name) != 0; /* when it cannot tell, the claim stands */
}

/** sched.release() -> how many jobs were released: the claims of processes that are gone */
static int l_release(lua_State *L)
{
	db_t *db = need_db(L);
	int n = sched_release(db, claimant_alive, NULL);
	if (n < 0)
		return host_fail(L, "db_error", "%s", db_errmsg(db));
	if (n > 0)
		host_sched_changed();
	lua_pushinteger(L, n);
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
	    {"add", l_add},           {"cancel", l_cancel},
	    {"next_due", l_next_due}, {"due", l_due},
	    {"find", l_find},         {"claim", l_claim},
	    {"done", l_done},         {"retry", l_retry},
	    {"release", l_release},   {"set_handler", l_set_handler},
	    {"changed", l_changed},   {NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
