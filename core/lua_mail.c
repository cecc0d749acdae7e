/* core.mail: sending a mail over SMTP through libcurl on the loop (the transfer is in
 * curl_uv.c). mail.send waits (yields the task) and never blocks the loop. */
#include "lua_curl.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#define MAIL_STATE_MT "core.mail.state"
#define MAIL_MAX_RCPT 1000

static void on_sent(const mail_result_t *res, void *ud)
{
	task_t *t = lua_curl_done(ud);
	lua_State *co = t->co;
	if (!res->code) {
		lua_pushboolean(co, 1);
		lua_createtable(co, 0, 2);
	} else {
		lua_pushnil(co);
		lua_createtable(co, 0, 6);
		lua_pushstring(co, res->code);
		lua_setfield(co, -2, "code");
		lua_pushstring(co, res->message);
		lua_setfield(co, -2, "message");
		lua_pushboolean(co, res->temporary);
		lua_setfield(co, -2, "temporary");
		lua_pushboolean(co, res->unsure);
		lua_setfield(co, -2, "unsure");
	}
	if (res->smtp_code > 0) {
		lua_pushinteger(co, res->smtp_code);
		lua_setfield(co, -2, "smtp_code");
	}
	if (res->response[0]) {
		lua_pushstring(co, res->response);
		lua_setfield(co, -2, "response");
	}
	task_resume(t, 2);
}

static void cancel_job(void *job)
{
	mail_cancel(job);
}

static const char *opt_string(lua_State *L, const char *name, int required)
{
	int ty = lua_getfield(L, 1, name);
	if (ty == LUA_TNIL && !required) {
		lua_pop(L, 1);
		return NULL;
	}
	if (ty != LUA_TSTRING)
		luaL_error(L, "mail.send: %s must be a string", name);
	return lua_tostring(L, -1); /* left on the stack: alive until the call returns */
}

static lua_Integer opt_integer(lua_State *L, const char *name, lua_Integer def, lua_Integer min,
                               lua_Integer max)
{
	lua_getfield(L, 1, name);
	lua_Integer v = def;
	if (!lua_isnil(L, -1)) {
		int ok;
		v = lua_tointegerx(L, -1, &ok);
		if (!ok || v < min || v > max)
			luaL_error(L, "mail.send: %s must be an integer from %I to %I", name, min, max);
	}
	lua_pop(L, 1);
	return v;
}

static int opt_bool(lua_State *L, const char *name)
{
	lua_getfield(L, 1, name);
	int v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

/** mail.send{url=, starttls=, username=, password=, from=, to={...}, message=, timeout_ms=30000,
 *  insecure=} -> true, {response=, smtp_code=} | nil, {code=, message=, smtp_code=, response=,
 *  temporary=, unsure=} (waits) */
static int l_send(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	task_t *t = task_check_async(L);
	mail_opts_t o;
	memset(&o, 0, sizeof o);
	o.url = opt_string(L, "url", 1);
	o.starttls = opt_bool(L, "starttls");
	o.username = opt_string(L, "username", 0);
	o.password = opt_string(L, "password", 0);
	o.from = opt_string(L, "from", 1);
	o.timeout_ms = (long)opt_integer(L, "timeout_ms", 30000, 100, 600000);
	o.insecure = opt_bool(L, "insecure");
	lua_getfield(L, 1, "message");
	if (lua_type(L, -1) != LUA_TSTRING)
		return luaL_error(L, "mail.send: message must be a string (the full RFC 5322 text)");
	o.message = lua_tolstring(L, -1, &o.message_len);
	lua_pop(L, 1);

	lua_getfield(L, 1, "to");
	int to_idx = lua_gettop(L);
	const char **to;
	if (lua_type(L, to_idx) == LUA_TSTRING) {
		to = lua_newuserdatauv(L, sizeof *to, 0);
		to[0] = lua_tostring(L, to_idx);
		o.to_count = 1;
	} else {
		luaL_argcheck(L, lua_istable(L, to_idx), 1, "to must be an address or a list of addresses");
		lua_Integer n = luaL_len(L, to_idx);
		luaL_argcheck(L, n >= 1 && n <= MAIL_MAX_RCPT, 1, "to must list 1 to 1000 addresses");
		to = lua_newuserdatauv(L, sizeof *to * (size_t)n, 0); /* collected with the call */
		for (lua_Integer i = 1; i <= n; i++) {
			if (lua_rawgeti(L, to_idx, i) != LUA_TSTRING)
				return luaL_error(L, "mail.send: to[%I] must be a string", i);
			to[i - 1] = lua_tostring(L, -1);
			lua_pop(L, 1);
		}
		o.to_count = (int)n;
	}
	o.to = to;

	curl_state_t *st = lua_curl_state(L, "mail.send");
	curl_op_t *op = lua_curl_op(L, t);
	char err[256];
	mail_job_t *job = mail_start(st->cu, &o, on_sent, op, err, sizeof err);
	if (!job) {
		free(op);
		return luaL_error(L, "mail.send: %s", err);
	}
	lua_curl_started(op, job, cancel_job);
	return task_yield(L, t, op, lua_curl_cancel);
}

int luaopen_core_mail(lua_State *L)
{
	static const luaL_Reg fns[] = {{"send", l_send}, {NULL, NULL}};
	lua_curl_module(L, MAIL_STATE_MT, fns);
	return 1;
}
