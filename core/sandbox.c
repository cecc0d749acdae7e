/* A sandbox state: the allocator, the instruction budget and the death of a sandbox, its
 * allow-listed environment, and the operations a worker runs on it (see sandbox.h).
 *
 * Never allocate in the sandbox state outside a protected call: an allocation failure there
 * would have no handler and abort the process. Everything that may allocate in it runs inside
 * sb_run (a lua_pcall of a C function in the sandbox state). */
#include "sandbox_state.h"

#include "sandbox_wire.h"

#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SB_STEP 10000 /* instructions between two hook calls */
#define SB_BIG 1e18   /* "no limit" for the batch deadline */

static const char *const CODE_NAMES[SANDBOX_NCODES] = {
    "ok",        "syntax",  "runtime", "instructions", "memory",
    "forbidden", "timeout", "crashed", "instructions", "not_loaded",
};

const char *sandbox_code_name(int code)
{
	return code >= 0 && code < SANDBOX_NCODES ? CODE_NAMES[code] : "runtime";
}

/* ------------------------------------------------------------------ the counting allocator */

/* Refuses growth beyond the cap. Lua answers a refusal with an emergency collection and asks
 * once more for the same block; a second refusal of that same request is the moment Lua raises
 * its memory error, and the sandbox dies: every later growth is refused too. */
/* Refuses an allocation; the second refusal of the same request is the memory error. */
static void *refuse(sandbox_t *sb, void *ptr, size_t nsize)
{
	if (sb->dead == SB_ALIVE && sb->refused && sb->refused_ptr == ptr && sb->refused_size == nsize)
		sb->dead = SB_MEMORY;
	sb->refused = 1;
	sb->refused_ptr = ptr;
	sb->refused_size = nsize;
	return NULL;
}

static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	sandbox_t *sb = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		sb->used -= old;
		free(ptr);
		return NULL;
	}
	if (nsize > old) {
		size_t grow = nsize - old;
		if (sb->dead == SB_MEMORY || sb->used + grow > sb->limit || sb->used + grow < sb->used)
			return refuse(sb, ptr, nsize);
	}
	void *p = realloc(ptr, nsize);
	if (!p) /* the process itself is out of memory (RLIMIT_AS): the same as the cap */
		return refuse(sb, ptr, nsize);
	if (nsize > old)
		sb->refused = 0; /* (shrinks happen inside the emergency collection: they do not count) */
	sb->used = sb->used - old + nsize;
	if (sb->used > sb->peak)
		sb->peak = sb->used;
	return p;
}

sandbox_t *sb_of(lua_State *S)
{
	void *ud;
	lua_getallocf(S, &ud);
	return ud;
}

/* ------------------------------------------------------------------ budget and death */

static void sb_hook(lua_State *S, lua_Debug *ar);

/* Once dead, the hook fires on every instruction so nothing runs on while the call unwinds. */
static void arm_death(lua_State *S)
{
	lua_sethook(S, sb_hook, LUA_MASKCOUNT, 1);
}

/* Raises the death error; used while a dead sandbox unwinds. */
int sb_raise_dead(lua_State *S)
{
	sandbox_t *sb = sb_of(S);
	arm_death(S);
	lua_rawgeti(S, LUA_REGISTRYINDEX, sb->dead_msg_ref[sb->dead]);
	return lua_error(S);
}

/* Whether the budget of the run (or of the map) is spent; notes which. */
static int spent(sandbox_t *sb)
{
	if (sb->counted >= sb->run_end)
		return 1;
	if (sb->counted >= sb->batch_end) {
		sb->batch_over = 1;
		return 1;
	}
	return 0;
}

/* Shortens the hook interval so the hook fires when the nearest budget ends. */
static void fit_step(lua_State *S, sandbox_t *sb)
{
	double left = fmin(sb->run_end, sb->batch_end) - sb->counted;
	if (left < sb->step) {
		sb->step = left < 1 ? 1 : (int)left;
		lua_sethook(S, sb_hook, LUA_MASKCOUNT, sb->step);
	}
}

static void sb_hook(lua_State *S, lua_Debug *ar)
{
	(void)ar;
	sandbox_t *sb = sb_of(S);
	if (sb->dead == SB_ALIVE) {
		sb->counted += sb->step;
		if (!spent(sb)) {
			fit_step(S, sb);
			return;
		}
		sb->dead = SB_INSTRUCTIONS;
	}
	sb_raise_dead(S);
}

/* Charges cost instructions for work a C function is about to do; raises when the budget
 * cannot pay for it (the work is then not done). */
void sb_charge(lua_State *S, double cost)
{
	sandbox_t *sb = sb_of(S);
	if (sb->dead)
		sb_raise_dead(S);
	sb->counted += fmin(cost, SB_BIG);
	if (spent(sb)) {
		sb->dead = SB_INSTRUCTIONS;
		sb_raise_dead(S);
	}
	fit_step(S, sb);
}

/* Raises a "forbidden" error: "where: text", remembered so the caller can tell it apart. */
int sb_raise_forbidden(lua_State *S, const char *fmt, ...)
{
	sandbox_t *sb = sb_of(S);
	va_list ap;
	luaL_where(S, 1);
	va_start(ap, fmt);
	lua_pushvfstring(S, fmt, ap);
	va_end(ap);
	lua_concat(S, 2);
	lua_pushvalue(S, -1);
	lua_rawseti(S, LUA_REGISTRYINDEX, sb->forbidden_ref);
	return lua_error(S);
}

/* ------------------------------------------------------------------ protected runs */

/* Loads the chunk and runs it; keeps its first result as the module. */
static int p_load(lua_State *S)
{
	struct sb_ctx *ctx = lua_touserdata(S, 1);
	lua_settop(S, 0);
	int rc = luaL_loadbufferx(S, ctx->a, ctx->a_len, ctx->name, "t");
	if (rc == LUA_ERRSYNTAX)
		ctx->syntax = 1;
	if (rc == LUA_ERRMEM)
		ctx->sb->dead = SB_MEMORY;
	if (rc != LUA_OK)
		return lua_error(S);
	lua_call(S, 0, 1);
	lua_rawseti(S, LUA_REGISTRYINDEX, ctx->sb->module_ref);
	return 0;
}

/* Pushes the module value at the path (ctx->a), or nil (ctx->missing) if it leads nowhere;
 * the path as text ("a.b.1", or "(the module)") goes to ctx->out. */
static void walk_path(lua_State *S, struct sb_ctx *ctx)
{
	char err[120];
	int top = lua_gettop(S);
	if (wire_decode_values(S, ctx->a, ctx->a_len, NULL, 1, err, sizeof err) != 1)
		luaL_error(S, "bad path: %s", err);
	int path = top + 1;
	buf_reset(ctx->out);
	lua_rawgeti(S, LUA_REGISTRYINDEX, ctx->sb->module_ref);
	if (lua_isnil(S, path)) {
		lua_remove(S, path);
		buf_adds(ctx->out, "(the module)");
		return;
	}
	if (!lua_istable(S, path)) { /* one key */
		lua_newtable(S);
		lua_pushvalue(S, path);
		lua_rawseti(S, -2, 1);
		lua_replace(S, path);
	}
	lua_Integer n = (lua_Integer)lua_rawlen(S, path);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_rawgeti(S, path, i);
		buf_printf(ctx->out, "%s%s", i > 1 ? "." : "", luaL_tolstring(S, -1, NULL));
		lua_pop(S, 2);
		if (!lua_istable(S, -1)) {
			ctx->missing = 1;
			lua_pop(S, 1);
			lua_pushnil(S);
			continue;
		}
		lua_rawgeti(S, path, i);
		lua_rawget(S, -2);
		lua_remove(S, -2);
	}
	lua_remove(S, path);
}

/* Encodes values first.. of S into ctx->out; on failure the reason replaces them. */
static void copy_out(lua_State *S, struct sb_ctx *ctx, int first, int n)
{
	wire_enc_t e = {.dir = WIRE_OUT, .max_bytes = 8 * ctx->sb->limit + (1 << 20)};
	if (n > SANDBOX_MAX_RESULTS) {
		ctx->copy_failed = 1;
		buf_reset(ctx->out);
		buf_adds(ctx->out, "the script gave back more than 250 values");
		return;
	}
	if (wire_encode_values(&e, S, first, n, ctx->out) != 0) {
		ctx->copy_failed = 1;
		buf_reset(ctx->out);
		buf_adds(ctx->out, e.err);
	}
	wire_enc_free(&e);
}

/* Copies the module value at the path. */
static int p_data(lua_State *S)
{
	struct sb_ctx *ctx = lua_touserdata(S, 1);
	lua_settop(S, 0);
	walk_path(S, ctx);
	ctx->missing = 0; /* a path that leads nowhere gives nil */
	buf_reset(ctx->out);
	copy_out(S, ctx, 1, 1);
	return 0;
}

/* Pushes the function at the path; ctx->missing (and its message in ctx->out) when there is
 * none. */
static int get_function(lua_State *S, struct sb_ctx *ctx)
{
	walk_path(S, ctx);
	if (!lua_isfunction(S, -1)) {
		buf_t text = *ctx->out;
		*ctx->out = (buf_t){0};
		buf_printf(ctx->out, "the script has no function at %s", text.p ? text.p : "");
		buf_free(&text);
		ctx->missing = 1;
		return 0;
	}
	buf_reset(ctx->out);
	return 1;
}

/* Calls the function at the path with the arguments; copies its results. */
static int p_call(lua_State *S)
{
	struct sb_ctx *ctx = lua_touserdata(S, 1);
	char err[120];
	lua_settop(S, 0);
	if (!get_function(S, ctx))
		return 0;
	int nargs = wire_decode_values(S, ctx->b, ctx->b_len, NULL, 250, err, sizeof err);
	if (nargs < 0)
		return luaL_error(S, "bad arguments: %s", err);
	lua_call(S, nargs, LUA_MULTRET);
	copy_out(S, ctx, 1, lua_gettop(S));
	return 0;
}

/* Writes the text of the error value at idx to out, without allocating in S. */
static void error_text(lua_State *S, int idx, buf_t *out)
{
	size_t n;
	idx = lua_absindex(S, idx);
	switch (lua_type(S, idx)) {
	case LUA_TSTRING: {
		const char *s = lua_tolstring(S, idx, &n);
		buf_add(out, s, n);
		return;
	}
	case LUA_TNUMBER:
		if (lua_isinteger(S, idx))
			buf_printf(out, "%lld", (long long)lua_tointeger(S, idx));
		else
			buf_printf(out, "%.14g", (double)lua_tonumber(S, idx));
		return;
	case LUA_TTABLE:
		/* error{message = "..."}: look for the field without making a key string in S */
		if (lua_checkstack(S, 2)) {
			lua_pushnil(S);
			while (lua_next(S, idx)) {
				if (lua_type(S, -2) == LUA_TSTRING && lua_type(S, -1) == LUA_TSTRING &&
				    strcmp(lua_tostring(S, -2), "message") == 0) {
					const char *s = lua_tolstring(S, -1, &n);
					buf_add(out, s, n);
					lua_pop(S, 2);
					return;
				}
				lua_pop(S, 1);
			}
		}
		buf_adds(out, "the script raised an error that is a table without a message");
		return;
	default:
		buf_printf(out, "the script raised an error that is a %s", luaL_typename(S, idx));
		return;
	}
}

/* Whether the error value on top is the last "forbidden" error raised. */
static int is_forbidden(lua_State *S, sandbox_t *sb)
{
	if (!lua_checkstack(S, 1))
		return 0;
	lua_rawgeti(S, LUA_REGISTRYINDEX, sb->forbidden_ref);
	int forbidden = lua_type(S, -1) == LUA_TSTRING && lua_rawequal(S, -1, -2);
	lua_pop(S, 1);
	return forbidden;
}

/* Calls the function at the path for each item; writes results and errors (see sandbox_map). */
static int p_map(lua_State *S)
{
	struct sb_ctx *ctx = lua_touserdata(S, 1);
	sandbox_t *sb = ctx->sb;
	char err[120];
	lua_settop(S, 0);
	if (!get_function(S, ctx)) /* 1: the function */
		return 0;
	if (wire_decode_values(S, ctx->b, ctx->b_len, NULL, 1, err, sizeof err) != 1 || !lua_istable(S, 2))
		return luaL_error(S, "bad items: %s", err[0] ? err : "not a table");
	int nextra = wire_decode_values(S, ctx->c, ctx->c_len, NULL, 200, err, sizeof err);
	if (nextra < 0)
		return luaL_error(S, "bad arguments: %s", err);
	luaL_checkstack(S, nextra + 8, NULL);
	lua_Integer n = (lua_Integer)lua_rawlen(S, 2);
	buf_t errs = {0};
	uint32_t nres = 0, nerr = 0;
	wire_enc_t e = {.dir = WIRE_OUT, .max_bytes = 8 * sb->limit + (1 << 20)};
	wire_put_u32(ctx->out, 2);
	size_t res_at = wire_begin_table(&e, ctx->out);
	sb->batch_end = sb->counted + (double)sb->batch_limit;
	for (lua_Integer i = 1; i <= n; i++) {
		int top = lua_gettop(S);
		sb->run_end = sb->counted + (double)sb->instr_limit;
		fit_step(S, sb);
		lua_pushvalue(S, 1);
		lua_rawgeti(S, 2, i);
		for (int k = 0; k < nextra; k++)
			lua_pushvalue(S, 3 + k);
		int status = lua_pcall(S, 1 + nextra, 1, 0);
		if (status == LUA_ERRMEM && sb->dead == SB_ALIVE)
			sb->dead = SB_MEMORY;
		if (sb->dead) {
			buf_free(&errs);
			wire_enc_free(&e);
			return sb_raise_dead(S);
		}
		if (status != LUA_OK) {
			/* errors are written after the results: keep them aside, keyed by index */
			int forbidden = is_forbidden(S, sb);
			wire_put_integer(&errs, (int64_t)i);
			buf_t text = {0};
			error_text(S, -1, &text);
			wire_put_u8(&errs, forbidden ? 'f' : 'r');
			wire_put_str(&errs, text.p ? text.p : "", text.len);
			buf_free(&text);
			nerr++;
		} else if (!lua_isnil(S, -1)) {
			wire_put_integer(ctx->out, (int64_t)i);
			wire_enc_forget(&e);
			if (wire_encode(&e, S, -1, ctx->out) != 0) {
				ctx->copy_failed = 1;
				buf_reset(ctx->out);
				buf_adds(ctx->out, e.err);
				buf_free(&errs);
				wire_enc_free(&e);
				return 0;
			}
			nres++;
		}
		lua_settop(S, top);
	}
	wire_end_table(ctx->out, res_at, nres);
	/* the errors: i -> { code =, message = } */
	size_t err_at = wire_begin_table(&e, ctx->out);
	wire_rd_t r = {.p = errs.p, .len = errs.len};
	for (uint32_t k = 0; k < nerr; k++) {
		wire_get_u8(&r); /* 'i' */
		int64_t i = wire_get_i64(&r);
		unsigned kind = wire_get_u8(&r);
		size_t tl;
		const char *text = wire_get_str(&r, &tl);
		wire_put_integer(ctx->out, i);
		size_t one = wire_begin_table(&e, ctx->out);
		wire_put_text(&e, ctx->out, "code", 4);
		const char *code = kind == 'f' ? "forbidden" : "runtime";
		wire_put_text(&e, ctx->out, code, strlen(code));
		wire_put_text(&e, ctx->out, "message", 7);
		wire_put_text(&e, ctx->out, text ? text : "", tl);
		wire_end_table(ctx->out, one, 2);
	}
	wire_end_table(ctx->out, err_at, nerr);
	buf_free(&errs);
	wire_enc_free(&e);
	if (ctx->out->oom)
		return luaL_error(S, "out of memory copying the results");
	return 0;
}

/* Runs f(ctx) in the sandbox with a fresh instruction budget. Returns a code; on failure
 * ctx->out holds the error text. */
static int sb_run(sandbox_t *sb, lua_CFunction f, struct sb_ctx *ctx)
{
	lua_State *S = sb->S;
	lua_settop(S, 0);
	lua_pushboolean(S, 0);
	lua_rawseti(S, LUA_REGISTRYINDEX, sb->forbidden_ref);
	sb->run_start = sb->counted;
	sb->run_end = sb->counted + (double)sb->instr_limit;
	sb->batch_end = SB_BIG;
	sb->batch_over = 0;
	sb->step = sb->instr_limit < SB_STEP ? (int)sb->instr_limit : SB_STEP;
	lua_sethook(S, sb_hook, LUA_MASKCOUNT, sb->step);
	lua_pushcfunction(S, f);
	lua_pushlightuserdata(S, ctx);
	int status = lua_pcall(S, 1, 0, 0);
	lua_sethook(S, NULL, 0, 0);
	sb->last_instr = (long long)(sb->counted - sb->run_start);
	if (status == LUA_OK) {
		lua_settop(S, 0);
		if (ctx->missing)
			return SANDBOX_RUNTIME; /* there is no function at the path: out says so */
		return ctx->copy_failed ? SANDBOX_RUNTIME : SANDBOX_OK;
	}
	if (status == LUA_ERRMEM && sb->dead == SB_ALIVE)
		sb->dead = SB_MEMORY;
	buf_reset(ctx->out);
	if (sb->dead == SB_INSTRUCTIONS && sb->batch_over) {
		/* the calls together ran out, not one call: the state is sound, the map is over */
		sb->dead = SB_ALIVE;
		lua_settop(S, 0);
		buf_printf(ctx->out, "the calls of one batch used more than %lld instructions in all",
		           sb->batch_limit);
		return SANDBOX_BATCH;
	}
	if (sb->dead) {
		lua_rawgeti(S, LUA_REGISTRYINDEX, sb->dead_msg_ref[sb->dead]);
		error_text(S, -1, ctx->out);
		lua_settop(S, 0);
		return sb->dead == SB_INSTRUCTIONS ? SANDBOX_INSTRUCTIONS : SANDBOX_MEMORY;
	}
	error_text(S, -1, ctx->out);
	int code = ctx->syntax ? SANDBOX_SYNTAX : is_forbidden(S, sb) ? SANDBOX_FORBIDDEN : SANDBOX_RUNTIME;
	lua_settop(S, 0);
	return code;
}

/* ------------------------------------------------------------------ the API */

static void death_text(const sandbox_t *sb, buf_t *out)
{
	buf_reset(out);
	if (sb->dead == SB_INSTRUCTIONS)
		buf_printf(out,
		           "the script ran longer than its budget of %lld instructions (an endless loop?)",
		           sb->instr_limit);
	else if (sb->limit % (1024 * 1024) == 0)
		buf_printf(out, "the script used more than %zu MiB", sb->limit / (1024 * 1024));
	else
		buf_printf(out, "the script used more than %zu KiB", sb->limit / 1024);
}

/* The common failure of a dead (or never set up) sandbox. */
static int dead_fail(sandbox_t *sb, buf_t *out)
{
	if (!sb->dead)
		sb->dead = SB_MEMORY;
	death_text(sb, out);
	return sb->dead == SB_INSTRUCTIONS ? SANDBOX_INSTRUCTIONS : SANDBOX_MEMORY;
}

sandbox_t *sandbox_new(const sandbox_limits_t *lim)
{
	sandbox_t *sb = calloc(1, sizeof *sb);
	if (!sb)
		return NULL;
	sb->limit = lim->memory < SANDBOX_MIN_MEMORY ? SANDBOX_MIN_MEMORY : lim->memory;
	sb->instr_limit = lim->instructions > 0 ? lim->instructions : 1;
	sb->batch_limit = lim->batch_instructions > 0 ? lim->batch_instructions : 20 * sb->instr_limit;
	sb->batch_end = SB_BIG;
	return sb;
}

void sandbox_free(sandbox_t *sb)
{
	if (!sb)
		return;
	if (sb->S)
		lua_close(sb->S);
	free(sb);
}

void sandbox_set_host(sandbox_t *sb, sandbox_host_fn fn, void *ud)
{
	sb->host_fn = fn;
	sb->host_ud = ud;
}

void sandbox_stats(const sandbox_t *sb, sandbox_stats_t *st)
{
	st->memory = sb->used;
	st->memory_peak = sb->peak;
	st->instructions = sb->last_instr;
	st->dead = sb->dead == SB_INSTRUCTIONS ? SANDBOX_INSTRUCTIONS
	           : sb->dead == SB_MEMORY     ? SANDBOX_MEMORY
	                                       : 0;
}

int sandbox_load(sandbox_t *sb, const char *src, size_t len, const char *chunkname, const char *env,
                 size_t env_len, const char *fns, size_t fns_len, buf_t *out)
{
	if (sb->S || sb->dead)
		return dead_fail(sb, out);
	struct sb_ctx ctx = {.sb = sb,
	                     .a = src,
	                     .a_len = len,
	                     .b = env,
	                     .b_len = env_len,
	                     .c = fns,
	                     .c_len = fns_len,
	                     .name = chunkname,
	                     .out = out};
	sb->S = lua_newstate(sb_alloc, sb);
	if (!sb->S)
		return dead_fail(sb, out);
	if (sb_run(sb, sb_env_setup, &ctx) != SANDBOX_OK) {
		sb->dead = SB_MEMORY;
		return dead_fail(sb, out);
	}
	if (len > 0 && src[0] == LUA_SIGNATURE[0]) {
		buf_reset(out);
		buf_adds(out, "precompiled Lua (bytecode) is not accepted: give the script as text");
		return SANDBOX_FORBIDDEN;
	}
	buf_reset(out);
	return sb_run(sb, p_load, &ctx);
}

/* Runs operation f with its inputs on a live sandbox. */
static int operate(sandbox_t *sb, lua_CFunction f, const char *a, size_t a_len, const char *b, size_t b_len,
                   const char *c, size_t c_len, buf_t *out)
{
	if (!sb->S || sb->dead)
		return dead_fail(sb, out);
	struct sb_ctx ctx = {
	    .sb = sb, .a = a, .a_len = a_len, .b = b, .b_len = b_len, .c = c, .c_len = c_len, .out = out};
	return sb_run(sb, f, &ctx);
}

int sandbox_data(sandbox_t *sb, const char *path, size_t path_len, buf_t *out)
{
	return operate(sb, p_data, path, path_len, NULL, 0, NULL, 0, out);
}

int sandbox_call(sandbox_t *sb, const char *path, size_t path_len, const char *args, size_t args_len,
                 buf_t *out)
{
	return operate(sb, p_call, path, path_len, args, args_len, NULL, 0, out);
}

int sandbox_map(sandbox_t *sb, const char *path, size_t path_len, const char *items, size_t items_len,
                const char *extra, size_t extra_len, long long batch, buf_t *out)
{
	long long saved = sb->batch_limit;
	if (batch > 0)
		sb->batch_limit = batch;
	int rc = operate(sb, p_map, path, path_len, items, items_len, extra, extra_len, out);
	sb->batch_limit = saved;
	return rc;
}
