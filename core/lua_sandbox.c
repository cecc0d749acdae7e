/* core.sandbox: customer-written scripts (workflows, hooks) in a Lua state of their own, with
 * a memory cap (a counting allocator) and an instruction budget per call (a count hook that a
 * pcall cannot swallow). Only plain data crosses the border, always as a deep copy.
 *
 * The environment is an allow-list. Globals are read-only: reading an unknown global raises
 * "unknown global 'x'", assigning any global raises. Library tables (string, table, math, utf8,
 * os) are read-only proxies whose unknown fields raise ("'string.dump' is not available").
 *
 * Never allocate in the sandbox state outside a protected call: an allocation failure there
 * would have no handler and abort the process. Everything that may allocate in it runs inside
 * sb_run (a lua_pcall of a C function in the sandbox state). */
#include "host.h"

#include "clock.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SB_MT "core.sandbox"
#define SB_MAX_DEPTH 32 /* nesting of data crossing the border */
#define SB_STEP 10000   /* instructions between two hook calls */
#define SB_DEFAULT_MEMORY (16 * 1024 * 1024)
#define SB_DEFAULT_INSTRUCTIONS 50000000LL
#define SB_MIN_MEMORY (64 * 1024)
#define SB_MAX_RESULTS 250 /* values one call may give back */
#define SB_SHARE_MIN 64    /* strings at least this long are copied out once */

/** Why a sandbox died (it then refuses everything with the same error). */
enum sb_death { SB_ALIVE, SB_INSTRUCTIONS, SB_MEMORY };

/** A sandbox: its own Lua state, the allocator's counters and the instruction budget. */
typedef struct sandbox {
	lua_State *S;      /* the sandbox state, NULL once closed */
	size_t used;       /* bytes allocated by S */
	size_t limit;      /* cap on used */
	size_t peak;       /* highest used seen */
	void *refused_ptr; /* the last refused request, to see Lua's retry after its GC */
	size_t refused_size;
	int refused;           /* the previous request was refused */
	int dead;              /* enum sb_death */
	long long instr_limit; /* budget of each run */
	long long instr_left;  /* left in the current run */
	long long instr_used;  /* used by the last run (to SB_STEP) */
	int step;              /* current hook interval */
	int module_ref;        /* registry slot (in S) of the chunk's return value */
	int forbidden_ref;     /* registry slot (in S) of the last "forbidden" error raised */
	int dead_msg_ref[3];   /* registry slots (in S) of the death messages, by enum sb_death */
	char dead_msg[160];    /* the death message, for the host */
} sandbox_t;

/** The userdata: a pointer so the allocator's counters never move. */
struct sb_ud {
	sandbox_t *sb;
};

/** What a protected run works on; the fields used depend on the function run. */
struct sb_ctx {
	sandbox_t *sb;
	lua_State *L;         /* the host state (read only inside the sandbox) */
	int path_idx;         /* path on L (0: none) */
	int env_idx;          /* env table on L (0: none) */
	int arg_first, nargs; /* call arguments on L */
	const char *src;      /* chunk text */
	size_t src_len;
	const char *name; /* chunk name, "=..." */
	int syntax;       /* the failure was a syntax error */
	int missing;      /* the path led nowhere (call: no function there) */
};

/* ------------------------------------------------------------------ the counting allocator */

/* Refuses growth beyond the cap. Lua answers a refusal with an emergency collection and asks
 * once more for the same block; a second refusal of that same request is the moment Lua raises
 * its memory error, and the sandbox dies: every later growth is refused too. */
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
		if (sb->dead == SB_MEMORY || sb->used + grow > sb->limit || sb->used + grow < sb->used) {
			if (sb->dead == SB_ALIVE && sb->refused && sb->refused_ptr == ptr &&
			    sb->refused_size == nsize)
				sb->dead = SB_MEMORY;
			sb->refused = 1;
			sb->refused_ptr = ptr;
			sb->refused_size = nsize;
			return NULL;
		}
	}
	void *p = realloc(ptr, nsize);
	if (!p) {
		sb->refused = 1;
		sb->refused_ptr = ptr;
		sb->refused_size = nsize;
		return NULL;
	}
	if (nsize > old)
		sb->refused = 0; /* (shrinks happen inside the emergency collection: they do not count) */
	sb->used = sb->used - old + nsize;
	if (sb->used > sb->peak)
		sb->peak = sb->used;
	return p;
}

static sandbox_t *sb_of(lua_State *S)
{
	void *ud;
	lua_getallocf(S, &ud);
	return ud;
}

/* ------------------------------------------------------------------ inside the sandbox */

static void sb_hook(lua_State *S, lua_Debug *ar);

/* Once dead, the hook fires on every instruction so nothing runs on while the call unwinds. */
static void arm_death(lua_State *S)
{
	lua_sethook(S, sb_hook, LUA_MASKCOUNT, 1);
}

/* Raises the death error; used while a dead sandbox unwinds. */
static int raise_dead(lua_State *S)
{
	sandbox_t *sb = sb_of(S);
	arm_death(S);
	lua_rawgeti(S, LUA_REGISTRYINDEX, sb->dead_msg_ref[sb->dead]);
	return lua_error(S);
}

static void sb_hook(lua_State *S, lua_Debug *ar)
{
	(void)ar;
	sandbox_t *sb = sb_of(S);
	if (sb->dead == SB_ALIVE) {
		sb->instr_left -= sb->step;
		sb->instr_used += sb->step;
		if (sb->instr_left > 0) {
			if (sb->instr_left < sb->step) {
				sb->step = (int)sb->instr_left;
				lua_sethook(S, sb_hook, LUA_MASKCOUNT, sb->step);
			}
			return;
		}
		sb->dead = SB_INSTRUCTIONS;
	}
	arm_death(S);
	lua_rawgeti(S, LUA_REGISTRYINDEX, sb->dead_msg_ref[sb->dead]);
	lua_error(S);
}

/* Raises a "forbidden" error: "where: text", remembered so the host can tell it apart. */
static int raise_forbidden(lua_State *S, const char *fmt, ...)
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
	return raise_forbidden(S, "unknown global '%s'", key_text(S, 2));
}

/* __newindex of the globals table. */
static int assign_global(lua_State *S)
{
	return raise_forbidden(S,
	                       "cannot set global '%s': scripts have no global variables "
	                       "(declare it local)",
	                       key_text(S, 2));
}

/* __index of a library's real table (upvalue 1: its name): the field is not there. */
static int unknown_field(lua_State *S)
{
	return raise_forbidden(S, "'%s.%s' is not available in scripts", lua_tostring(S, lua_upvalueindex(1)),
	                       key_text(S, 2));
}

/* __newindex of a library proxy (upvalue 1: its name). */
static int readonly_field(lua_State *S)
{
	const char *lib = lua_tostring(S, lua_upvalueindex(1));
	return raise_forbidden(S, "'%s' is read-only (cannot set %s.%s)", lib, lib, key_text(S, 2));
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
		return raise_dead(S);
	int status = lua_pcall(S, lua_gettop(S) - 1, LUA_MULTRET, 0);
	if (status == LUA_ERRMEM && sb->dead == SB_ALIVE)
		sb->dead = SB_MEMORY;
	if (sb->dead) {
		arm_death(S);
		return raise_dead(S);
	}
	luaL_checkstack(S, 1, NULL);
	lua_pushboolean(S, status == LUA_OK);
	lua_insert(S, 1);
	return lua_gettop(S);
}

/* xpcall(f, handler, ...) with the same rule. */
static int sb_xpcall(lua_State *S)
{
	sandbox_t *sb = sb_of(S);
	int n = lua_gettop(S);
	luaL_checktype(S, 2, LUA_TFUNCTION);
	if (sb->dead)
		return raise_dead(S);
	lua_pushvalue(S, 1);
	lua_pushvalue(S, 2);
	lua_replace(S, 1);
	lua_replace(S, 2); /* handler, f, args... */
	int status = lua_pcall(S, n - 2, LUA_MULTRET, 1);
	if (status == LUA_ERRMEM && sb->dead == SB_ALIVE)
		sb->dead = SB_MEMORY;
	if (sb->dead) {
		arm_death(S);
		return raise_dead(S);
	}
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
			return raise_forbidden(S, "metatables with __gc are not allowed in scripts");
		lua_pop(S, 1);
	}
	if (luaL_getmetafield(S, 1, "__metatable") != LUA_TNIL)
		return luaL_error(S, "cannot change a protected metatable");
	lua_settop(S, 2);
	lua_setmetatable(S, 1);
	return 1;
}

/* os.time([t]): without t, the host's clock (the virtual clock in tests). */
static int sb_os_time(lua_State *S)
{
	if (lua_isnoneornil(S, 1)) {
		lua_pushinteger(S, (lua_Integer)(clock_now_ms() / 1000));
		return 1;
	}
	lua_settop(S, 1);
	lua_pushvalue(S, lua_upvalueindex(1));
	lua_insert(S, 1);
	lua_call(S, 1, 1);
	return 1;
}

/* Pattern matching runs in C, where the instruction hook never fires: ('a'):rep(2e4):find('.-b')
 * alone takes seconds. So each call is priced before it runs, by the worst case of Lua's
 * backtracking matcher: pattern length x, per start position, text length for every '*', '+'
 * or '-' item that is not the last one and 2 for every '?' item, x text length again when the
 * search is not anchored.
 * Calls priced above SB_MAX_MATCH_COST are refused ("forbidden"). Literal searches cost
 * text x pattern length. */
#define SB_MAX_MATCH_COST 1e8

/* Skips one single-character class at p (". %a [set] x"); returns the char after it. */
static const char *skip_class(const char *p, const char *end)
{
	if (*p == '%')
		return p + 2 <= end ? p + 2 : end;
	if (*p == '[') {
		p++;
		if (p < end && *p == '^')
			p++;
		do { /* the first ']' is a plain character */
			if (p >= end)
				return end;
			if (*p == '%')
				p++;
			p++;
		} while (p < end && *p != ']');
		return p < end ? p + 1 : end;
	}
	return p + 1;
}

static double match_cost(const char *p, size_t plen, double n, int anchor_ok)
{
	const char *end = p + plen;
	int anchored = anchor_ok && plen > 0 && *p == '^';
	double cost = (double)plen + 1;
	if (!strpbrk(p, "^$*+?.([%-") && strlen(p) == plen)
		return n * cost; /* literal: Lua compares bytes at each position */
	if (anchored)
		p++;
	while (p < end) {
		if (*p == '(' || *p == ')' || (*p == '$' && p + 1 == end)) {
			p++;
			continue;
		}
		if (*p == '%' && p + 1 < end && p[1] == 'b') {
			p += p + 4 <= end ? 4 : 2;
			cost *= n + 1; /* a balanced match scans ahead */
			continue;
		}
		if (*p == '%' && p + 1 < end && p[1] == 'f') {
			p += 2;
			if (p < end && *p == '[')
				p = skip_class(p, end);
			continue;
		}
		const char *q = skip_class(p, end);
		if (q < end && (*q == '*' || *q == '+' || *q == '-')) {
			q++;
			/* the last item (only ')' after it) never has to give back: linear */
			const char *r = q;
			while (r < end && *r == ')')
				r++;
			if (r < end)
				cost *= n + 1;
		} else if (q < end && *q == '?') {
			cost *= 2;
			q++;
		}
		if (cost > 1e300)
			break;
		p = q;
	}
	return anchored ? cost : cost * (n + 1);
}

/* The text length a call searches: from init (argument 3, default 1) to the end. */
static double searched_length(lua_State *S, size_t len, int init_arg)
{
	lua_Integer init = init_arg ? luaL_optinteger(S, init_arg, 1) : 1;
	if (init < 0)
		init = (lua_Integer)len + init + 1;
	if (init < 1)
		init = 1;
	return init > (lua_Integer)len ? 0 : (double)((lua_Integer)len - init + 1);
}

/* string.find/match/gmatch/gsub (upvalue 1: the original; upvalue 2: its name): priced, then
 * called with the same arguments. */
static int sb_pattern_call(lua_State *S)
{
	const char *name = lua_tostring(S, lua_upvalueindex(2));
	size_t len, plen;
	luaL_checklstring(S, 1, &len);
	const char *pat = luaL_checklstring(S, 2, &plen);
	int is_find = strcmp(name, "find") == 0, is_gmatch = strcmp(name, "gmatch") == 0;
	double n = searched_length(S, len, strcmp(name, "gsub") == 0 ? 0 : 3);
	double cost =
	    is_find && lua_toboolean(S, 4) ? n * ((double)plen + 1) : match_cost(pat, plen, n, !is_gmatch);
	if (cost > SB_MAX_MATCH_COST)
		return raise_forbidden(S,
		                       "string.%s: this pattern is too costly on a text of %I bytes "
		                       "(simplify the pattern or search a shorter text)",
		                       name, (lua_Integer)len);
	int nargs = lua_gettop(S);
	lua_pushvalue(S, lua_upvalueindex(1));
	lua_insert(S, 1);
	lua_call(S, nargs, LUA_MULTRET);
	return lua_gettop(S);
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
	lua_pushvalue(S, lua_upvalueindex(1));
	lua_insert(S, 1);
	lua_call(S, 2, 1);
	return 1;
}

/* ------------------------------------------------------------------ crossing the border */

static const char *const BASE_ALLOWED[] = {
    "assert", "error",    "ipairs",   "next", "pairs",        "rawequal", "rawlen",
    "select", "tonumber", "tostring", "type", "getmetatable", NULL,
};

/* Every global name a script sees; env may not replace them. */
static const char *const BUILTIN_NAMES[] = {
    "assert", "error",    "ipairs",   "next", "pairs",        "rawequal",     "rawlen",
    "select", "tonumber", "tostring", "type", "getmetatable", "setmetatable", "pcall",
    "xpcall", "string",   "table",    "math", "utf8",         "os",           NULL,
};

/* Checks (on the host) that the value at idx is plain data: nil, booleans, numbers, strings
 * and tables of them, no cycles, at most SB_MAX_DEPTH deep. Raises for misuse. Adds the
 * approximate size to *bytes. visiting is the index of a scratch table. */
static void check_plain(lua_State *L, int idx, int depth, int visiting, const char *what, size_t *bytes)
{
	int t = lua_type(L, idx);
	switch (t) {
	case LUA_TNIL:
	case LUA_TBOOLEAN:
	case LUA_TNUMBER:
		*bytes += 16;
		return;
	case LUA_TSTRING:
		*bytes += lua_rawlen(L, idx) + 32;
		return;
	case LUA_TTABLE:
		break;
	default:
		luaL_error(L,
		           "%s: a %s cannot go into a sandbox (plain data only: strings, numbers, "
		           "booleans and tables of them)",
		           what, luaL_typename(L, idx));
		return;
	}
	if (depth >= SB_MAX_DEPTH)
		luaL_error(L, "%s: tables nested more than %d deep cannot go into a sandbox", what,
		           SB_MAX_DEPTH);
	idx = lua_absindex(L, idx);
	luaL_checkstack(L, 4, NULL);
	lua_pushvalue(L, idx);
	if (lua_rawget(L, visiting) != LUA_TNIL)
		luaL_error(L, "%s: a table that contains itself (a cycle) cannot go into a sandbox", what);
	lua_pop(L, 1);
	lua_pushvalue(L, idx);
	lua_pushboolean(L, 1);
	lua_rawset(L, visiting);
	*bytes += 56;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		int kt = lua_type(L, -2);
		if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN)
			luaL_error(L, "%s: table keys must be strings, numbers or booleans, not a %s", what,
			           luaL_typename(L, -2));
		check_plain(L, -2, depth + 1, visiting, what, bytes);
		check_plain(L, -1, depth + 1, visiting, what, bytes);
		lua_pop(L, 1);
	}
	lua_pushvalue(L, idx);
	lua_pushnil(L);
	lua_rawset(L, visiting);
}

/* Raises unless the values at first..first+n-1 are plain data that fits in the sandbox. */
static void check_plain_args(lua_State *L, sandbox_t *sb, int first, int n, const char *what)
{
	size_t bytes = 0;
	lua_newtable(L);
	int visiting = lua_gettop(L);
	for (int i = 0; i < n; i++)
		check_plain(L, first + i, 0, visiting, what, &bytes);
	lua_pop(L, 1);
	if (bytes > sb->limit)
		luaL_error(L, "%s: about %d KiB of data does not fit in the sandbox's %d KiB", what,
		           (int)(bytes / 1024), (int)(sb->limit / 1024));
}

/* Copies checked plain data from L (at idx) into S. Runs inside the sandbox's protected call:
 * only S may raise (memory); nothing here allocates in L. */
static void copy_in(lua_State *S, lua_State *L, int idx)
{
	switch (lua_type(L, idx)) {
	case LUA_TBOOLEAN:
		lua_pushboolean(S, lua_toboolean(L, idx));
		return;
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			lua_pushinteger(S, lua_tointeger(L, idx));
		else
			lua_pushnumber(S, lua_tonumber(L, idx));
		return;
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		lua_pushlstring(S, s, n);
		return;
	}
	case LUA_TTABLE:
		break;
	default:
		lua_pushnil(S);
		return;
	}
	idx = lua_absindex(L, idx);
	luaL_checkstack(S, 4, NULL);
	lua_newtable(S);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		copy_in(S, L, -2);
		copy_in(S, L, -1);
		lua_rawset(S, -3);
		lua_pop(L, 1);
	}
}

/** Copying out of the sandbox: scratch tables on L and the first failure. */
struct copy_out_state {
	int seen;   /* L index: sandbox pointer -> copy already made */
	int active; /* L index: sandbox tables being copied (a cycle check) */
	char err[200];
};

static int copy_fail(struct copy_out_state *cs, const char *msg)
{
	if (!cs->err[0])
		snprintf(cs->err, sizeof cs->err, "%s", msg);
	return -1;
}

/* Pushes on L a copy of the sandbox value at sidx; functions become "<function>". Reads S
 * without allocating in it. Returns 0, or -1 with cs->err (and junk left on both stacks). */
static int copy_out(lua_State *L, lua_State *S, int sidx, int depth, struct copy_out_state *cs)
{
	size_t n;
	const char *s;
	switch (lua_type(S, sidx)) {
	case LUA_TNIL:
		lua_pushnil(L);
		return 0;
	case LUA_TBOOLEAN:
		lua_pushboolean(L, lua_toboolean(S, sidx));
		return 0;
	case LUA_TNUMBER:
		if (lua_isinteger(S, sidx))
			lua_pushinteger(L, lua_tointeger(S, sidx));
		else
			lua_pushnumber(L, lua_tonumber(S, sidx));
		return 0;
	case LUA_TSTRING:
		s = lua_tolstring(S, sidx, &n);
		if (n < SB_SHARE_MIN) {
			lua_pushlstring(L, s, n);
			return 0;
		}
		/* long strings once each: a table can hold many references to one string */
		lua_pushlightuserdata(L, (void *)s);
		if (lua_rawget(L, cs->seen) == LUA_TSTRING)
			return 0;
		lua_pop(L, 1);
		lua_pushlstring(L, s, n);
		lua_pushlightuserdata(L, (void *)s);
		lua_pushvalue(L, -2);
		lua_rawset(L, cs->seen);
		return 0;
	case LUA_TFUNCTION:
		lua_pushliteral(L, "<function>");
		return 0;
	case LUA_TTABLE:
		break;
	default:
		return copy_fail(cs, "the script gave back a value that is not plain data");
	}
	if (depth >= SB_MAX_DEPTH)
		return copy_fail(cs, "the script gave back tables nested more than 32 deep");
	void *p = (void *)lua_topointer(S, sidx);
	luaL_checkstack(L, 6, NULL);
	lua_pushlightuserdata(L, p);
	if (lua_rawget(L, cs->active) != LUA_TNIL)
		return copy_fail(cs, "the script gave back a table that contains itself (a cycle)");
	lua_pop(L, 1);
	lua_pushlightuserdata(L, p);
	if (lua_rawget(L, cs->seen) == LUA_TTABLE)
		return 0; /* shared, not a cycle: one copy */
	lua_pop(L, 1);
	if (!lua_checkstack(S, 3))
		return copy_fail(cs, "the sandbox has no memory left to copy its data out");
	sidx = lua_absindex(S, sidx);
	lua_newtable(L);
	int copy = lua_gettop(L);
	lua_pushlightuserdata(L, p);
	lua_pushvalue(L, copy);
	lua_rawset(L, cs->seen);
	lua_pushlightuserdata(L, p);
	lua_pushboolean(L, 1);
	lua_rawset(L, cs->active);
	lua_pushnil(S);
	while (lua_next(S, sidx)) {
		int kt = lua_type(S, -2);
		if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN)
			return copy_fail(
			    cs, "the script gave back a table key that is not a string, number or boolean");
		if (copy_out(L, S, -2, depth + 1, cs) != 0 || copy_out(L, S, -1, depth + 1, cs) != 0)
			return -1;
		lua_rawset(L, copy);
		lua_pop(S, 1);
	}
	lua_pushlightuserdata(L, p);
	lua_pushnil(L);
	lua_rawset(L, cs->active);
	return 0;
}

/* Copies S's values from first to its top onto L. Returns how many, or -1 with cs.err set and
 * L's stack back where it was. */
static int copy_results(lua_State *L, lua_State *S, int first, struct copy_out_state *cs)
{
	int top = lua_gettop(L);
	int n = lua_gettop(S) - first + 1;
	cs->err[0] = 0;
	if (n > SB_MAX_RESULTS)
		return copy_fail(cs, "the script gave back more than 250 values");
	luaL_checkstack(L, n + 4, NULL);
	lua_newtable(L);
	cs->seen = lua_gettop(L);
	lua_newtable(L);
	cs->active = lua_gettop(L);
	for (int i = 0; i < n; i++)
		if (copy_out(L, S, first + i, 0, cs) != 0) {
			lua_settop(L, top);
			return -1;
		}
	/* drop the scratch tables, keep the copies */
	lua_rotate(L, top + 1, -2);
	lua_pop(L, 2);
	return n;
}

/* ------------------------------------------------------------------ protected runs */

/* Pushes (in S) the module value at the path on L, or nil (ctx->missing) if it leads nowhere. */
static void walk_path(lua_State *S, struct sb_ctx *ctx)
{
	lua_State *L = ctx->L;
	lua_rawgeti(S, LUA_REGISTRYINDEX, ctx->sb->module_ref);
	if (!ctx->path_idx)
		return;
	if (lua_type(L, ctx->path_idx) == LUA_TSTRING) {
		if (!lua_istable(S, -1)) {
			ctx->missing = 1;
			lua_pop(S, 1);
			lua_pushnil(S);
			return;
		}
		copy_in(S, L, ctx->path_idx);
		lua_rawget(S, -2);
		lua_remove(S, -2);
		return;
	}
	lua_Integer n = (lua_Integer)lua_rawlen(L, ctx->path_idx);
	for (lua_Integer i = 1; i <= n; i++) {
		if (!lua_istable(S, -1)) {
			ctx->missing = 1;
			lua_pop(S, 1);
			lua_pushnil(S);
			return;
		}
		lua_rawgeti(L, ctx->path_idx, i);
		copy_in(S, L, -1);
		lua_pop(L, 1);
		lua_rawget(S, -2);
		lua_remove(S, -2);
	}
}

/* Sets up a fresh sandbox state: libraries, the allow-listed environment, env constants. */
static int p_setup(lua_State *S)
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
	int back = 7;
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

	/* string: no dump; priced pattern matching; strings' own metatable is locked and reads
	 * the real table */
	lua_pushnil(S);
	lua_setfield(S, 2, "dump");
	static const char *const PATTERN_FNS[] = {"find", "match", "gmatch", "gsub", NULL};
	for (const char *const *f = PATTERN_FNS; *f; f++) {
		lua_getfield(S, 2, *f);
		lua_pushstring(S, *f);
		lua_pushcclosure(S, sb_pattern_call, 2);
		lua_setfield(S, 2, *f);
	}
	lua_pushliteral(S, "");
	lua_getmetatable(S, -1);
	lua_pushboolean(S, 0);
	lua_setfield(S, -2, "__metatable");
	lua_pop(S, 2);
	lua_pushvalue(S, 2);
	make_proxy(S, "string");
	lua_setfield(S, back, "string");
	lua_pushvalue(S, 3);
	make_proxy(S, "table");
	lua_setfield(S, back, "table");
	lua_pushvalue(S, 4);
	make_proxy(S, "math");
	lua_setfield(S, back, "math");
	lua_pushvalue(S, 5);
	make_proxy(S, "utf8");
	lua_setfield(S, back, "utf8");

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

	/* helper constants from the host */
	if (ctx->env_idx) {
		lua_State *L = ctx->L;
		lua_pushnil(L);
		while (lua_next(L, ctx->env_idx)) {
			copy_in(S, L, -2);
			copy_in(S, L, -1);
			lua_rawset(S, back);
			lua_pop(L, 1);
		}
	}

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

/* Loads the chunk and runs it; keeps its first result as the module. */
static int p_load(lua_State *S)
{
	struct sb_ctx *ctx = lua_touserdata(S, 1);
	lua_settop(S, 0);
	int rc = luaL_loadbufferx(S, ctx->src, ctx->src_len, ctx->name, "t");
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

/* Pushes the module value at the path. */
static int p_get(lua_State *S)
{
	struct sb_ctx *ctx = lua_touserdata(S, 1);
	lua_settop(S, 0);
	walk_path(S, ctx);
	return 1;
}

/* Calls the function at the path with copies of the arguments; returns its results. */
static int p_call(lua_State *S)
{
	struct sb_ctx *ctx = lua_touserdata(S, 1);
	lua_settop(S, 0);
	walk_path(S, ctx);
	if (!lua_isfunction(S, 1)) {
		ctx->missing = 1;
		return 0;
	}
	luaL_checkstack(S, ctx->nargs + 4, "too many arguments");
	for (int i = 0; i < ctx->nargs; i++)
		copy_in(S, ctx->L, ctx->arg_first + i);
	lua_call(S, ctx->nargs, LUA_MULTRET);
	return lua_gettop(S);
}

/** Codes of a failed run. */
enum sb_fail { SBF_NONE, SBF_SYNTAX, SBF_RUNTIME, SBF_INSTRUCTIONS, SBF_MEMORY, SBF_FORBIDDEN };

static const char *const FAIL_CODES[] = {"", "syntax", "runtime", "instructions", "memory", "forbidden"};

/* Runs f(ctx) in the sandbox with a fresh instruction budget. On success f's results are on
 * S's stack from index 1; on failure returns the code and leaves the error value on top. */
static int sb_run(sandbox_t *sb, lua_CFunction f, struct sb_ctx *ctx)
{
	lua_State *S = sb->S;
	lua_settop(S, 0);
	lua_pushboolean(S, 0);
	lua_rawseti(S, LUA_REGISTRYINDEX, sb->forbidden_ref);
	sb->instr_left = sb->instr_limit;
	sb->instr_used = 0;
	sb->step = sb->instr_limit < SB_STEP ? (int)sb->instr_limit : SB_STEP;
	lua_sethook(S, sb_hook, LUA_MASKCOUNT, sb->step);
	lua_pushcfunction(S, f);
	lua_pushlightuserdata(S, ctx);
	int status = lua_pcall(S, 1, LUA_MULTRET, 0);
	lua_sethook(S, NULL, 0, 0);
	if (status == LUA_OK)
		return SBF_NONE;
	if (status == LUA_ERRMEM && sb->dead == SB_ALIVE)
		sb->dead = SB_MEMORY;
	if (sb->dead == SB_INSTRUCTIONS)
		return SBF_INSTRUCTIONS;
	if (sb->dead == SB_MEMORY)
		return SBF_MEMORY;
	if (ctx->syntax)
		return SBF_SYNTAX;
	lua_rawgeti(S, LUA_REGISTRYINDEX, sb->forbidden_ref);
	int forbidden = lua_type(S, -1) == LUA_TSTRING && lua_rawequal(S, -1, -2);
	lua_pop(S, 1);
	return forbidden ? SBF_FORBIDDEN : SBF_RUNTIME;
}

/* Pushes on L the text of the error value on top of S, without allocating in S. */
static void push_error_text(lua_State *L, lua_State *S)
{
	size_t n;
	int top = lua_gettop(S);
	switch (lua_type(S, top)) {
	case LUA_TSTRING: {
		const char *s = lua_tolstring(S, top, &n);
		lua_pushlstring(L, s, n);
		return;
	}
	case LUA_TNUMBER:
		if (lua_isinteger(S, top))
			lua_pushfstring(L, "%I", lua_tointeger(S, top));
		else
			lua_pushfstring(L, "%f", lua_tonumber(S, top));
		return;
	case LUA_TTABLE:
		/* error{message = "..."}: look for the field without making a key string in S */
		if (lua_checkstack(S, 2)) {
			lua_pushnil(S);
			while (lua_next(S, top)) {
				if (lua_type(S, -2) == LUA_TSTRING && lua_type(S, -1) == LUA_TSTRING &&
				    strcmp(lua_tostring(S, -2), "message") == 0) {
					const char *s = lua_tolstring(S, -1, &n);
					lua_pushlstring(L, s, n);
					lua_settop(S, top);
					return;
				}
				lua_pop(S, 1);
			}
		}
		lua_pushliteral(L, "the script raised an error that is a table without a message");
		return;
	default:
		lua_pushfstring(L, "the script raised an error that is a %s", luaL_typename(S, top));
		return;
	}
}

/* Pushes nil and {code=, message=} on L for a failed run; returns 2. */
static int push_fail(lua_State *L, sandbox_t *sb, int code)
{
	lua_pushnil(L);
	lua_createtable(L, 0, 2);
	lua_pushstring(L, FAIL_CODES[code]);
	lua_setfield(L, -2, "code");
	if (code == SBF_INSTRUCTIONS || code == SBF_MEMORY)
		lua_pushstring(L, sb->dead_msg);
	else
		push_error_text(L, sb->S);
	lua_setfield(L, -2, "message");
	lua_settop(sb->S, 0);
	return 2;
}

static int push_fail_msg(lua_State *L, const char *code, const char *msg)
{
	lua_pushnil(L);
	lua_createtable(L, 0, 2);
	lua_pushstring(L, code);
	lua_setfield(L, -2, "code");
	lua_pushstring(L, msg);
	lua_setfield(L, -2, "message");
	return 2;
}

/* Remembers the death message on the host side. */
static void note_death(sandbox_t *sb)
{
	if (sb->dead == SB_INSTRUCTIONS)
		snprintf(sb->dead_msg, sizeof sb->dead_msg,
		         "the script ran longer than its budget of %lld instructions (an endless loop?)",
		         sb->instr_limit);
	else if (sb->limit % (1024 * 1024) == 0)
		snprintf(sb->dead_msg, sizeof sb->dead_msg, "the script used more than %zu MiB",
		         sb->limit / (1024 * 1024));
	else
		snprintf(sb->dead_msg, sizeof sb->dead_msg, "the script used more than %zu KiB",
		         sb->limit / 1024);
}

static void sb_destroy(sandbox_t *sb)
{
	if (!sb)
		return;
	if (sb->S)
		lua_close(sb->S);
	free(sb);
}

/* ------------------------------------------------------------------ the Lua API */

static sandbox_t *check_sb(lua_State *L)
{
	struct sb_ud *u = luaL_checkudata(L, 1, SB_MT);
	if (!u->sb)
		luaL_error(L, "the sandbox is closed");
	return u->sb;
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

/* Raises unless the path argument is nil, a key, or an array of keys. */
static int check_path(lua_State *L, int idx)
{
	int t = lua_type(L, idx);
	if (t == LUA_TNONE || t == LUA_TNIL)
		return 0;
	if (t == LUA_TSTRING)
		return idx;
	luaL_argexpected(L, t == LUA_TTABLE, idx, "nil, a key or an array of keys");
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	luaL_argcheck(L, n <= SB_MAX_DEPTH, idx, "the path is too long");
	for (lua_Integer i = 1; i <= n; i++) {
		int kt = lua_rawgeti(L, idx, i);
		luaL_argcheck(L, kt == LUA_TSTRING || kt == LUA_TNUMBER || kt == LUA_TBOOLEAN, idx,
		              "path keys are strings or numbers");
		lua_pop(L, 1);
	}
	return lua_absindex(L, idx);
}

/* Describes the path for messages: "a.b.1". */
static void push_path_text(lua_State *L, int idx)
{
	if (!idx) {
		lua_pushliteral(L, "(the module)");
		return;
	}
	if (lua_type(L, idx) == LUA_TSTRING) {
		lua_pushvalue(L, idx);
		return;
	}
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
	for (lua_Integer i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '.');
		lua_rawgeti(L, idx, i);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
}

/** sandbox.load(source, [chunkname], [{memory_limit=, instruction_limit=, env=}]) -> sb | nil, err */
static int l_load(lua_State *L)
{
	size_t len;
	const char *src = luaL_checklstring(L, 1, &len);
	const char *chunk = luaL_optstring(L, 2, "script");
	int has_opts = !lua_isnoneornil(L, 3);
	if (has_opts)
		luaL_checktype(L, 3, LUA_TTABLE);
	lua_Integer mem = SB_DEFAULT_MEMORY, instr = SB_DEFAULT_INSTRUCTIONS;
	int env_idx = 0;
	if (has_opts) {
		mem = opt_int_field(L, 3, "memory_limit", SB_DEFAULT_MEMORY, SB_MIN_MEMORY,
		                    (lua_Integer)1 << 32);
		instr = opt_int_field(L, 3, "instruction_limit", SB_DEFAULT_INSTRUCTIONS, 1,
		                      (lua_Integer)1 << 40);
		lua_getfield(L, 3, "env");
		if (!lua_isnil(L, -1)) {
			luaL_argcheck(L, lua_istable(L, -1), 3, "env must be a table of plain data");
			env_idx = lua_gettop(L);
			lua_pushnil(L);
			while (lua_next(L, env_idx)) {
				if (lua_type(L, -2) != LUA_TSTRING)
					return luaL_error(L, "sandbox env: names must be strings");
				for (const char *const *n = BUILTIN_NAMES; *n; n++)
					if (strcmp(*n, lua_tostring(L, -2)) == 0)
						return luaL_error(
						    L, "sandbox env: '%s' would replace a built-in", *n);
				lua_pop(L, 1);
			}
		}
	}
	luaL_checkstack(L, 2 * SB_MAX_DEPTH + 20, NULL);

	struct sb_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
	u->sb = NULL;
	luaL_setmetatable(L, SB_MT);
	int ud_idx = lua_gettop(L);
	sandbox_t *sb = calloc(1, sizeof *sb);
	if (!sb)
		return luaL_error(L, "out of memory");
	u->sb = sb;
	sb->limit = (size_t)mem;
	sb->instr_limit = instr;
	if (env_idx)
		check_plain_args(L, sb, env_idx, 1, "sandbox env");

	char name[256];
	if (chunk[0] == '=' || chunk[0] == '@')
		snprintf(name, sizeof name, "%s", chunk);
	else
		snprintf(name, sizeof name, "=%s", chunk);
	struct sb_ctx ctx = {.sb = sb, .L = L, .env_idx = env_idx, .src = src, .src_len = len, .name = name};

	sb->S = lua_newstate(sb_alloc, sb);
	if (!sb->S) {
		sb->dead = SB_MEMORY;
		note_death(sb);
		return push_fail_msg(L, "memory", sb->dead_msg);
	}
	int code = sb_run(sb, p_setup, &ctx);
	if (code != SBF_NONE) {
		sb->dead = SB_MEMORY;
		note_death(sb);
		return push_fail_msg(L, "memory", sb->dead_msg);
	}
	if (len > 0 && src[0] == LUA_SIGNATURE[0])
		return push_fail_msg(L, "forbidden",
		                     "precompiled Lua (bytecode) is not accepted: give the script as text");
	code = sb_run(sb, p_load, &ctx);
	if (code != SBF_NONE) {
		if (sb->dead)
			note_death(sb);
		return push_fail(L, sb, code);
	}
	lua_settop(sb->S, 0);
	lua_settop(L, ud_idx);
	return 1;
}

/* The common failure of a dead sandbox. */
static int dead_fail(lua_State *L, sandbox_t *sb)
{
	return push_fail_msg(L, sb->dead == SB_INSTRUCTIONS ? "instructions" : "memory", sb->dead_msg);
}

/** sb:data([path]) -> copy of the module (or of the value at path) | nil, err */
static int l_data(lua_State *L)
{
	sandbox_t *sb = check_sb(L);
	int path = check_path(L, 2);
	if (sb->dead)
		return dead_fail(L, sb);
	luaL_checkstack(L, 2 * SB_MAX_DEPTH + 20, NULL);
	struct sb_ctx ctx = {.sb = sb, .L = L, .path_idx = path};
	int code = sb_run(sb, p_get, &ctx);
	if (code != SBF_NONE) {
		if (sb->dead)
			note_death(sb);
		return push_fail(L, sb, code);
	}
	struct copy_out_state cs;
	int n = copy_results(L, sb->S, 1, &cs);
	lua_settop(sb->S, 0);
	if (n < 0)
		return push_fail_msg(L, "runtime", cs.err);
	return 1;
}

/** sb:call(path, ...) -> copies of the function's results | nil, err */
static int l_call(lua_State *L)
{
	sandbox_t *sb = check_sb(L);
	luaL_argexpected(L, !lua_isnoneornil(L, 2), 2, "a key or an array of keys");
	int path = check_path(L, 2);
	int nargs = lua_gettop(L) - 2;
	check_plain_args(L, sb, 3, nargs, "sandbox call arguments");
	if (sb->dead)
		return dead_fail(L, sb);
	luaL_checkstack(L, 2 * SB_MAX_DEPTH + 20, NULL);
	struct sb_ctx ctx = {.sb = sb, .L = L, .path_idx = path, .arg_first = 3, .nargs = nargs};
	int code = sb_run(sb, p_call, &ctx);
	if (code != SBF_NONE) {
		if (sb->dead)
			note_death(sb);
		return push_fail(L, sb, code);
	}
	if (ctx.missing) {
		push_path_text(L, path);
		lua_pushfstring(L, "the script has no function at %s", lua_tostring(L, -1));
		return push_fail_msg(L, "runtime", lua_tostring(L, -1));
	}
	struct copy_out_state cs;
	int n = copy_results(L, sb->S, 1, &cs);
	lua_settop(sb->S, 0);
	if (n < 0)
		return push_fail_msg(L, "runtime", cs.err);
	return n;
}

/** sb:stats() -> {memory=, memory_peak=, memory_limit=, instructions= (last run, to 10000),
 * instruction_limit=, dead=} */
static int l_stats(lua_State *L)
{
	sandbox_t *sb = check_sb(L);
	lua_createtable(L, 0, 6);
	lua_pushinteger(L, (lua_Integer)sb->used);
	lua_setfield(L, -2, "memory");
	lua_pushinteger(L, (lua_Integer)sb->peak);
	lua_setfield(L, -2, "memory_peak");
	lua_pushinteger(L, (lua_Integer)sb->limit);
	lua_setfield(L, -2, "memory_limit");
	lua_pushinteger(L, (lua_Integer)sb->instr_used);
	lua_setfield(L, -2, "instructions");
	lua_pushinteger(L, (lua_Integer)sb->instr_limit);
	lua_setfield(L, -2, "instruction_limit");
	if (sb->dead)
		lua_pushstring(L, sb->dead == SB_INSTRUCTIONS ? "instructions" : "memory");
	else
		lua_pushboolean(L, 0);
	lua_setfield(L, -2, "dead");
	return 1;
}

/** sb:close() frees the sandbox's state at once (also done by __gc). */
static int l_close(lua_State *L)
{
	struct sb_ud *u = luaL_checkudata(L, 1, SB_MT);
	sb_destroy(u->sb);
	u->sb = NULL;
	return 0;
}

int luaopen_core_sandbox(lua_State *L)
{
	static const luaL_Reg methods[] = {
	    {"data", l_data}, {"call", l_call}, {"stats", l_stats}, {"close", l_close}, {NULL, NULL},
	};
	static const luaL_Reg fns[] = {{"load", l_load}, {NULL, NULL}};
	if (luaL_newmetatable(L, SB_MT)) {
		luaL_newlib(L, methods);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, l_close);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, l_close);
		lua_setfield(L, -2, "__close");
	}
	lua_pop(L, 1);
	luaL_newlib(L, fns);
	lua_pushinteger(L, SB_DEFAULT_MEMORY);
	lua_setfield(L, -2, "DEFAULT_MEMORY_LIMIT");
	lua_pushinteger(L, SB_DEFAULT_INSTRUCTIONS);
	lua_setfield(L, -2, "DEFAULT_INSTRUCTION_LIMIT");
	return 1;
}
