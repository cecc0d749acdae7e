/* core.tz: time zones from the system tz database over core/tz.c. Zones are read from
 * $TZDIR (default /usr/share/zoneinfo) on first use and kept for the life of the process (a
 * tzdata upgrade is seen after a restart). */
#include "host.h"

#include "tz.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** Registry key of the table zone name -> loaded zone (userdata). */
static const char CACHE_KEY = 'z';

/** The metatable name of a loaded zone. */
#define ZONE_MT "core.tz.zone"

/** The zone folder. */
static const char *zone_dir(void)
{
	const char *d = getenv("TZDIR");
	return d && *d ? d : "/usr/share/zoneinfo";
}

/** Frees a zone userdata. */
static int zone_gc(lua_State *L)
{
	tz_zone_t **z = luaL_checkudata(L, 1, ZONE_MT);
	tz_free(*z);
	*z = NULL;
	return 0;
}

/** The zone named by argument 1 (loaded once), or NULL with nil, err pushed. */
static const tz_zone_t *zone_arg(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &CACHE_KEY);
	if (lua_getfield(L, -1, name) == LUA_TUSERDATA) {
		const tz_zone_t *z = *(tz_zone_t **)lua_touserdata(L, -1);
		lua_pop(L, 2);
		return z;
	}
	lua_pop(L, 1);
	tz_zone_t **box = lua_newuserdatauv(L, sizeof *box, 0);
	*box = NULL;
	luaL_setmetatable(L, ZONE_MT);
	const char *code, *err;
	if (tz_load(zone_dir(), name, box, &code, &err) != 0) {
		lua_pop(L, 2);
		host_fail(L, code, "%s: %s", name, err);
		return NULL;
	}
	const tz_zone_t *z = *box;
	lua_setfield(L, -2, name); /* the cache keeps the userdata alive */
	lua_pop(L, 1);
	return z;
}

/** Seconds argument i (a number; fractions are cut towards the past). */
static int64_t check_seconds(lua_State *L, int i)
{
	if (lua_isinteger(L, i))
		return (int64_t)lua_tointeger(L, i);
	lua_Number n = luaL_checknumber(L, i);
	luaL_argcheck(L, n > -1e15 && n < 1e15, i, "seconds out of range");
	lua_Number f = (lua_Number)(int64_t)n;
	return (int64_t)n - (f > n);
}

/** tz.check(zone) -> true | nil, err (unknown_zone, bad_file) */
static int l_check(lua_State *L)
{
	if (!zone_arg(L))
		return 2;
	lua_pushboolean(L, 1);
	return 1;
}

/** tz.local_time(zone, utc) -> { year, month, day, hour, min, sec, wday (0 = Sunday), offset
 * (seconds east of UTC), dst, abbr } | nil, err */
static int l_local_time(lua_State *L)
{
	const tz_zone_t *z = zone_arg(L);
	if (!z)
		return 2;
	tz_local_t l;
	tz_to_local(z, check_seconds(L, 2), &l);
	lua_createtable(L, 0, 10);
	lua_pushinteger(L, (lua_Integer)l.year);
	lua_setfield(L, -2, "year");
	lua_pushinteger(L, l.month);
	lua_setfield(L, -2, "month");
	lua_pushinteger(L, l.day);
	lua_setfield(L, -2, "day");
	lua_pushinteger(L, l.hour);
	lua_setfield(L, -2, "hour");
	lua_pushinteger(L, l.min);
	lua_setfield(L, -2, "min");
	lua_pushinteger(L, l.sec);
	lua_setfield(L, -2, "sec");
	lua_pushinteger(L, l.wday);
	lua_setfield(L, -2, "wday");
	lua_pushinteger(L, l.offset);
	lua_setfield(L, -2, "offset");
	lua_pushboolean(L, l.dst);
	lua_setfield(L, -2, "dst");
	lua_pushstring(L, l.abbr);
	lua_setfield(L, -2, "abbr");
	return 1;
}

/** tz.to_utc(zone, year, month, day [, hour, min, sec]) -> seconds, "exact" | "gap" | "fold" |
 * nil, err. A time in a gap moves on by the gap; one shown twice is the first (core/tz.h). */
static int l_to_utc(lua_State *L)
{
	const tz_zone_t *z = zone_arg(L);
	if (!z)
		return 2;
	lua_Integer f[6];
	for (int i = 0; i < 6; i++) {
		f[i] = i < 3 ? luaL_checkinteger(L, i + 2) : luaL_optinteger(L, i + 2, 0);
		luaL_argcheck(L, f[i] > -1000000 && f[i] < 1000000, i + 2, "out of range");
	}
	enum tz_fit fit;
	int64_t t = tz_to_utc(z, f[0], (int)f[1], (int)f[2], (int)f[3], (int)f[4], (int)f[5], &fit);
	lua_pushinteger(L, (lua_Integer)t);
	lua_pushstring(L, fit == TZ_EXACT ? "exact" : fit == TZ_GAP ? "gap" : "fold");
	return 2;
}

/** Appends a name to the zones (ud: Lua state; table -2 zones, -1 links). */
static void add_name(const char *name, size_t n, int is_link, void *ud)
{
	lua_State *L = ud;
	int t = is_link ? -1 : -2;
	lua_Integer at = (lua_Integer)lua_rawlen(L, t) + 1;
	lua_pushlstring(L, name, n);
	lua_rawseti(L, t - 1, at);
}

/** tz.zones() -> { zone names }, { link names } (as tzdata.zi lists them, unsorted) | nil, err */
static int l_zones(lua_State *L)
{
	char path[512];
	snprintf(path, sizeof path, "%s/tzdata.zi", zone_dir());
	FILE *f = fopen(path, "rb");
	if (!f)
		return host_fail(L, "no_database", "%s cannot be read (is tzdata installed?)", path);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		luaL_addlstring(&b, chunk, n);
	fclose(f);
	luaL_pushresult(&b);
	size_t len;
	const char *text = lua_tolstring(L, -1, &len);
	lua_newtable(L);
	lua_newtable(L);
	tz_list(text, len, add_name, L);
	return 2;
}

int luaopen_core_tz(lua_State *L)
{
	static const luaL_Reg fns[] = {{"check", l_check},
	                               {"local_time", l_local_time},
	                               {"to_utc", l_to_utc},
	                               {"zones", l_zones},
	                               {NULL, NULL}};
	if (luaL_newmetatable(L, ZONE_MT)) {
		lua_pushcfunction(L, zone_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pop(L, 1);
	lua_newtable(L);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &CACHE_KEY);
	luaL_newlib(L, fns);
	return 1;
}
