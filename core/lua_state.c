/* New Lua states whose memory comes from mimalloc (lua_state.h). */
#include "lua_state.h"

#include <lauxlib.h>
#include <mimalloc.h>
#include <stdio.h>

/* Under AddressSanitizer Lua's memory stays with the C library's allocator, which the sanitizer
 * replaces and checks. */
#if defined(__SANITIZE_ADDRESS__)
#include <stdlib.h>
#define state_realloc realloc
#define state_free free
#else
#define state_realloc mi_realloc
#define state_free mi_free
#endif

void *lua_state_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	(void)ud;
	(void)osize;
	if (nsize == 0) {
		state_free(ptr);
		return NULL;
	}
	return state_realloc(ptr, nsize);
}

/* An error outside any protected call: say what it was before Lua aborts. */
static int panic(lua_State *L)
{
	const char *msg = lua_tostring(L, -1);
	fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n",
	        msg ? msg : "error object is not a string");
	fflush(stderr);
	return 0;
}

/* Warnings are off, as luaL_newstate leaves them. */
static void no_warnings(void *ud, const char *msg, int tocont)
{
	(void)ud;
	(void)msg;
	(void)tocont;
}

lua_State *lua_state_new(void)
{
	lua_State *L = lua_newstate(lua_state_alloc, NULL);
	if (L) {
		lua_atpanic(L, panic);
		lua_setwarnf(L, no_warnings, L);
	}
	return L;
}
