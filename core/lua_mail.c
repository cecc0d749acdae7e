/* core.mail: sending a mail over SMTP through libcurl on the loop (the transfer is in
 * curl_uv.c). mail.send waits (yields the task) and never blocks the loop. */
#include "host.h"

#include "curl_uv.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#define MAIL_STATE_MT "core.mail.state"
#define MAIL_MAX_RCPT 1000

struct mail_state;

/** A send waiting for the server; in the module's list until it ends or is cancelled. */
struct mail_op {
	struct mail_op *prev, *next;
	struct mail_state *st;
	mail_job_t *job;
	task_t *task;
};

/** The module's state (a userdata, upvalue of its functions): the driver, created at first
 * use, and the sends in flight. Its __gc (at host close) cancels them and frees the driver. */
struct mail_state {
	curl_uv_t *cu;
	struct mail_op *ops;
};

static void op_unlink(struct mail_op *op)
{
	if (op->prev)
		op->prev->next = op->next;
	else
		op->st->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
}

static void on_sent(const mail_result_t *res, void *ud)
{
	struct mail_op *op = ud;
	task_t *t = op->task;
	op_unlink(op);
	free(op);
	lua_State *co = t->co;
	if (!res->code) {
		lua_pushboolean(co, 1);
		lua_createtable(co, 0, 2);
	} else {
		lua_pushnil(co);
		lua_createtable(co, 0, 5);
		lua_pushstring(co, res->code);
		lua_setfield(co, -2, "code");
		lua_pushstring(co, res->message);
		lua_setfield(co, -2, "message");
		lua_pushboolean(co, res->temporary);
		lua_setfield(co, -2, "temporary");
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

/* The task waiting in mail.send is gone: drop the connection. */
static void cancel_send(task_t *t)
{
	struct mail_op *op = t->op;
	mail_cancel(op->job);
	op_unlink(op);
	free(op);
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
 *  temporary=} (waits) */
static int l_send(lua_State *L)
{
	struct mail_state *st = lua_touserdata(L, lua_upvalueindex(1));
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

	if (!st->cu && !(st->cu = curl_uv_new(H->loop)))
		return luaL_error(L, "mail.send: cannot start libcurl");
	struct mail_op *op = calloc(1, sizeof *op);
	if (!op)
		return luaL_error(L, "out of memory");
	char err[256];
	op->job = mail_start(st->cu, &o, on_sent, op, err, sizeof err);
	if (!op->job) {
		free(op);
		return luaL_error(L, "mail.send: %s", err);
	}
	op->st = st;
	op->task = t;
	op->next = st->ops;
	if (st->ops)
		st->ops->prev = op;
	st->ops = op;
	return task_yield(L, t, op, cancel_send);
}

/** mail.pending() -> sends in flight */
static int l_pending(lua_State *L)
{
	struct mail_state *st = lua_touserdata(L, lua_upvalueindex(1));
	lua_pushinteger(L, st->cu ? curl_uv_pending(st->cu) : 0);
	return 1;
}

/* At host close (lua_close): abandon the waiting tasks (which cancels their sends), then free
 * the driver; its handles finish closing on the loop's last run. */
static int state_gc(lua_State *L)
{
	struct mail_state *st = luaL_checkudata(L, 1, MAIL_STATE_MT);
	while (st->ops) {
		struct mail_op *op = st->ops;
		task_abandon(op->task);
		if (st->ops == op) { /* the task did not know the op: cancel it here */
			mail_cancel(op->job);
			op_unlink(op);
			free(op);
		}
	}
	curl_uv_free(st->cu);
	st->cu = NULL;
	return 0;
}

int luaopen_core_mail(lua_State *L)
{
	static const luaL_Reg fns[] = {{"send", l_send}, {"pending", l_pending}, {NULL, NULL}};
	luaL_newlibtable(L, fns);
	struct mail_state *st = lua_newuserdatauv(L, sizeof *st, 0);
	memset(st, 0, sizeof *st);
	if (luaL_newmetatable(L, MAIL_STATE_MT)) {
		lua_pushcfunction(L, state_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	luaL_setfuncs(L, fns, 1);
	return 1;
}
