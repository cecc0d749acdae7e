/* Unit tests of core/lua_state.c: Lua states whose memory comes from mimalloc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lua_state.h"

#include <lauxlib.h>
#include <lualib.h>
#include <mimalloc.h>
#include <string.h>

static void a_state_allocates_from_mimalloc(void **state)
{
	(void)state;
	lua_State *L = lua_state_new();
	assert_non_null(L);
	void *ud = (void *)1;
	assert_ptr_equal(lua_getallocf(L, &ud), lua_state_alloc);
	assert_null(ud);
	void *block = lua_newuserdatauv(L, 100, 0);
	assert_non_null(block);
#if !defined(__SANITIZE_ADDRESS__)
	assert_true(mi_is_in_heap_region(block));
#endif
	lua_close(L);
}

static void a_state_runs_code_that_grows_and_frees_memory(void **state)
{
	(void)state;
	lua_State *L = lua_state_new();
	luaL_openlibs(L);
	const char *code = "local t = {} for i = 1, 100000 do t[i] = ('Żak %d'):format(i) end "
	                   "local n = #t t = nil collectgarbage() "
	                   "return n, utf8.len(('Ömer Łukasz Żak'):rep(1000))";
	assert_int_equal(luaL_dostring(L, code), LUA_OK);
	assert_int_equal(lua_tointeger(L, -2), 100000);
	assert_int_equal(lua_tointeger(L, -1), 15000);
	lua_close(L);
}

static void errors_in_protected_calls_are_caught(void **state)
{
	(void)state;
	lua_State *L = lua_state_new();
	luaL_openlibs(L);
	assert_int_equal(luaL_loadstring(L, "warn('@on') warn('ignored') error('refused')"), LUA_OK);
	assert_int_equal(lua_pcall(L, 0, 0, 0), LUA_ERRRUN);
	assert_non_null(strstr(lua_tostring(L, -1), "refused"));
	lua_close(L);
}

static void the_allocator_frees_on_zero_and_keeps_content_on_growth(void **state)
{
	(void)state;
	char *p = lua_state_alloc(NULL, NULL, 0, 16);
	assert_non_null(p);
	memcpy(p, "0123456789abcdef", 16);
	p = lua_state_alloc(NULL, p, 16, 1 << 20);
	assert_non_null(p);
	assert_memory_equal(p, "0123456789abcdef", 16);
	assert_null(lua_state_alloc(NULL, p, 1 << 20, 0));
	assert_null(lua_state_alloc(NULL, NULL, 0, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(a_state_allocates_from_mimalloc),
	    cmocka_unit_test(a_state_runs_code_that_grows_and_frees_memory),
	    cmocka_unit_test(errors_in_protected_calls_are_caught),
	    cmocka_unit_test(the_allocator_frees_on_zero_and_keeps_content_on_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
