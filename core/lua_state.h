/** New Lua states for the host: Lua's memory comes from mimalloc instead of the C library's
 * malloc. A request makes and drops a few dozen small tables and strings, and glibc's malloc
 * takes most of them the slow way (its per-thread cache holds seven blocks of a size; a
 * collection frees hundreds at once): about a sixth of a small request's own time. */
#ifndef CANDOR_LUA_STATE_H
#define CANDOR_LUA_STATE_H

#include <lua.h>
#include <stddef.h>

/** Lua's allocator function over mimalloc (lua_Alloc; ud is unused). */
void *lua_state_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/** A new Lua state as luaL_newstate makes it (a panic function that prints the error; warnings
 * off, and "@on" does not turn them on: nothing of Candor's warns) with lua_state_alloc; NULL when out of
 * memory. */
lua_State *lua_state_new(void);

#endif
