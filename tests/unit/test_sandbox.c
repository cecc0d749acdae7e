/* Unit tests of the sandbox's plain C: pricing (core/sandbox_price.c), the value format
 * (core/sandbox_wire.c) and the sandbox state (core/sandbox.c), without any worker process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "sandbox.h"
#include "sandbox_price.h"
#include "sandbox_proto.h"
#include "sandbox_wire.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ helpers */

/* Encodes the result of a Lua expression (run in a plain state) as a message of one value. */
static void encode_expr(const char *expr, buf_t *out)
{
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	char code[2048];
	snprintf(code, sizeof code, "return %s", expr);
	assert_int_equal(luaL_dostring(L, code), LUA_OK);
	wire_enc_t e = {.dir = WIRE_IN};
	assert_int_equal(wire_encode_values(&e, L, 1, 1, out), 0);
	wire_enc_free(&e);
	lua_close(L);
}

/* Decodes a message into a fresh state and returns the result of check(v), a Lua
 * function body over v, as a string ("" when it fails). */
static char *check_decoded(const char *p, size_t len, const char *check)
{
	static char got[512];
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	char err[120];
	int n = wire_decode_values(L, p, len, NULL, 10, err, sizeof err);
	assert_true(n >= 1);
	lua_settop(L, 1); /* the first value */
	char code[1024];
	snprintf(code, sizeof code, "local v = ... %s", check);
	assert_int_equal(luaL_loadstring(L, code), LUA_OK);
	lua_insert(L, -2);
	assert_int_equal(lua_pcall(L, 1, 1, 0), LUA_OK);
	snprintf(got, sizeof got, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "");
	lua_close(L);
	return got;
}

/** A sandbox with a loaded script, and its last output. */
struct fix {
	sandbox_t *sb;
	buf_t out;
};

static int load(struct fix *f, const char *src, size_t memory, long long instructions)
{
	sandbox_limits_t lim = {.memory = memory, .instructions = instructions};
	f->sb = sandbox_new(&lim);
	buf_reset(&f->out);
	return sandbox_load(f->sb, src, strlen(src), "=test.lua", NULL, 0, NULL, 0, &f->out);
}

static void done(struct fix *f)
{
	sandbox_free(f->sb);
	buf_free(&f->out);
}

/* Calls the module's function name with no arguments. */
static int call0(struct fix *f, const char *name)
{
	buf_t path = {0}, args = {0};
	char expr[128];
	snprintf(expr, sizeof expr, "'%s'", name);
	encode_expr(expr, &path);
	wire_put_u32(&args, 0);
	buf_reset(&f->out);
	int rc = sandbox_call(f->sb, path.p, path.len, args.p, args.len, &f->out);
	buf_free(&path);
	buf_free(&args);
	return rc;
}

/* ------------------------------------------------------------------ pricing */

static void literal_search_costs_text_times_pattern(void **state)
{
	(void)state;
	assert_true(sandbox_match_cost("needle", 6, 1000, 1) == 7000);
}

static void backtracking_patterns_cost_more_than_the_limit(void **state)
{
	(void)state;
	assert_true(sandbox_match_cost(".-b", 3, 20000, 1) > SANDBOX_MAX_MATCH_COST);
	assert_true(sandbox_match_cost("%s+$", 4, 30000, 1) > SANDBOX_MAX_MATCH_COST);
	/* a trailing repetition never gives back: linear */
	assert_true(sandbox_match_cost("%s+", 3, 12000, 1) < 1e5);
	/* anchored: one start position */
	assert_true(sandbox_match_cost("^(%d+)-(%d+)-(%d+)$", 19, 10, 1) < 1e6);
}

static void searched_length_follows_init(void **state)
{
	(void)state;
	assert_true(sandbox_searched_length(100, 1) == 100);
	assert_true(sandbox_searched_length(100, -10) == 10);
	assert_true(sandbox_searched_length(100, 200) == 0);
	assert_true(sandbox_searched_length(100, -1000) == 100);
}

static void rep_and_spans_have_a_price(void **state)
{
	(void)state;
	assert_true(sandbox_rep_cost(1, 0, 0) == 0);
	assert_true(sandbox_rep_cost(0, 9000000000000000000LL, 0) > 1e18);
	assert_true(sandbox_span_cost(1, 9000000000000000000LL) > 8e18);
	assert_true(sandbox_span_cost(5, 4) == 0);
}

/* ------------------------------------------------------------------ wire */

static void plain_values_round_trip(void **state)
{
	(void)state;
	buf_t b = {0};
	encode_expr(
	    "{ name = 'Zoë', n = 3, f = 0.5, yes = true, no = false, list = { 'a', 'b' }, [7] = 'seven' }",
	    &b);
	const char *got =
	    check_decoded(b.p, b.len,
	                  "return v.name .. math.type(v.n) .. v.f .. tostring(v.yes) .. tostring(v.no) "
	                  ".. #v.list .. v.list[2] .. v[7]");
	assert_string_equal(got, "Zoëinteger0.5truefalse2bseven");
	buf_free(&b);
}

static void shared_tables_and_long_strings_are_written_once(void **state)
{
	(void)state;
	buf_t b = {0};
	encode_expr("(function() local s = ('z'):rep(10000) local t = { v = 1 } local out = { t = t, u = t } "
	            "for i = 1, 100 do out[i] = s end return out end)()",
	            &b);
	assert_true(b.len < 12000); /* not 100 copies */
	assert_string_equal(check_decoded(b.p, b.len, "return tostring(v.t == v.u and #v[100] == 10000)"),
	                    "true");
	buf_free(&b);
}

static void cycles_depth_and_functions_are_refused_with_a_reason(void **state)
{
	(void)state;
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	buf_t b = {0};
	wire_enc_t e = {.dir = WIRE_IN};
	assert_int_equal(luaL_dostring(L, "local t = {} t.me = t return t"), LUA_OK);
	assert_int_equal(wire_encode(&e, L, -1, &b), -1);
	assert_non_null(strstr(e.err, "cycle"));
	wire_enc_free(&e);
	memset(&e, 0, sizeof e);
	assert_int_equal(
	    luaL_dostring(L, "local t = {} local c = t for i = 1, 40 do c.n = {} c = c.n end return t"),
	    LUA_OK);
	assert_int_equal(wire_encode(&e, L, -1, &b), -1);
	assert_non_null(strstr(e.err, "nested more than 32"));
	wire_enc_free(&e);
	memset(&e, 0, sizeof e);
	lua_pushcfunction(L, luaopen_base);
	assert_int_equal(wire_encode(&e, L, -1, &b), -1);
	assert_non_null(strstr(e.err, "a function cannot go into a sandbox"));
	wire_enc_free(&e);
	/* out of a sandbox, a function is a marker */
	memset(&e, 0, sizeof e);
	e.dir = WIRE_OUT;
	buf_reset(&b);
	wire_put_u32(&b, 1);
	assert_int_equal(wire_encode(&e, L, -1, &b), 0);
	assert_string_equal(check_decoded(b.p, b.len, "return v"), "<function>");
	wire_enc_free(&e);
	buf_free(&b);
	lua_close(L);
}

static void malformed_bytes_are_refused_not_trusted(void **state)
{
	(void)state;
	buf_t good = {0};
	encode_expr("{ a = { b = { 'c', 1, 2.5 } }, s = ('x'):rep(100) }", &good);
	lua_State *L = luaL_newstate();
	char err[120];
	/* every truncation fails cleanly */
	for (size_t n = 0; n < good.len; n++) {
		int top = lua_gettop(L);
		assert_int_equal(wire_decode_values(L, good.p, n, NULL, 10, err, sizeof err), -1);
		assert_int_equal(lua_gettop(L), top);
	}
	/* a reference to nothing, a huge count, an unknown tag */
	const char bad_ref[] = {1, 0, 0, 0, 'R', 5, 0, 0, 0};
	assert_int_equal(wire_decode_values(L, bad_ref, sizeof bad_ref, NULL, 10, err, sizeof err), -1);
	const char huge[] = {1, 0, 0, 0, 'T', (char)0xff, (char)0xff, (char)0xff, (char)0x7f};
	assert_int_equal(wire_decode_values(L, huge, sizeof huge, NULL, 10, err, sizeof err), -1);
	const char tag[] = {1, 0, 0, 0, '?'};
	assert_int_equal(wire_decode_values(L, tag, sizeof tag, NULL, 10, err, sizeof err), -1);
	/* nesting deeper than the encoder ever writes */
	buf_t deep = {0};
	wire_put_u32(&deep, 1);
	for (int i = 0; i < 100; i++) {
		wire_put_u8(&deep, 'T');
		wire_put_u32(&deep, 1);
		wire_put_u8(&deep, 't');
	}
	wire_put_u8(&deep, 'n');
	assert_int_equal(wire_decode_values(L, deep.p, deep.len, NULL, 10, err, sizeof err), -1);
	assert_non_null(strstr(err, "deep"));
	buf_free(&deep);
	buf_free(&good);
	lua_close(L);
}

/* ------------------------------------------------------------------ the sandbox */

static void a_script_returns_data_and_functions_answer(void **state)
{
	(void)state;
	struct fix f = {0};
	assert_int_equal(
	    load(&f, "return { name = 'x', hi = function() return 'hello', 42 end }", 1 << 20, 1000000),
	    SANDBOX_OK);
	assert_int_equal(call0(&f, "hi"), SANDBOX_OK);
	assert_string_equal(check_decoded(f.out.p, f.out.len, "return v"), "hello");
	assert_int_equal(wire_peek_u32(f.out.p), 2); /* both results */
	assert_int_equal(call0(&f, "name"), SANDBOX_RUNTIME);
	assert_string_equal(f.out.p, "the script has no function at name");
	done(&f);
}

static void an_endless_loop_dies_on_its_budget(void **state)
{
	(void)state;
	struct fix f = {0};
	assert_int_equal(load(&f, "while true do end", 1 << 20, 100000), SANDBOX_INSTRUCTIONS);
	assert_string_equal(
	    f.out.p, "the script ran longer than its budget of 100000 instructions (an endless loop?)");
	done(&f);
}

static void a_memory_bomb_dies_on_its_cap(void **state)
{
	(void)state;
	struct fix f = {0};
	assert_int_equal(
	    load(&f, "local t = {} while true do t[#t+1] = ('x'):rep(1000) .. #t end", 256 * 1024, 1e9),
	    SANDBOX_MEMORY);
	assert_string_equal(f.out.p, "the script used more than 256 KiB");
	sandbox_stats_t st;
	sandbox_stats(f.sb, &st);
	assert_int_equal(st.dead, SANDBOX_MEMORY);
	assert_true(st.memory_peak <= 256 * 1024);
	done(&f);
}

static void repeating_nothing_is_charged_like_repeating_something(void **state)
{
	(void)state;
	struct fix f = {0};
	int64_t t0 = clock_mono_ms();
	assert_int_equal(load(&f, "return string.rep('', math.maxinteger)", 1 << 20, 1000000),
	                 SANDBOX_INSTRUCTIONS);
	assert_true(clock_mono_ms() - t0 < 1000);
	done(&f);
	assert_int_equal(
	    load(&f, "return { s = string.rep('', 1000), t = ('x'):rep(3, '') }", 1 << 20, 1000000),
	    SANDBOX_OK);
	done(&f);
}

static void c_loops_over_script_sizes_are_charged_to_the_budget(void **state)
{
	(void)state;
	const char *cases[] = {
	    "table.move({}, 1, math.maxinteger, 1, {})",
	    "table.insert(setmetatable({}, { __len = function() return math.maxinteger - 1 end }), 1, 0)",
	    "table.remove(setmetatable({}, { __len = function() return math.maxinteger end }), 1)",
	    "table.concat({}, '', 1, math.maxinteger)",
	    "string.rep('', math.maxinteger)",
	    "table.sort(setmetatable({}, { __len = function() return 2^31 - 2 end, __index = rawlen }))",
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct fix f = {0};
		int64_t t0 = clock_mono_ms();
		int rc = load(&f, cases[i], 4 << 20, 2000000);
		if (rc != SANDBOX_INSTRUCTIONS)
			print_error("%s: %s (%s)\n", cases[i], sandbox_code_name(rc), f.out.p ? f.out.p : "");
		assert_int_equal(rc, SANDBOX_INSTRUCTIONS);
		assert_true(clock_mono_ms() - t0 < 1000);
		done(&f);
	}
}

static void a_looping_message_handler_cannot_outlive_the_budget(void **state)
{
	(void)state;
	struct fix f = {0};
	int64_t t0 = clock_mono_ms();
	assert_int_equal(
	    load(&f, "return xpcall(function() while true do end end, function(e) while true do end end)",
	         1 << 20, 1000000),
	    SANDBOX_INSTRUCTIONS);
	assert_true(clock_mono_ms() - t0 < 2000);
	done(&f);
	/* an ordinary error still reaches the handler */
	assert_int_equal(
	    load(&f, "return { r = select(2, xpcall(error, function(e) return 'handled: ' .. e end, 'x')) }",
	         1 << 20, 1000000),
	    SANDBOX_OK);
	done(&f);
}

static void map_calls_each_item_and_spares_the_others_on_error(void **state)
{
	(void)state;
	struct fix f = {0};
	assert_int_equal(load(&f,
	                      "return { only = function(r, k) if r.n == 2 then error('no two') end "
	                      "return r.n * k end }",
	                      1 << 20, 100000),
	                 SANDBOX_OK);
	buf_t path = {0}, items = {0}, extra = {0};
	encode_expr("'only'", &path);
	encode_expr("{ { n = 1 }, { n = 2 }, { n = 3 } }", &items);
	wire_put_u32(&extra, 1);
	wire_put_integer(&extra, 10);
	buf_reset(&f.out);
	assert_int_equal(
	    sandbox_map(f.sb, path.p, path.len, items.p, items.len, extra.p, extra.len, 0, &f.out),
	    SANDBOX_OK);
	lua_State *L = luaL_newstate();
	char err[120];
	assert_int_equal(wire_decode_values(L, f.out.p, f.out.len, NULL, 10, err, sizeof err), 2);
	lua_rawgeti(L, 1, 1);
	lua_rawgeti(L, 1, 2);
	lua_rawgeti(L, 1, 3);
	assert_int_equal(lua_tointeger(L, -3), 10);
	assert_true(lua_isnil(L, -2));
	assert_int_equal(lua_tointeger(L, -1), 30);
	lua_rawgeti(L, 2, 2);
	lua_getfield(L, -1, "message");
	assert_string_equal(lua_tostring(L, -1), "test.lua:1: no two");
	lua_close(L);
	buf_free(&path);
	buf_free(&items);
	buf_free(&extra);
	done(&f);
}

static void a_map_over_its_batch_budget_stops_without_killing_the_sandbox(void **state)
{
	(void)state;
	struct fix f = {0};
	sandbox_limits_t lim = {.memory = 1 << 20, .instructions = 100000, .batch_instructions = 300000};
	f.sb = sandbox_new(&lim);
	const char *src =
	    "return { f = function() local n = 0 for i = 1, 20000 do n = n + i end return n end }";
	assert_int_equal(sandbox_load(f.sb, src, strlen(src), "=m.lua", NULL, 0, NULL, 0, &f.out),
	                 SANDBOX_OK);
	buf_t path = {0}, items = {0}, extra = {0};
	encode_expr("'f'", &path);
	encode_expr("{ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }", &items);
	wire_put_u32(&extra, 0);
	buf_reset(&f.out);
	assert_int_equal(
	    sandbox_map(f.sb, path.p, path.len, items.p, items.len, extra.p, extra.len, 0, &f.out),
	    SANDBOX_BATCH);
	assert_non_null(strstr(f.out.p, "300000 instructions in all"));
	assert_int_equal(call0(&f, "f"), SANDBOX_OK);
	buf_free(&path);
	buf_free(&items);
	buf_free(&extra);
	done(&f);
}

static int echo_host(void *ud, uint32_t fn, const char *args, size_t len, buf_t *result)
{
	(void)ud;
	if (fn == 2) {
		buf_adds(result, "the host says no");
		return -1;
	}
	buf_add(result, args, len); /* gives back its arguments */
	return 0;
}

static void host_functions_exchange_data(void **state)
{
	(void)state;
	sandbox_limits_t lim = {.memory = 1 << 20, .instructions = 100000};
	sandbox_t *sb = sandbox_new(&lim);
	sandbox_set_host(sb, echo_host, NULL);
	buf_t fns = {0}, out = {0};
	encode_expr("{ 'echo', { 'http', 'nope' } }", &fns);
	const char *src = "local a, b = echo(1, { x = 'y' }) local ok, e = pcall(http.nope) "
	                  "return { a = a, x = b.x, ok = ok, e = e }";
	assert_int_equal(sandbox_load(sb, src, strlen(src), "=h.lua", NULL, 0, fns.p, fns.len, &out),
	                 SANDBOX_OK);
	buf_t path = {0};
	wire_put_u32(&path, 1);
	wire_put_u8(&path, 'n');
	buf_reset(&out);
	assert_int_equal(sandbox_data(sb, path.p, path.len, &out), SANDBOX_OK);
	assert_string_equal(check_decoded(out.p, out.len, "return v.a .. v.x .. tostring(v.ok) .. v.e"),
	                    "1yfalsethe host says no");
	buf_free(&fns);
	buf_free(&out);
	buf_free(&path);
	sandbox_free(sb);
}

static void load_and_reply_frames_round_trip(void **state)
{
	(void)state;
	buf_t b = {0};
	sbp_load_t l = {.id = 7,
	                .now_ms = 1767603600000,
	                .lim = {.memory = 1 << 20, .instructions = 5, .batch_instructions = 9},
	                .name = "=x.lua",
	                .name_len = 6,
	                .src = "return 1",
	                .src_len = 8};
	sbp_put_load(&b, &l);
	assert_int_equal(wire_peek_u32(b.p), b.len - 4);
	assert_int_equal((unsigned char)b.p[4], SBP_LOAD);
	sbp_load_t got;
	assert_int_equal(sbp_get_load(b.p + 5, b.len - 5, &got), 0);
	assert_int_equal(got.id, 7);
	assert_true(got.now_ms == 1767603600000);
	assert_int_equal(got.lim.memory, 1 << 20);
	assert_true(got.lim.batch_instructions == 9);
	assert_memory_equal(got.src, "return 1", 8);
	assert_int_equal(got.env_len, 0);
	assert_int_equal(sbp_get_load(b.p + 5, b.len - 6, &got), -1); /* cut short */
	buf_reset(&b);
	sbp_reply_t r = {.code = SANDBOX_MEMORY,
	                 .st = {.memory = 10, .memory_peak = 20, .instructions = 30, .dead = SANDBOX_MEMORY},
	                 .held = 1,
	                 .payload = "too big",
	                 .payload_len = 7};
	sbp_put_reply(&b, &r);
	sbp_reply_t back;
	assert_int_equal(sbp_get_reply(b.p + 5, b.len - 5, &back), 0);
	assert_int_equal(back.code, SANDBOX_MEMORY);
	assert_int_equal(back.st.memory_peak, 20);
	assert_int_equal(back.held, 1);
	assert_memory_equal(back.payload, "too big", 7);
	b.p[5] = 99; /* a code that does not exist: refused */
	assert_int_equal(sbp_get_reply(b.p + 5, b.len - 5, &back), -1);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(literal_search_costs_text_times_pattern),
	    cmocka_unit_test(backtracking_patterns_cost_more_than_the_limit),
	    cmocka_unit_test(searched_length_follows_init),
	    cmocka_unit_test(rep_and_spans_have_a_price),
	    cmocka_unit_test(plain_values_round_trip),
	    cmocka_unit_test(shared_tables_and_long_strings_are_written_once),
	    cmocka_unit_test(cycles_depth_and_functions_are_refused_with_a_reason),
	    cmocka_unit_test(malformed_bytes_are_refused_not_trusted),
	    cmocka_unit_test(a_script_returns_data_and_functions_answer),
	    cmocka_unit_test(an_endless_loop_dies_on_its_budget),
	    cmocka_unit_test(a_memory_bomb_dies_on_its_cap),
	    cmocka_unit_test(repeating_nothing_is_charged_like_repeating_something),
	    cmocka_unit_test(c_loops_over_script_sizes_are_charged_to_the_budget),
	    cmocka_unit_test(a_looping_message_handler_cannot_outlive_the_budget),
	    cmocka_unit_test(map_calls_each_item_and_spares_the_others_on_error),
	    cmocka_unit_test(a_map_over_its_batch_budget_stops_without_killing_the_sandbox),
	    cmocka_unit_test(host_functions_exchange_data),
	    cmocka_unit_test(load_and_reply_frames_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
