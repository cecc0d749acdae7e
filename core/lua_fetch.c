/* core.fetch: HTTP requests through libcurl on the loop (the transfer is in curl_uv.c).
 * fetch.request waits (yields the task) and never blocks the loop. */
#include "host.h"

#include "lua_curl.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_STATE_MT "core.fetch.state"
#define FETCH_MAX_HEADERS 100

/* Pushes {lower-case name = value} from "Name: value\n" lines; repeats are joined with ", ". */
static void push_headers(lua_State *co, const char *p, size_t len)
{
	lua_newtable(co);
	const char *end = p + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		const char *colon = memchr(p, ':', (size_t)(nl - p));
		if (colon && colon > p) {
			luaL_Buffer b;
			luaL_buffinit(co, &b);
			for (const char *q = p; q < colon; q++)
				luaL_addchar(&b, (char)tolower((unsigned char)*q));
			luaL_pushresult(&b);
			const char *v = colon + 1, *ve = nl;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t' || ve[-1] == '\r'))
				ve--;
			lua_pushvalue(co, -1);
			if (lua_rawget(co, -3) == LUA_TSTRING) {
				lua_pushliteral(co, ", ");
				lua_pushlstring(co, v, (size_t)(ve - v));
				lua_concat(co, 3);
			} else {
				lua_pop(co, 1);
				lua_pushlstring(co, v, (size_t)(ve - v));
			}
			lua_rawset(co, -3);
		}
		p = nl + 1;
	}
}

static void on_answer(const fetch_result_t *res, void *ud)
{
	task_t *t = lua_curl_done(ud);
	lua_State *co = t->co;
	if (!res->code) {
		lua_createtable(co, 0, 3);
		lua_pushinteger(co, res->status);
		lua_setfield(co, -2, "status");
		push_headers(co, res->head, res->head_len);
		lua_setfield(co, -2, "headers");
		lua_pushlstring(co, res->body, res->body_len);
		lua_setfield(co, -2, "body");
		task_resume(t, 1);
		return;
	}
	lua_pushnil(co);
	lua_createtable(co, 0, 3);
	lua_pushstring(co, res->code);
	lua_setfield(co, -2, "code");
	lua_pushstring(co, res->message);
	lua_setfield(co, -2, "message");
	if (res->status > 0) {
		lua_pushinteger(co, res->status);
		lua_setfield(co, -2, "status");
	}
	task_resume(t, 2);
}

static void cancel_job(void *job)
{
	fetch_cancel(job);
}

/** fetch.request{method="GET", url=, headers={name=value}, body="", timeout_ms=10000,
 *  max_body=1048576, insecure=, deny_local=, deny_private=} -> {status=, headers={lower-case name=value},
 * body=} | nil, {code=, message=} (waits) */
static int l_request(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	task_t *t = task_check_async(L);
	fetch_opts_t o;
	memset(&o, 0, sizeof o);

	lua_getfield(L, 1, "method");
	o.method = lua_isnil(L, -1) ? "GET" : lua_tostring(L, -1);
	luaL_argcheck(L, o.method && lua_type(L, -1) != LUA_TNUMBER, 1, "method must be a string");
	lua_getfield(L, 1, "url");
	luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, 1, "url must be a string");
	o.url = lua_tostring(L, -1);
	lua_getfield(L, 1, "body");
	if (!lua_isnil(L, -1)) {
		luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, 1, "body must be a string");
		o.body = lua_tolstring(L, -1, &o.body_len);
	}
	lua_getfield(L, 1, "timeout_ms");
	lua_Integer timeout = luaL_optinteger(L, -1, 10000);
	luaL_argcheck(L, timeout >= 1 && timeout <= 600000, 1, "timeout_ms must be 1..600000");
	o.timeout_ms = (long)timeout;
	lua_getfield(L, 1, "max_body");
	lua_Integer max_body = luaL_optinteger(L, -1, 1024 * 1024);
	luaL_argcheck(L, max_body >= 0 && max_body <= 256 * 1024 * 1024, 1, "max_body must be 0..256 MiB");
	o.max_body = (size_t)max_body;
	lua_getfield(L, 1, "insecure");
	o.insecure = lua_toboolean(L, -1);
	lua_getfield(L, 1, "deny_local");
	o.deny_local = lua_toboolean(L, -1);
	lua_getfield(L, 1, "deny_private");
	o.deny_private = lua_toboolean(L, -1);

	/* headers: "Name: value" strings kept on the stack while fetch_start copies them */
	const char **lines = NULL;
	lua_getfield(L, 1, "headers");
	int hidx = lua_gettop(L);
	if (!lua_isnil(L, hidx)) {
		luaL_argcheck(L, lua_istable(L, hidx), 1, "headers must be a table {name = value}");
		lines = lua_newuserdatauv(L, sizeof *lines * FETCH_MAX_HEADERS, 0);
		luaL_checkstack(L, FETCH_MAX_HEADERS + 4, NULL);
		lua_pushnil(L);
		while (lua_next(L, hidx)) {
			if (lua_type(L, -2) != LUA_TSTRING ||
			    (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER))
				return luaL_error(L, "fetch.request: headers are name = value strings");
			if (o.header_count == FETCH_MAX_HEADERS)
				return luaL_error(L, "fetch.request: more than %d headers",
				                  FETCH_MAX_HEADERS);
			const char *line =
			    lua_pushfstring(L, "%s: %s", lua_tostring(L, -2), lua_tostring(L, -1));
			lua_insert(L, -3); /* keep the line below the key */
			lines[o.header_count++] = line;
			lua_pop(L, 1);
		}
	}
	o.headers = lines;

	curl_state_t *st = lua_curl_state(L, "fetch.request");
	curl_op_t *op = lua_curl_op(L, t);
	char err[256];
	fetch_job_t *job = fetch_start(st->cu, &o, on_answer, op, err, sizeof err);
	if (!job) {
		free(op);
		return luaL_error(L, "fetch.request: %s", err);
	}
	lua_curl_started(op, job, cancel_job);
	return task_yield(L, t, op, lua_curl_cancel);
}

/** fetch.address_kind(text) -> "local" | "private" | "public" | nil (not an IP address) */
static int l_address_kind(lua_State *L)
{
	const char *kind = curl_uv_address_kind(luaL_checkstring(L, 1));
	if (kind)
		lua_pushstring(L, kind);
	else
		lua_pushnil(L);
	return 1;
}

int luaopen_core_fetch(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"request", l_request}, {"address_kind", l_address_kind}, {NULL, NULL}};
	lua_curl_module(L, FETCH_STATE_MT, fns);
	return 1;
}
