/* Unit tests of core/loop.c: the graceful shutdown, with hooks standing in for the server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log.h"
#include "loop.h"

#include <string.h>

/** What the hooks saw. */
static struct {
	int stopping, stop_serving, busy, close_all, finished;
	void (*drained)(void *);
	void *arg;
	int serving;     /* 1: there is a server */
	int drain_after; /* ms until the requests in progress end (0: never) */
} seen;

static uv_timer_t drain_timer;

static void stopping(void *ud)
{
	(void)ud;
	seen.stopping++;
}

static void on_drain(uv_timer_t *t)
{
	(void)t;
	seen.drained(seen.arg);
}

static int stop_serving(void *ud, void (*drained)(void *), void *arg)
{
	(void)ud;
	seen.stop_serving++;
	if (!seen.serving)
		return -1;
	seen.drained = drained;
	seen.arg = arg;
	if (seen.drain_after)
		uv_timer_start(&drain_timer, on_drain, (uint64_t)seen.drain_after, 0);
	return 0;
}

static int busy(void *ud)
{
	(void)ud;
	seen.busy++;
	return 3;
}

static void close_all(void *ud)
{
	(void)ud;
	seen.close_all++;
}

static void finished(void *ud)
{
	(void)ud;
	seen.finished++;
}

static const loop_hooks_t hooks = {stopping, stop_serving, busy, close_all, finished, NULL};

/* Runs a shutdown with grace_ms on a fresh loop; returns how long the loop ran (ms). */
static uint64_t shut_down(unsigned grace_ms)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	uv_timer_init(&loop, &drain_timer);
	loop_init(&loop, &hooks);
	uint64_t t0 = uv_hrtime();
	loop_shutdown(grace_ms);
	loop_shutdown(grace_ms); /* a second call does nothing */
	uv_run(&loop, UV_RUN_DEFAULT);
	uint64_t ms = (uv_hrtime() - t0) / 1000000;
	uv_close((uv_handle_t *)&drain_timer, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	return ms;
}

static int reset(void **state)
{
	(void)state;
	log_set_level(LOG_ERROR);
	memset(&seen, 0, sizeof seen);
	return 0;
}

static void without_a_server_it_stops_at_once(void **state)
{
	(void)state;
	assert_true(shut_down(5000) < 1000);
	assert_int_equal(seen.stopping, 1);
	assert_int_equal(seen.finished, 1);
	assert_int_equal(seen.close_all, 0);
}

static void requests_in_progress_may_finish(void **state)
{
	(void)state;
	seen.serving = 1;
	seen.drain_after = 30;
	uint64_t ms = shut_down(5000);
	assert_true(ms >= 25 && ms < 1000);
	assert_int_equal(seen.stop_serving, 1);
	assert_int_equal(seen.close_all, 0);
	assert_int_equal(seen.finished, 1);
}

static void after_the_grace_period_connections_are_closed(void **state)
{
	(void)state;
	seen.serving = 1; /* requests that never end */
	uint64_t ms = shut_down(40);
	assert_true(ms >= 35 && ms < 1000);
	assert_int_equal(seen.busy, 1);
	assert_int_equal(seen.close_all, 1);
	assert_int_equal(seen.finished, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(without_a_server_it_stops_at_once, reset),
	    cmocka_unit_test_setup(requests_in_progress_may_finish, reset),
	    cmocka_unit_test_setup(after_the_grace_period_connections_are_closed, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
