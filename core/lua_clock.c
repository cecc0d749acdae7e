/* core.clock: the (possibly virtual) wall clock. */
#include "host.h"

#include "clock.h"

#include <lauxlib.h>

/** clock.now() -> seconds since the epoch (integer) */
static int l_now(lua_State *L)
{
	lua_pushinteger(L, clock_now_ms() / 1000);
	return 1;
}

static int l_now_ms(lua_State *L)
{
	lua_pushinteger(L, clock_now_ms());
	return 1;
}

static int l_mono_ms(lua_State *L)
{
	lua_pushinteger(L, clock_mono_ms());
	return 1;
}

/** clock.mono_us() -> monotonic microseconds (integer), for short durations. */
static int l_mono_us(lua_State *L)
{
	lua_pushinteger(L, clock_mono_us());
	return 1;
}

/** clock.set_virtual(ms) freezes time at ms; it moves only with clock.advance. */
static int l_set_virtual(lua_State *L)
{
	clock_set_virtual(luaL_checkinteger(L, 1));
	host_sched_changed();
	return 0;
}

/** clock.advance(ms) moves the virtual clock (the caller runs due jobs). */
static int l_advance(lua_State *L)
{
	if (clock_advance(luaL_checkinteger(L, 1)) != 0)
		return luaL_error(L, "the clock is real or the step is negative");
	return 0;
}

static int l_is_virtual(lua_State *L)
{
	lua_pushboolean(L, clock_is_virtual());
	return 1;
}

int luaopen_core_clock(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"now", l_now},
	    {"now_ms", l_now_ms},
	    {"mono_ms", l_mono_ms},
	    {"mono_us", l_mono_us},
	    {"set_virtual", l_set_virtual},
	    {"advance", l_advance},
	    {"is_virtual", l_is_virtual},
	    {NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
