/* The module state shared by core.mail and core.fetch, and the clean-up of their transfers. */
#include "lua_curl.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

curl_op_t *lua_curl_op(lua_State *L, task_t *t)
{
	curl_op_t *op = calloc(1, sizeof *op);
	if (!op)
		luaL_error(L, "out of memory");
	op->task = t;
	return op;
}

void lua_curl_started(curl_op_t *op, void *job, void (*cancel_job)(void *))
{
	op->job = job;
	op->cancel_job = cancel_job;
}

task_t *lua_curl_done(curl_op_t *op)
{
	task_t *t = op->task;
	free(op);
	return t;
}

void lua_curl_cancel(task_t *t)
{
	curl_op_t *op = t->op;
	op->cancel_job(op->job);
	lua_curl_done(op);
}

curl_state_t *lua_curl_state(lua_State *L, const char *who)
{
	curl_state_t *st = lua_touserdata(L, lua_upvalueindex(1));
	if (!st->cu && !(st->cu = curl_uv_new(H->loop)))
		luaL_error(L, "%s: cannot start libcurl", who);
	return st;
}

/** <module>.pending() -> transfers in flight */
static int l_pending(lua_State *L)
{
	curl_state_t *st = lua_touserdata(L, lua_upvalueindex(1));
	lua_pushinteger(L, st->cu ? curl_uv_pending(st->cu) : 0);
	return 1;
}

/* At host close (lua_close, after host_close abandoned every waiting task, which cancelled
 * their transfers): free the driver; its handles finish closing on the loop's last run. */
static int state_gc(lua_State *L)
{
	curl_state_t *st = lua_touserdata(L, 1);
	curl_uv_free(st->cu);
	st->cu = NULL;
	return 0;
}

void lua_curl_module(lua_State *L, const char *mt, const luaL_Reg *fns)
{
	int n = 1;
	for (const luaL_Reg *f = fns; f->name; f++)
		n++;
	lua_createtable(L, 0, n);
	curl_state_t *st = lua_newuserdatauv(L, sizeof *st, 0);
	memset(st, 0, sizeof *st);
	if (luaL_newmetatable(L, mt)) {
		lua_pushcfunction(L, state_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	for (const luaL_Reg *f = fns; f->name; f++) {
		lua_pushvalue(L, -1);
		lua_pushcclosure(L, f->func, 1);
		lua_setfield(L, -3, f->name);
	}
	lua_pushcclosure(L, l_pending, 1);
	lua_setfield(L, -2, "pending");
}
