/* core.log: the server log. Never pass secrets or confidential text. */
#include "host.h"

#include "log.h"

#include <lauxlib.h>
#include <string.h>

static int write_at(lua_State *L, enum log_level level)
{
	int n = lua_gettop(L);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, ' ');
		luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	log_write(level, "%s", lua_tostring(L, -1));
	return 0;
}

static int l_debug(lua_State *L)
{
	return write_at(L, LOG_DEBUG);
}
static int l_info(lua_State *L)
{
	return write_at(L, LOG_INFO);
}
static int l_warn(lua_State *L)
{
	return write_at(L, LOG_WARN);
}
static int l_error(lua_State *L)
{
	return write_at(L, LOG_ERROR);
}

/** log.set_level("debug"|"info"|"warn"|"error") */
static int l_set_level(lua_State *L)
{
	static const char *const names[] = {"debug", "info", "warn", "error", NULL};
	log_set_level((enum log_level)luaL_checkoption(L, 1, NULL, names));
	return 0;
}

int luaopen_core_log(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"debug", l_debug}, {"info", l_info},           {"warn", l_warn},
	    {"error", l_error}, {"set_level", l_set_level}, {NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}
