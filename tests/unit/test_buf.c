/* Unit tests of core/buf.c, the growable byte buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "buf.h"

#include <stdlib.h>
#include <string.h>

static void appends_grow_and_stay_terminated(void **state)
{
	(void)state;
	buf_t b = {0};
	assert_null(b.p);
	buf_adds(&b, "Zoë");
	buf_addc(&b, ' ');
	for (int i = 0; i < 1000; i++)
		buf_add(&b, "0123456789", 10);
	assert_int_equal(b.len, strlen("Zoë") + 1 + 10000);
	assert_int_equal(b.p[b.len], 0);
	assert_true(b.cap > b.len);
	assert_memory_equal(b.p, "Zoë 0123", 9);
	buf_free(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
}

static void printf_appends_formatted_text(void **state)
{
	(void)state;
	buf_t b = {0};
	buf_printf(&b, "%d-%s", 42, "x");
	buf_printf(&b, "|%05.1f", 3.14159);
	assert_string_equal(b.p, "42-x|003.1");
	char big[5000];
	memset(big, 'y', sizeof big - 1);
	big[sizeof big - 1] = 0;
	buf_printf(&b, "%s", big);
	assert_int_equal(b.len, 10 + sizeof big - 1);
	buf_free(&b);
}

static void consume_drops_from_the_front(void **state)
{
	(void)state;
	buf_t b = {0};
	buf_adds(&b, "frame1frame2");
	buf_consume(&b, 6);
	assert_string_equal(b.p, "frame2");
	buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.p, "");
	buf_free(&b);
}

static void a_failed_reserve_marks_it_and_later_appends_do_nothing(void **state)
{
	(void)state;
	buf_t b = {0};
	buf_adds(&b, "ok");
	assert_int_equal(buf_reserve(&b, (size_t)-1), -1);
	assert_true(b.oom);
	buf_adds(&b, "lost");
	assert_int_equal(b.len, 2);
	buf_reset(&b);
	assert_false(b.oom);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(appends_grow_and_stay_terminated),
	    cmocka_unit_test(printf_appends_formatted_text),
	    cmocka_unit_test(consume_drops_from_the_front),
	    cmocka_unit_test(a_failed_reserve_marks_it_and_later_appends_do_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
