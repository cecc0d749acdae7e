/* The environment a sandboxed script sees (see sandbox.h): allow-listed, read-only globals and
 * libraries, pcall/xpcall that cannot catch the sandbox's death, the clock of the host, priced
 * versions of the library functions that loop in C over sizes the script gives, and host
 * functions. */
#include "sandbox_state.h"

#include "clock.h"
#include "sandbox_price.h"
#include "sandbox_wire.h"

#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <string.h>

static const char *key_text(lua_State *S, int idx)
{
	int t = lua_type(S, idx);
	if (t == LUA_TSTRING || t == LUA_TNUMBER)
		return lua_tostring(S, idx); /* converts the argument's own slot only */
	return lua_pushfstring(S, "(%s)", luaL_typename(S, idx));
}

/* __index of the globals' backing table: the name is not on the allow-list. */
static int unknown_global(lua_State *S)
{
	return sb_raise_forbidden(S, "unknown global '%s'", key_text(S, 2));
}

/* __newindex of the globals table. */
static int assign_global(lua_State *S)
{
	return sb_raise_forbidden(S,
	                          "cannot set global '%s': scripts have no global variables "
	                          "(declare it local)",
	                          key_text(S, 2));
}

/* __index of a library's real table (upvalue 1: its name): the field is not there. */
static int unknown_field(lua_State *S)
{
	return sb_raise_forbidden(S, "'%s.%s' is not available in scripts",
	                          lua_tostring(S, lua_upvalueindex(1)), key_text(S, 2));
}

/* __newindex of a library proxy (upvalue 1: its name). */
static int readonly_field(lua_State *S)
{
	const char *lib = lua_tostring(S, lua_upvalueindex(1));
	return sb_raise_forbidden(S, "'%s' is read-only (cannot set %s.%s)", lib, lib, key_text(S, 2));
}

/* The iterator pairs() gives for a library proxy: walks the real table (upvalue 1). */
static int proxy_next(lua_State *S)
{
	lua_settop(S, 2);
	if (lua_next(S, lua_upvalueindex(1)))
		return 2;
	lua_pushnil(S);
	return 1;
}

/* __pairs of a library proxy (upvalue 1: the iterator). */
static int proxy_pairs(lua_State *S)
{
	lua_pushvalue(S, lua_upvalueindex(1));
	lua_pushvalue(S, 1);
	lua_pushnil(S);
	return 3;
}

/* Replaces the library table on top with a read-only proxy (also on top). */
static void make_proxy(lua_State *S, const char *name)
{
	int real = lua_gettop(S);
	lua_createtable(S, 0, 1); /* the real table's metatable: unknown fields raise */
	lua_pushstring(S, name);
	lua_pushcclosure(S, unknown_field, 1);
	lua_setfield(S, -2, "__index");
	lua_setmetatable(S, real);
	lua_newtable(S); /* the proxy */
	lua_createtable(S, 0, 4);
	lua_pushvalue(S, real);
	lua_setfield(S, -2, "__index");
	lua_pushstring(S, name);
	lua_pushcclosure(S, readonly_field, 1);
	lua_setfield(S, -2, "__newindex");
	lua_pushboolean(S, 0);
	lua_setfield(S, -2, "__metatable");
	lua_pushvalue(S, real);
	lua_pushcclosure(S, proxy_next, 1);
	lua_pushcclosure(S, proxy_pairs, 1);
	lua_setfield(S, -2, "__pairs");
	lua_setmetatable(S, -2);
	lua_replace(S, real);
}

/* pcall that cannot catch the death of the sandbox. */
static int sb_pcall(lua_State *S)
{
	sandbox_t *sb = sb_of(S);
	luaL_checkany(S, 1);
	if (sb->dead)
		return sb_raise_dead(S);
	int status = lua_pcall(S, lua_gettop(S) - 1, LUA_MULTRET, 0);
	if (status == LUA_ERRMEM && sb->dead == SB_ALIVE)
		sb->dead = SB_MEMORY;
	if (sb->dead)
		return sb_raise_dead(S);
	luaL_checkstack(S, 1, NULL);
	lua_pushboolean(S, status == LUA_OK);
	lua_insert(S, 1);
	return lua_gettop(S);
}

/* The message handler xpcall really installs (upvalue 1: the script's handler). Lua calls a
 * message handler where the error is raised; the death error is raised inside the count hook,
 * where hooks are off, so the script's handler would run there unmetered: once the sandbox is
 * dead the error passes through untouched. */
static int guarded_handler(lua_State *S)
{
	if (sb_of(S)->dead)
		return 1;
	lua_pushvalue(S, lua_upvalueindex(1));
	lua_insert(S, 1);
	lua_call(S, lua_gettop(S) - 1, 1);
	return 1;
}

/* xpcall(f, handler, ...) with the same rule as pcall. */
static int sb_xpcall(lua_State *S)
{
	sandbox_t *sb = sb_of(S);
	int n = lua_gettop(S);
	luaL_checktype(S, 2, LUA_TFUNCTION);
	if (sb->dead)
		return sb_raise_dead(S);
	lua_pushvalue(S, 2);
	lua_pushcclosure(S, guarded_handler, 1);
	lua_pushvalue(S, 1);
	lua_replace(S, 2);
	lua_replace(S, 1); /* guarded handler, f, args... */
	int status = lua_pcall(S, n - 2, LUA_MULTRET, 1);
	if (status == LUA_ERRMEM && sb->dead == SB_ALIVE)
		sb->dead = SB_MEMORY;
	if (sb->dead)
		return sb_raise_dead(S);
	lua_pushboolean(S, status == LUA_OK);
	lua_replace(S, 1);
	return lua_gettop(S);
}

/* setmetatable without finalizers (a __gc would run at any allocation, even at close). */
static int sb_setmetatable(lua_State *S)
{
	int t = lua_type(S, 2);
	luaL_checktype(S, 1, LUA_TTABLE);
	luaL_argexpected(S, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
	if (t == LUA_TTABLE) {
		lua_pushliteral(S, "__gc");
		if (lua_rawget(S, 2) != LUA_TNIL)
			return sb_raise_forbidden(S, "metatables with __gc are not allowed in scripts");
		lua_pop(S, 1);
	}
	if (luaL_getmetafield(S, 1, "__metatable") != LUA_TNIL)
		return luaL_error(S, "cannot change a protected metatable");
	lua_settop(S, 2);
	lua_setmetatable(S, 1);
	return 1;
}

/* Calls the original function (upvalue 1) with the same arguments; returns its results. */
static int call_original(lua_State *S)
{
	int nargs = lua_gettop(S);
	lua_pushvalue(S, lua_upvalueindex(1));
	lua_insert(S, 1);
	lua_call(S, nargs, LUA_MULTRET);
	return lua_gettop(S);
}

/* os.time([t]): without t, the host's clock (the virtual clock in tests). */
static int sb_os_time(lua_State *S)
{
	if (lua_isnoneornil(S, 1)) {
		lua_pushinteger(S, (lua_Integer)(clock_now_ms() / 1000));
		return 1;
	}
	lua_settop(S, 1);
	return call_original(S);
}

/* os.date([format [, time]]): without time, the host's clock. */
static int sb_os_date(lua_State *S)
{
	lua_settop(S, 2);
	if (lua_isnil(S, 1)) {
		lua_pushliteral(S, "%c");
		lua_replace(S, 1);
	}
	if (lua_isnil(S, 2)) {
		lua_pushinteger(S, (lua_Integer)(clock_now_ms() / 1000));
		lua_replace(S, 2);
	}
	return call_original(S);
}

/* string.find/match/gmatch/gsub (upvalue 1: the original; upvalue 2: its name): pattern
 * matching runs in C, out of the hook's sight (('a'):rep(2e4):find('.-b') alone takes
 * seconds), so each call is priced first; calls priced over SANDBOX_MAX_MATCH_COST are
 * refused, the others charged to the budget. */
static int sb_pattern_call(lua_State *S)
{
	const char *name = lua_tostring(S, lua_upvalueindex(2));
	size_t len, plen;
	luaL_checklstring(S, 1, &len);
	const char *pat = luaL_checklstring(S, 2, &plen);
	int is_find = strcmp(name, "find") == 0, is_gmatch = strcmp(name, "gmatch") == 0;
	long long init = strcmp(name, "gsub") == 0 ? 1 : (long long)luaL_optinteger(S, 3, 1);
	double n = sandbox_searched_length(len, init);
	double cost = is_find && lua_toboolean(S, 4) ? n * ((double)plen + 1)
	                                             : sandbox_match_cost(pat, plen, n, !is_gmatch);
	if (cost > SANDBOX_MAX_MATCH_COST)
		return sb_raise_forbidden(S,
		                          "string.%s: this pattern is too costly on a text of %I bytes "
		                          "(simplify the pattern or search a shorter text)",
		                          name, (lua_Integer)len);
	sb_charge(S, cost / 64);
	lua_pushvalue(S, lua_upvalueindex(1));
	lua_insert(S, 1);
	lua_call(S, lua_gettop(S) - 1, LUA_MULTRET);
	return lua_gettop(S);
}

/* string.rep(s, n [, sep]): one copy per step in C, charged (an empty string repeated 2^63
 * times makes nothing, but Lua would loop 2^63 times: it is charged, and answered here). */
static int sb_rep(lua_State *S)
{
	size_t l, lsep;
	luaL_checklstring(S, 1, &l);
	lua_Integer n = luaL_checkinteger(S, 2);
	luaL_optlstring(S, 3, "", &lsep);
	/* a result larger than the cap fails on its allocation (a memory error), before any loop */
	if ((double)n * (double)(l + lsep) <= (double)sb_of(S)->limit)
		sb_charge(S, sandbox_rep_cost(l, (long long)n, lsep));
	if (n <= 0 || l + lsep == 0) {
		lua_pushliteral(S, "");
		return 1;
	}
	return call_original(S);
}

/* The length of the table argument at idx, as the table library reads it (__len included). */
static lua_Integer len_of(lua_State *S, int idx)
{
	luaL_checkany(S, idx);
	return luaL_len(S, idx);
}

/* table.move(a1, f, e, t [, a2]): e - f + 1 element copies. */
static int sb_move(lua_State *S)
{
	sb_charge(S, sandbox_span_cost(luaL_checkinteger(S, 2), luaL_checkinteger(S, 3)));
	return call_original(S);
}

/* table.insert(t, [pos,] v): shifts #t - pos + 1 elements. */
static int sb_insert(lua_State *S)
{
	if (lua_gettop(S) == 3)
		sb_charge(S, sandbox_span_cost(luaL_checkinteger(S, 2), len_of(S, 1) + 1));
	return call_original(S);
}

/* table.remove(t [, pos]): shifts #t - pos elements. */
static int sb_remove(lua_State *S)
{
	if (lua_gettop(S) >= 2)
		sb_charge(S, sandbox_span_cost(luaL_checkinteger(S, 2), len_of(S, 1)));
	return call_original(S);
}

/* table.concat(t [, sep [, i [, j]]]) and table.unpack(t [, i [, j]]): j - i + 1 elements. */
static int sb_span(lua_State *S)
{
	int first = (int)lua_tointeger(S, lua_upvalueindex(2)); /* where i is */
	lua_Integer i = luaL_optinteger(S, first, 1);
	lua_Integer j = lua_isnoneornil(S, first + 1) ? len_of(S, 1) : luaL_checkinteger(S, first + 1);
	sb_charge(S, sandbox_span_cost(i, j));
	lua_pushvalue(S, lua_upvalueindex(1));
	lua_insert(S, 1);
	lua_call(S, lua_gettop(S) - 1, LUA_MULTRET);
	return lua_gettop(S);
}

/* table.sort(t [, comp]): n log n comparisons (those in Lua are counted anyway). */
static int sb_sort(lua_State *S)
{
	double n = (double)len_of(S, 1);
	if (n > 1)
		sb_charge(S, n * log2(n));
	return call_original(S);
}

/* string.byte(s [, i [, j]]): up to j - i + 1 values. */
static int sb_byte(lua_State *S)
{
	size_t l;
	luaL_checklstring(S, 1, &l);
	lua_Integer i = luaL_optinteger(S, 2, 1);
	sb_charge(S, fmin(sandbox_span_cost(i, luaL_optinteger(S, 3, i)), (double)l));
	return call_original(S);
}

/* A host function (upvalue 1: its number): the arguments go to the host as data, its results
 * come back as data; its failure is a runtime error of the script. */
static int sb_host_call(lua_State *S)
{
	sandbox_t *sb = sb_of(S);
	uint32_t fn = (uint32_t)lua_tointeger(S, lua_upvalueindex(1));
	if (!sb->host_fn)
		return luaL_error(S, "host functions are not available here");
	buf_t args = {0}, res = {0};
	wire_enc_t e = {.dir = WIRE_OUT, .max_bytes = sb->limit};
	int rc = wire_encode_values(&e, S, 1, lua_gettop(S), &args);
	wire_enc_free(&e);
	if (rc != 0) {
		buf_free(&args);
		lua_pushstring(S, e.err);
		return lua_error(S);
	}
	rc = sb->host_fn(sb->host_ud, fn, args.p, args.len, &res);
	buf_free(&args);
	if (rc != 0) {
		lua_pushlstring(S, res.p ? res.p : "the host function failed", res.p ? res.len : 24);
		buf_free(&res);
		return lua_error(S);
	}
	char err[120];
	lua_settop(S, 0);
	int n = wire_decode_values(S, res.p, res.len, NULL, SANDBOX_MAX_RESULTS, err, sizeof err);
	buf_free(&res);
	if (n < 0)
		return luaL_error(S, "the host function gave back bad data: %s", err);
	return n;
}

static const char *const BASE_ALLOWED[] = {
    "assert", "error",    "ipairs",   "next", "pairs",        "rawequal", "rawlen",
    "select", "tonumber", "tostring", "type", "getmetatable", NULL,
};

const char *const sandbox_builtin_names[] = {
    "assert", "error",    "ipairs",   "next", "pairs",        "rawequal",     "rawlen",
    "select", "tonumber", "tostring", "type", "getmetatable", "setmetatable", "pcall",
    "xpcall", "string",   "table",    "math", "utf8",         "os",           NULL,
};

/* Replaces lib[name] with f, which gets the original as upvalue 1 (and extra upvalues pushed
 * before the call: n of them). */
static void wrap(lua_State *S, int lib, const char *name, lua_CFunction f, int n)
{
	lua_getfield(S, lib, name);
	lua_insert(S, -1 - n);
	lua_pushcclosure(S, f, 1 + n);
	lua_setfield(S, lib, name);
}

/* Registers host function number i under path (a string or { "library", "name" }) on top of
 * the stack; libraries of host functions collect in libs (a table: name -> real table). */
static void add_host_fn(lua_State *S, int back, int libs, lua_Integer i)
{
	int path = lua_gettop(S);
	lua_pushinteger(S, i);
	lua_pushcclosure(S, sb_host_call, 1);
	if (lua_type(S, path) == LUA_TSTRING) {
		lua_pushvalue(S, path);
		lua_insert(S, -2);
		lua_rawset(S, back);
		return;
	}
	lua_rawgeti(S, path, 1);
	if (lua_rawget(S, libs) == LUA_TNIL) {
		lua_pop(S, 1);
		lua_newtable(S);
		lua_rawgeti(S, path, 1);
		lua_pushvalue(S, -2);
		lua_rawset(S, libs);
	}
	lua_rawgeti(S, path, 2);
	lua_pushvalue(S, -3);
	lua_rawset(S, -3);
	lua_pop(S, 2);
}

/* Sets up a fresh sandbox state: libraries, the allow-listed environment, env constants and
 * host functions. */
int sb_env_setup(lua_State *S)
{
	struct sb_ctx *ctx = lua_touserdata(S, 1);
	sandbox_t *sb = ctx->sb;
	lua_settop(S, 0);
	/* registry slots, made now so that filling them later never allocates */
	lua_pushboolean(S, 0);
	sb->module_ref = luaL_ref(S, LUA_REGISTRYINDEX);
	lua_pushboolean(S, 0);
	sb->forbidden_ref = luaL_ref(S, LUA_REGISTRYINDEX);
	lua_pushliteral(S, "the sandbox is alive");
	sb->dead_msg_ref[SB_ALIVE] = luaL_ref(S, LUA_REGISTRYINDEX);
	lua_pushfstring(S, "the script ran longer than its budget of %I instructions (an endless loop?)",
	                (lua_Integer)sb->instr_limit);
	sb->dead_msg_ref[SB_INSTRUCTIONS] = luaL_ref(S, LUA_REGISTRYINDEX);
	if (sb->limit % (1024 * 1024) == 0)
		lua_pushfstring(S, "the script used more than %d MiB", (int)(sb->limit / (1024 * 1024)));
	else
		lua_pushfstring(S, "the script used more than %d KiB", (int)(sb->limit / 1024));
	sb->dead_msg_ref[SB_MEMORY] = luaL_ref(S, LUA_REGISTRYINDEX);

	luaL_requiref(S, LUA_GNAME, luaopen_base, 0);        /* 1 */
	luaL_requiref(S, LUA_STRLIBNAME, luaopen_string, 0); /* 2 */
	luaL_requiref(S, LUA_TABLIBNAME, luaopen_table, 0);  /* 3 */
	luaL_requiref(S, LUA_MATHLIBNAME, luaopen_math, 0);  /* 4 */
	luaL_requiref(S, LUA_UTF8LIBNAME, luaopen_utf8, 0);  /* 5 */
	luaL_requiref(S, LUA_OSLIBNAME, luaopen_os, 0);      /* 6 */

	lua_newtable(S); /* 7: the globals' backing table */
	const int back = 7;
	for (const char *const *n = BASE_ALLOWED; *n; n++) {
		lua_getfield(S, 1, *n);
		lua_setfield(S, back, *n);
	}
	lua_pushcfunction(S, sb_pcall);
	lua_setfield(S, back, "pcall");
	lua_pushcfunction(S, sb_xpcall);
	lua_setfield(S, back, "xpcall");
	lua_pushcfunction(S, sb_setmetatable);
	lua_setfield(S, back, "setmetatable");

	/* string: no dump; priced pattern matching and repetition; strings' own metatable is
	 * locked and reads the real table */
	lua_pushnil(S);
	lua_setfield(S, 2, "dump");
	static const char *const PATTERN_FNS[] = {"find", "match", "gmatch", "gsub", NULL};
	for (const char *const *f = PATTERN_FNS; *f; f++) {
		lua_pushstring(S, *f);
		wrap(S, 2, *f, sb_pattern_call, 1);
	}
	wrap(S, 2, "rep", sb_rep, 0);
	wrap(S, 2, "byte", sb_byte, 0);
	/* table: functions that loop in C over a range the script gives */
	wrap(S, 3, "move", sb_move, 0);
	wrap(S, 3, "insert", sb_insert, 0);
	wrap(S, 3, "remove", sb_remove, 0);
	wrap(S, 3, "sort", sb_sort, 0);
	lua_pushinteger(S, 3);
	wrap(S, 3, "concat", sb_span, 1);
	lua_pushinteger(S, 2);
	wrap(S, 3, "unpack", sb_span, 1);
	lua_pushliteral(S, "");
	lua_getmetatable(S, -1);
	lua_pushboolean(S, 0);
	lua_setfield(S, -2, "__metatable");
	lua_pop(S, 2);
	static const char *const LIBS[] = {"string", "table", "math", "utf8"}; /* at 2, 3, 4, 5 */
	for (int i = 0; i < 4; i++) {
		lua_pushvalue(S, 2 + i);
		make_proxy(S, LIBS[i]);
		lua_setfield(S, back, LIBS[i]);
	}

	/* os: the clock only */
	lua_createtable(S, 0, 4);
	lua_getfield(S, 6, "time");
	lua_pushcclosure(S, sb_os_time, 1);
	lua_setfield(S, -2, "time");
	lua_getfield(S, 6, "date");
	lua_pushcclosure(S, sb_os_date, 1);
	lua_setfield(S, -2, "date");
	lua_getfield(S, 6, "difftime");
	lua_setfield(S, -2, "difftime");
	lua_getfield(S, 6, "clock");
	lua_setfield(S, -2, "clock");
	make_proxy(S, "os");
	lua_setfield(S, back, "os");

	/* constants from the host */
	char err[120];
	if (ctx->b && wire_decode_values(S, ctx->b, ctx->b_len, NULL, 1, err, sizeof err) == 1 &&
	    lua_istable(S, -1)) {
		lua_pushnil(S);
		while (lua_next(S, -2)) {
			lua_pushvalue(S, -2);
			lua_insert(S, -2);
			lua_rawset(S, back);
		}
	}
	lua_settop(S, back);
	/* host functions */
	if (ctx->c && wire_decode_values(S, ctx->c, ctx->c_len, NULL, 1, err, sizeof err) == 1 &&
	    lua_istable(S, -1)) {
		int names = lua_gettop(S);
		lua_newtable(S);
		int libs = lua_gettop(S);
		lua_Integer n = (lua_Integer)lua_rawlen(S, names);
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(S, names, i);
			add_host_fn(S, back, libs, i);
			lua_settop(S, libs);
		}
		lua_pushnil(S);
		while (lua_next(S, libs)) {
			make_proxy(S, lua_tostring(S, -2));
			lua_pushvalue(S, -2);
			lua_insert(S, -2);
			lua_rawset(S, back);
		}
	}
	lua_settop(S, back);

	lua_createtable(S, 0, 1); /* unknown names raise */
	lua_pushcfunction(S, unknown_global);
	lua_setfield(S, -2, "__index");
	lua_setmetatable(S, back);

	lua_newtable(S); /* the globals: always empty, reads go to back, writes raise */
	lua_createtable(S, 0, 3);
	lua_pushvalue(S, back);
	lua_setfield(S, -2, "__index");
	lua_pushcfunction(S, assign_global);
	lua_setfield(S, -2, "__newindex");
	lua_pushboolean(S, 0);
	lua_setfield(S, -2, "__metatable");
	lua_setmetatable(S, -2);
	lua_rawseti(S, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
	return 0;
}
