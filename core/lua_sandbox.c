/* core.sandbox: customer-written scripts (workflow rules, hooks) run in sandbox worker
 * processes (core/sandbox_pool.c, core/sandbox_worker.c), each script in a sandbox of its own
 * there (core/sandbox.c). Only plain data crosses, as bytes (core/sandbox_wire.c).
 *
 * A call waits on the loop (the task yields, the server serves others) when its task may wait;
 * inside a database transaction, or where Lua cannot yield, it blocks the loop instead, on a
 * separate worker and under a short deadline. Either way a script that runs past its deadline
 * has its worker killed and fails with code "timeout"; its sandbox is dead from then on.
 *
 * A sandbox handle is the script (source, limits, env, host functions) plus where it is loaded:
 * it is bound to one waiting worker, and loaded again, transparently, in a worker that does not
 * hold it (a replaced process, the blocking worker). */
#include "host.h"

#include "clock.h"
#include "sandbox.h"
#include "sandbox_pool.h"
#include "sandbox_proto.h"
#include "sandbox_wire.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SB_MT "core.sandbox"
#define SB_STATE_MT "core.sandbox.state"
#define SB_WORKERS 2               /* waiting workers */
#define SB_MAX_WORKERS 8           /* SB_WORKERS may be raised to this */
#define SB_DEFAULT_TIMEOUT_MS 2000 /* wall clock of one waiting call */
#define SB_DEFAULT_SYNC_TIMEOUT 50 /* wall clock of one blocking call */

/** The module's state (a userdata, upvalue 1 of the functions): the pool, started at first use. */
struct sb_module {
	sbx_pool_t *pool;
	int workers;      /* waiting workers of the pool */
	uint32_t next_id; /* ids of scripts in workers */
};

/** A script: what a worker needs to load it, where it is loaded, and what is known of it. */
struct sb_handle {
	struct sb_module *mod;
	uint32_t id;
	int worker;                          /* the waiting worker it is bound to */
	unsigned loaded[SB_MAX_WORKERS + 1]; /* the worker generation that holds it (0: none) */
	char *src;
	size_t src_len;
	char name[256];
	buf_t env, fns; /* wire messages (empty: none) */
	sandbox_limits_t lim;
	unsigned timeout_ms, sync_timeout_ms;
	int fns_ref; /* registry: array of the host functions (LUA_NOREF: none) */
	int pending; /* operations in flight */
	int closed;  /* closed by its owner (freed once nothing is pending) */
	int dead;    /* a sandbox_code: it died, every operation fails alike */
	char dead_msg[300];
	size_t memory, peak; /* from the last answer */
	long long instructions;
};

/** The userdata: a pointer, so that operations in flight can outlive a collected handle. */
struct sb_ud {
	struct sb_handle *h;
};

/** An operation in flight. */
struct sb_op {
	sbx_req_t req;
	struct sb_handle *h;
	task_t *task;  /* a waiting operation's task (NULL: blocking) */
	lua_State *L;  /* a blocking operation's caller */
	int base;      /* the caller's stack top when it waited */
	int how;       /* enum sbx_end */
	int64_t ms;    /* how long it ran */
	buf_t reply;   /* the REPLY (after its type byte), or the CALLBACK's */
	int callback;  /* reply holds a CALLBACK */
	unsigned type; /* the request (SBP_STAT for a load) */
};

/* ------------------------------------------------------------------ handles */

static void release(struct sb_handle *h, lua_State *L)
{
	if (h->mod->pool)
		for (int w = 0; w <= h->mod->workers; w++)
			if (h->loaded[w])
				sbx_forget(h->mod->pool, w, h->loaded[w], h->id);
	if (h->fns_ref != LUA_NOREF && L)
		luaL_unref(L, LUA_REGISTRYINDEX, h->fns_ref);
	free(h->src);
	buf_free(&h->env);
	buf_free(&h->fns);
	free(h);
}

static void op_free(struct sb_op *op)
{
	buf_free(&op->req.frame);
	buf_free(&op->reply);
	free(op);
}

/* One operation fewer in flight; frees a closed handle with none left. */
static void op_finished(struct sb_op *op, lua_State *L)
{
	struct sb_handle *h = op->h;
	op_free(op);
	if (--h->pending == 0 && h->closed)
		release(h, L);
}

static struct sb_handle *check_handle(lua_State *L)
{
	struct sb_ud *u = luaL_checkudata(L, 1, SB_MT);
	if (!u->h || u->h->closed)
		luaL_error(L, "the sandbox is closed");
	return u->h;
}

/* The LOAD frame of h, before a request to a worker that does not hold it. */
static void prepare(sbx_req_t *r, int w, unsigned gen, buf_t *out)
{
	struct sb_handle *h = ((struct sb_op *)r->ud)->h;
	if (h->loaded[w] == gen)
		return;
	sbp_load_t l = {.id = h->id,
	                .now_ms = clock_now_ms(),
	                .lim = h->lim,
	                .name = h->name,
	                .name_len = strlen(h->name),
	                .src = h->src,
	                .src_len = h->src_len,
	                .env = h->env.p,
	                .env_len = h->env.len,
	                .fns = h->fns.p,
	                .fns_len = h->fns.len};
	sbp_put_load(out, &l);
	h->loaded[w] = gen;
}

/* ------------------------------------------------------------------ answers */

/* Reads a REPLY into h's counters and state; returns the code and sets *payload. A malformed
 * reply is a crash. */
static int read_reply(struct sb_op *op, const char **payload, size_t *n)
{
	struct sb_handle *h = op->h;
	int w = op->req.worker;
	sbp_reply_t r;
	if (op->how != SBX_REPLY || sbp_get_reply(op->reply.p, op->reply.len, &r) != 0) {
		h->loaded[w] = 0;
		h->dead = op->how == SBX_TIMEOUT ? SANDBOX_TIMEOUT : SANDBOX_CRASHED;
		if (h->dead == SANDBOX_TIMEOUT)
			snprintf(h->dead_msg, sizeof h->dead_msg,
			         "stopped after %lld ms: the script ran too long", (long long)op->ms);
		else
			snprintf(h->dead_msg, sizeof h->dead_msg,
			         "stopped: the script's worker process ended without an answer (it crashed)");
		return h->dead;
	}
	h->loaded[w] = r.held ? sbx_pool_gen(h->mod->pool, w) : 0;
	if (r.held) {
		h->memory = r.st.memory;
		h->peak = r.st.memory_peak > h->peak ? r.st.memory_peak : h->peak;
	}
	h->instructions = r.st.instructions;
	*payload = r.payload;
	*n = r.payload_len;
	if (r.st.dead) {
		h->dead = r.st.dead;
		snprintf(h->dead_msg, sizeof h->dead_msg, "%.*s", (int)*n, *payload ? *payload : "");
	}
	return r.code;
}

/* Pushes nil and {code=, message=}; returns 2. */
static int push_fail(lua_State *L, int code, const char *msg, size_t n)
{
	lua_pushnil(L);
	lua_createtable(L, 0, 2);
	lua_pushstring(L, sandbox_code_name(code));
	lua_setfield(L, -2, "code");
	lua_pushlstring(L, msg, n);
	lua_setfield(L, -2, "message");
	return 2;
}

static int dead_fail(lua_State *L, struct sb_handle *h)
{
	return push_fail(L, h->dead, h->dead_msg, strlen(h->dead_msg));
}

/* Pushes the outcome of a finished operation on L (results, or nil and err); returns how many.
 * Frees op. A load (STAT) gives the handle, at stack index 4 of l_load. */
static int finish(lua_State *L, struct sb_op *op)
{
	const char *p = NULL;
	size_t n = 0;
	int code = read_reply(op, &p, &n);
	int ret;
	if (code == SANDBOX_OK && op->type == SBP_STAT) {
		lua_pushvalue(L, 4);
		ret = 1;
	} else if (code == SANDBOX_OK) {
		char err[120];
		int k = wire_decode_values(L, p, n, NULL, SANDBOX_MAX_RESULTS, err, sizeof err);
		if (k < 0) {
			op->h->dead = SANDBOX_CRASHED;
			snprintf(op->h->dead_msg, sizeof op->h->dead_msg,
			         "the script's worker gave back bad data (%s)", err);
			ret = dead_fail(L, op->h);
		} else {
			ret = k;
		}
	} else if (code == SANDBOX_TIMEOUT || code == SANDBOX_CRASHED) {
		ret = dead_fail(L, op->h);
	} else {
		ret = push_fail(L, code, p ? p : "", n);
	}
	if (code != SANDBOX_OK && op->type == SBP_STAT) { /* the load failed: no handle */
		struct sb_ud *u = lua_touserdata(L, 4);
		u->h = NULL;
		op->h->closed = 1;
	}
	op_finished(op, L);
	return ret;
}

/* ------------------------------------------------------------------ waiting operations */

static int k_op(lua_State *L, int status, lua_KContext ctx);

/* The task is gone while the operation waits on a worker. */
static void cancel_op(task_t *t)
{
	struct sb_op *op = t->op;
	sbx_cancel(op->h->mod->pool, &op->req);
	op_finished(op, H->lua_closed ? NULL : H->L);
}

/* The task ended while running a host function for the operation. */
static void guard_op(task_t *t)
{
	struct sb_op *op = t->guard_ud;
	sbx_cancel(op->h->mod->pool, &op->req);
	op_finished(op, H->lua_closed ? NULL : H->L);
}

static void on_done(sbx_req_t *r, int how, const char *p, size_t n, int64_t ms)
{
	struct sb_op *op = r->ud;
	op->how = how;
	op->ms = ms;
	op->callback = 0;
	buf_reset(&op->reply);
	buf_add(&op->reply, p, n);
	if (op->task)
		task_resume(op->task, 0);
}

static void on_callback(sbx_req_t *r, const char *p, size_t n);

/* Sends the outcome of a host function (results from base+1, or the error on top). */
static void answer(struct sb_op *op, lua_State *L, int ok, int base)
{
	buf_t out = {0};
	if (ok) {
		wire_enc_t e = {.dir = WIRE_IN, .max_bytes = op->h->lim.memory};
		if (wire_encode_values(&e, L, base + 1, lua_gettop(L) - base, &out) != 0) {
			ok = 0;
			buf_reset(&out);
			buf_printf(&out, "the host function gave back data that cannot go into a sandbox: %s",
			           e.err);
		}
		wire_enc_free(&e);
	} else {
		const char *msg = lua_tostring(L, -1);
		buf_adds(&out, msg ? msg : "the host function failed");
	}
	lua_settop(L, base);
	sbx_answer(op->h->mod->pool, &op->req, ok, out.p ? out.p : "", out.len);
	buf_free(&out);
}

/* Pushes host function fn and the arguments of the CALLBACK in op->reply; returns nargs, or
 * -1 with an error message pushed. */
static int push_callback(lua_State *L, struct sb_op *op)
{
	wire_rd_t r = {.p = op->reply.p, .len = op->reply.len};
	uint32_t fn = wire_get_u32(&r);
	size_t n;
	const char *args = wire_get_str(&r, &n);
	if (r.bad || op->h->fns_ref == LUA_NOREF ||
	    (lua_rawgeti(L, LUA_REGISTRYINDEX, op->h->fns_ref), lua_rawgeti(L, -1, fn)) != LUA_TFUNCTION) {
		lua_pushliteral(L, "the script called a host function that does not exist");
		return -1;
	}
	lua_remove(L, -2);
	char err[120];
	int k = wire_decode_values(L, args, n, NULL, 250, err, sizeof err);
	if (k < 0) {
		lua_pop(L, 1);
		lua_pushfstring(L, "bad arguments from the script: %s", err);
		return -1;
	}
	return k;
}

/* The host function of a waiting operation returned (or raised): answer, wait again. */
static int k_answered(lua_State *L, int status, lua_KContext ctx)
{
	struct sb_op *op = (struct sb_op *)ctx;
	task_t *t = op->task;
	t->guard = NULL;
	t->guard_ud = NULL;
	answer(op, L, status == LUA_OK || status == LUA_YIELD, op->base);
	return task_yieldk(L, t, op, cancel_op, ctx, k_op);
}

/* Resumed: the operation ended (finish it) or its script calls a host function (run it). */
static int k_op(lua_State *L, int status, lua_KContext ctx)
{
	(void)status;
	struct sb_op *op = (struct sb_op *)ctx;
	lua_settop(L, op->base);
	if (!op->callback)
		return finish(L, op);
	int nargs = push_callback(L, op);
	if (nargs < 0) {
		answer(op, L, 0, op->base);
		return task_yieldk(L, op->task, op, cancel_op, ctx, k_op);
	}
	op->task->guard = guard_op;
	op->task->guard_ud = op;
	status = lua_pcallk(L, nargs, LUA_MULTRET, 0, ctx, k_answered);
	return k_answered(L, status, ctx);
}

static void on_callback(sbx_req_t *r, const char *p, size_t n)
{
	struct sb_op *op = r->ud;
	buf_reset(&op->reply);
	buf_add(&op->reply, p, n);
	op->callback = 1;
	if (op->task) {
		task_resume(op->task, 0);
		return;
	}
	/* blocking: run it here (it cannot wait) */
	lua_State *L = op->L;
	int base = lua_gettop(L);
	int nargs = push_callback(L, op);
	int ok = nargs >= 0 && lua_pcall(L, nargs, LUA_MULTRET, 0) == LUA_OK;
	op->callback = 0;
	answer(op, L, ok, base);
}

/* ------------------------------------------------------------------ running operations */

/* A new operation of h: its frame begun with the id and the clock. */
static struct sb_op *new_op(lua_State *L, struct sb_handle *h, unsigned type)
{
	struct sb_op *op = calloc(1, sizeof *op);
	if (!op)
		luaL_error(L, "out of memory");
	op->h = h;
	op->type = type;
	op->req.ud = op;
	op->req.prepare = prepare;
	op->req.on_done = on_done;
	op->req.on_callback = on_callback;
	op->req.timeout_ms = h->timeout_ms;
	sbp_frame_begin(&op->req.frame, type);
	wire_put_u32(&op->req.frame, h->id);
	wire_put_i64(&op->req.frame, clock_now_ms());
	return op;
}

/* Runs op (its frame complete) and returns its outcome on L: waits when the task may, blocks
 * otherwise. */
static int run_op(lua_State *L, struct sb_op *op)
{
	struct sb_handle *h = op->h;
	sbp_frame_end(&op->req.frame, 0);
	task_t *t = task_current(L);
	if (op->req.frame.oom || (t && t->guard == guard_op)) {
		const char *why = op->req.frame.oom
		                      ? "out of memory"
		                      : "a host function of a script cannot run a script itself";
		op_free(op);
		return luaL_error(L, "%s", why);
	}
	h->pending++;
	if (t) {
		op->task = t;
		op->base = lua_gettop(L);
		sbx_submit(h->mod->pool, h->worker, &op->req);
		return task_yieldk(L, t, op, cancel_op, (lua_KContext)op, k_op);
	}
	op->L = L;
	op->req.timeout_ms = h->sync_timeout_ms;
	if (sbx_run_sync(h->mod->pool, &op->req) != 0) {
		op_finished(op, L);
		return luaL_error(L, "a host function of a script cannot run a script itself");
	}
	return finish(L, op);
}

/* ------------------------------------------------------------------ arguments */

/* Appends the values at first..first+n-1 (plain data) to out as a message; 0, or -1 with the
 * reason in err (what: "sandbox call arguments", ...). */
static int encode(lua_State *L, struct sb_handle *h, int first, int n, const char *what, buf_t *out,
                  char *err, size_t errlen)
{
	wire_enc_t e = {.dir = WIRE_IN};
	size_t at = out->len;
	int rc = wire_encode_values(&e, L, first, n, out);
	wire_enc_free(&e);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", what, e.err);
		return -1;
	}
	if (out->len - at > h->lim.memory) {
		snprintf(err, errlen, "%s: about %d KiB of data does not fit in the sandbox's %d KiB", what,
		         (int)((out->len - at) / 1024), (int)(h->lim.memory / 1024));
		return -1;
	}
	return 0;
}

/* Appends the values as a str field of op's frame; on failure frees op and raises. */
static void put_values(lua_State *L, struct sb_op *op, int first, int n, const char *what)
{
	char err[300];
	buf_t msg = {0};
	if (encode(L, op->h, first, n, what, &msg, err, sizeof err) != 0) {
		buf_free(&msg);
		op_free(op);
		luaL_error(L, "%s", err);
	}
	wire_put_str(&op->req.frame, msg.p ? msg.p : "", msg.len);
	buf_free(&msg);
}

/* Raises unless the path argument is nil, a key, or an array of keys. */
static void check_path(lua_State *L, int idx)
{
	int t = lua_type(L, idx);
	if (t == LUA_TNONE || t == LUA_TNIL || t == LUA_TSTRING)
		return;
	luaL_argexpected(L, t == LUA_TTABLE, idx, "nil, a key or an array of keys");
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	luaL_argcheck(L, n <= SANDBOX_WIRE_MAX_DEPTH, idx, "the path is too long");
	for (lua_Integer i = 1; i <= n; i++) {
		int kt = lua_rawgeti(L, idx, i);
		luaL_argcheck(L, kt == LUA_TSTRING || kt == LUA_TNUMBER || kt == LUA_TBOOLEAN, idx,
		              "path keys are strings or numbers");
		lua_pop(L, 1);
	}
}

static lua_Integer opt_int_field(lua_State *L, int t, const char *name, lua_Integer def, lua_Integer min,
                                 lua_Integer max)
{
	lua_getfield(L, t, name);
	lua_Integer v = def;
	if (!lua_isnil(L, -1)) {
		int ok;
		lua_Number d = lua_tonumberx(L, -1, &ok);
		if (!ok || d != d || d < (lua_Number)min || d > (lua_Number)max)
			luaL_error(L, "sandbox option %s must be a number from %I to %I", name, min, max);
		v = (lua_Integer)d;
	}
	lua_pop(L, 1);
	return v;
}

static int is_builtin(const char *name)
{
	for (const char *const *n = sandbox_builtin_names; *n; n++)
		if (strcmp(*n, name) == 0)
			return 1;
	return 0;
}

/* Reads opts.env (at idx, may be nil) into h->env; raises for misuse. */
static void read_env(lua_State *L, int idx, struct sb_handle *h)
{
	if (lua_isnil(L, idx))
		return;
	luaL_argcheck(L, lua_istable(L, idx), 3, "env must be a table of plain data");
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "sandbox env: names must be strings");
		if (is_builtin(lua_tostring(L, -2)))
			luaL_error(L, "sandbox env: '%s' would replace a built-in", lua_tostring(L, -2));
		lua_pop(L, 1);
	}
	char err[300];
	if (encode(L, h, idx, 1, "sandbox env", &h->env, err, sizeof err) != 0)
		luaL_error(L, "%s", err);
}

/* Reads opts.functions (at idx, may be nil): name = function, or library = { name = function }.
 * Fills h->fns (the names, in order) and a registry array of the functions. */
static void read_functions(lua_State *L, int idx, struct sb_handle *h, int env_idx)
{
	if (lua_isnil(L, idx))
		return;
	luaL_argcheck(L, lua_istable(L, idx), 3, "functions must be a table of functions");
	lua_newtable(L); /* the names */
	int names = lua_gettop(L);
	lua_newtable(L); /* the functions */
	int fns = lua_gettop(L);
	lua_Integer n = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "sandbox functions: names must be strings");
		const char *name = lua_tostring(L, -2);
		if (is_builtin(name))
			luaL_error(L, "sandbox functions: '%s' would replace a built-in", name);
		if (env_idx && (lua_getfield(L, env_idx, name), !lua_isnil(L, -1)))
			luaL_error(L, "sandbox functions: '%s' is in env too", name);
		if (env_idx)
			lua_pop(L, 1);
		if (lua_isfunction(L, -1)) {
			lua_pushvalue(L, -2);
			lua_rawseti(L, names, ++n);
			lua_pushvalue(L, -1);
			lua_rawseti(L, fns, n);
		} else if (lua_istable(L, -1)) {
			int lib = lua_gettop(L);
			lua_pushnil(L);
			while (lua_next(L, lib)) {
				if (lua_type(L, -2) != LUA_TSTRING || !lua_isfunction(L, -1))
					luaL_error(
					    L, "sandbox functions: %s.* must be functions with string names",
					    name);
				lua_createtable(L, 2, 0);
				lua_pushstring(L, name);
				lua_rawseti(L, -2, 1);
				lua_pushvalue(L, -3);
				lua_rawseti(L, -2, 2);
				lua_rawseti(L, names, ++n);
				lua_rawseti(L, fns, n);
			}
		} else {
			luaL_error(L, "sandbox functions: '%s' must be a function or a table of them", name);
		}
		lua_pop(L, 1);
	}
	buf_t b = {0};
	wire_enc_t e = {.dir = WIRE_IN};
	wire_encode_values(&e, L, names, 1, &b);
	wire_enc_free(&e);
	h->fns = b;
	h->fns_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pop(L, 1);
}

/* ------------------------------------------------------------------ the Lua API */

static struct sb_module *module_of(lua_State *L)
{
	struct sb_module *mod = lua_touserdata(L, lua_upvalueindex(1));
	if (!mod->pool) {
		char exe[4096];
		size_t len = sizeof exe;
		if (uv_exepath(exe, &len) != 0)
			luaL_error(L, "sandbox: cannot find the candor binary to start workers");
		mod->pool = sbx_pool_new(H->loop, exe, mod->workers);
		if (!mod->pool)
			luaL_error(L, "sandbox: cannot start the workers");
	}
	return mod;
}

/** sandbox.load(source, [chunkname], [{memory_limit=, instruction_limit=,
 * batch_instruction_limit=, timeout_ms=, sync_timeout_ms=, env=, functions=}]) -> sb | nil, err */
static int l_load(lua_State *L)
{
	size_t len;
	const char *src = luaL_checklstring(L, 1, &len);
	const char *chunk = luaL_optstring(L, 2, "script");
	int has_opts = !lua_isnoneornil(L, 3);
	if (has_opts)
		luaL_checktype(L, 3, LUA_TTABLE);
	lua_settop(L, 3);
	struct sb_module *mod = module_of(L);
	struct sb_ud *u = lua_newuserdatauv(L, sizeof *u, 0); /* 4 */
	u->h = NULL;
	luaL_setmetatable(L, SB_MT);
	struct sb_handle *h = calloc(1, sizeof *h);
	if (!h)
		return luaL_error(L, "out of memory");
	u->h = h;
	h->mod = mod;
	h->fns_ref = LUA_NOREF;
	h->id = ++mod->next_id;
	h->worker = sbx_pool_pick(mod->pool);
	h->lim.memory = SANDBOX_DEFAULT_MEMORY;
	h->lim.instructions = SANDBOX_DEFAULT_INSTRUCTIONS;
	h->timeout_ms = SB_DEFAULT_TIMEOUT_MS;
	h->sync_timeout_ms = SB_DEFAULT_SYNC_TIMEOUT;
	if (chunk[0] == '=' || chunk[0] == '@')
		snprintf(h->name, sizeof h->name, "%s", chunk);
	else
		snprintf(h->name, sizeof h->name, "=%s", chunk);
	h->src = malloc(len ? len : 1);
	if (!h->src)
		return luaL_error(L, "out of memory");
	memcpy(h->src, src, len);
	h->src_len = len;
	if (has_opts) {
		h->lim.memory = (size_t)opt_int_field(L, 3, "memory_limit", SANDBOX_DEFAULT_MEMORY,
		                                      SANDBOX_MIN_MEMORY, (lua_Integer)1 << 32);
		h->lim.instructions = opt_int_field(L, 3, "instruction_limit", SANDBOX_DEFAULT_INSTRUCTIONS,
		                                    1, (lua_Integer)1 << 40);
		h->lim.batch_instructions =
		    opt_int_field(L, 3, "batch_instruction_limit", 0, 0, (lua_Integer)1 << 44);
		h->timeout_ms =
		    (unsigned)opt_int_field(L, 3, "timeout_ms", SB_DEFAULT_TIMEOUT_MS, 10, 600000);
		h->sync_timeout_ms =
		    (unsigned)opt_int_field(L, 3, "sync_timeout_ms", SB_DEFAULT_SYNC_TIMEOUT, 10, 10000);
		lua_getfield(L, 3, "env"); /* 5 */
		read_env(L, 5, h);
		lua_getfield(L, 3, "functions"); /* 6 */
		read_functions(L, 6, h, lua_istable(L, 5) ? 5 : 0);
	}
	if (!h->lim.batch_instructions)
		h->lim.batch_instructions = 20 * h->lim.instructions;
	lua_settop(L, 4);
	return run_op(L, new_op(L, h, SBP_STAT));
}

static void close_handle(struct sb_ud *u, lua_State *L)
{
	struct sb_handle *h = u->h;
	u->h = NULL;
	if (!h)
		return;
	h->closed = 1;
	if (h->pending == 0)
		release(h, L);
}

/** sb:data([path]) -> copy of the module (or of the value at path) | nil, err */
static int l_data(lua_State *L)
{
	struct sb_handle *h = check_handle(L);
	check_path(L, 2);
	lua_settop(L, 2);
	if (h->dead)
		return dead_fail(L, h);
	struct sb_op *op = new_op(L, h, SBP_DATA);
	put_values(L, op, 2, 1, "sandbox path");
	return run_op(L, op);
}

/** sb:call(path, ...) -> copies of the function's results | nil, err */
static int l_call(lua_State *L)
{
	struct sb_handle *h = check_handle(L);
	luaL_argexpected(L, !lua_isnoneornil(L, 2), 2, "a key or an array of keys");
	check_path(L, 2);
	struct sb_op *op = new_op(L, h, SBP_CALL);
	put_values(L, op, 2, 1, "sandbox path");
	put_values(L, op, 3, lua_gettop(L) - 2, "sandbox call arguments");
	if (h->dead) {
		op_free(op);
		return dead_fail(L, h);
	}
	return run_op(L, op);
}

/** sb:map(path, items, [args], [{instructions=}]) -> results, errors | nil, err: calls
 * fn(items[i], table.unpack(args)) for each item in one worker request; results[i] is the first
 * result of item i's call, errors[i] = {code=, message=} when it raised (the other items go on).
 * instructions: the budget of all the calls together (default: the load's). */
static int l_map(lua_State *L)
{
	struct sb_handle *h = check_handle(L);
	luaL_argexpected(L, !lua_isnoneornil(L, 2), 2, "a key or an array of keys");
	check_path(L, 2);
	luaL_checktype(L, 3, LUA_TTABLE);
	if (!lua_isnoneornil(L, 4))
		luaL_checktype(L, 4, LUA_TTABLE);
	lua_Integer batch = 0;
	if (!lua_isnoneornil(L, 5)) {
		luaL_checktype(L, 5, LUA_TTABLE);
		batch = opt_int_field(L, 5, "instructions", 0, 1, (lua_Integer)1 << 44);
	}
	lua_settop(L, 4);
	int nargs = 0;
	if (lua_istable(L, 4)) {
		nargs = (int)lua_rawlen(L, 4);
		luaL_argcheck(L, nargs <= 200, 4, "at most 200 arguments");
		luaL_checkstack(L, nargs, NULL);
		for (int i = 1; i <= nargs; i++)
			lua_rawgeti(L, 4, i);
	}
	struct sb_op *op = new_op(L, h, SBP_MAP);
	wire_put_i64(&op->req.frame, (int64_t)batch);
	put_values(L, op, 2, 1, "sandbox path");
	put_values(L, op, 3, 1, "sandbox map items");
	put_values(L, op, 5, nargs, "sandbox map arguments");
	lua_settop(L, 4);
	if (h->dead) {
		op_free(op);
		return dead_fail(L, h);
	}
	return run_op(L, op);
}

static void set_int(lua_State *L, const char *name, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, name);
}

/** sb:stats() -> {memory=, memory_peak=, memory_limit=, instructions= (last run, to 10000),
 * instruction_limit=, timeout_ms=, dead=} */
static int l_stats(lua_State *L)
{
	struct sb_handle *h = check_handle(L);
	lua_createtable(L, 0, 8);
	set_int(L, "memory", (lua_Integer)h->memory);
	set_int(L, "memory_peak", (lua_Integer)h->peak);
	set_int(L, "memory_limit", (lua_Integer)h->lim.memory);
	set_int(L, "instructions", (lua_Integer)h->instructions);
	set_int(L, "instruction_limit", (lua_Integer)h->lim.instructions);
	set_int(L, "timeout_ms", (lua_Integer)h->timeout_ms);
	if (h->dead)
		lua_pushstring(L, sandbox_code_name(h->dead));
	else
		lua_pushboolean(L, 0);
	lua_setfield(L, -2, "dead");
	return 1;
}

/** sb:close() frees the sandbox at once (also done by __gc). */
static int l_close(lua_State *L)
{
	close_handle(luaL_checkudata(L, 1, SB_MT), L);
	return 0;
}

/** sandbox.stats() -> {workers=, spawned=, killed=, crashed=, requests=} of the worker pool */
static int l_pool_stats(lua_State *L)
{
	struct sb_module *mod = lua_touserdata(L, lua_upvalueindex(1));
	sbx_pool_stats_t st = {0};
	if (mod->pool)
		sbx_pool_stats(mod->pool, &st);
	lua_createtable(L, 0, 5);
	set_int(L, "workers", st.workers);
	set_int(L, "spawned", st.spawned);
	set_int(L, "killed", st.killed);
	set_int(L, "crashed", st.crashed);
	set_int(L, "requests", st.requests);
	return 1;
}

/* At host close: the workers are killed with the pool. */
static int state_gc(lua_State *L)
{
	struct sb_module *mod = lua_touserdata(L, 1);
	sbx_pool_free(mod->pool);
	mod->pool = NULL;
	return 0;
}

int luaopen_core_sandbox(lua_State *L)
{
	static const luaL_Reg methods[] = {
	    {"data", l_data},   {"call", l_call},   {"map", l_map},
	    {"stats", l_stats}, {"close", l_close}, {NULL, NULL},
	};
	static const luaL_Reg fns[] = {{"load", l_load}, {"stats", l_pool_stats}, {NULL, NULL}};
	if (luaL_newmetatable(L, SB_MT)) {
		luaL_newlib(L, methods);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, l_close);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, l_close);
		lua_setfield(L, -2, "__close");
	}
	lua_pop(L, 1);
	lua_createtable(L, 0, 8);
	struct sb_module *mod = lua_newuserdatauv(L, sizeof *mod, 0);
	memset(mod, 0, sizeof *mod);
	mod->workers = SB_WORKERS;
	if (luaL_newmetatable(L, SB_STATE_MT)) {
		lua_pushcfunction(L, state_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	luaL_setfuncs(L, fns, 1);
	set_int(L, "DEFAULT_MEMORY_LIMIT", SANDBOX_DEFAULT_MEMORY);
	set_int(L, "DEFAULT_INSTRUCTION_LIMIT", SANDBOX_DEFAULT_INSTRUCTIONS);
	set_int(L, "DEFAULT_TIMEOUT_MS", SB_DEFAULT_TIMEOUT_MS);
	set_int(L, "DEFAULT_SYNC_TIMEOUT_MS", SB_DEFAULT_SYNC_TIMEOUT);
	return 1;
}
