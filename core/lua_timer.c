/* core.timer: waiting without blocking the loop. */
#include "host.h"

#include <lauxlib.h>
#include <stdlib.h>

/** A sleep in progress; freed when its handle is closed. */
struct sleep_op {
	uv_timer_t timer;
	task_t *task;
};

static void free_op(uv_handle_t *h)
{
	free(h->data);
}

static void on_wake(uv_timer_t *timer)
{
	struct sleep_op *op = timer->data;
	task_t *t = op->task;
	uv_close((uv_handle_t *)&op->timer, free_op);
	lua_pushboolean(t->co, 1);
	task_resume(t, 1);
}

static void cancel_sleep(task_t *t)
{
	struct sleep_op *op = t->op;
	uv_timer_stop(&op->timer);
	uv_close((uv_handle_t *)&op->timer, free_op);
}

/** timer.sleep(ms) -> true, after ms milliseconds of real time (waits) */
static int l_sleep(lua_State *L)
{
	task_t *t = task_check_async(L);
	lua_Integer ms = luaL_checkinteger(L, 1);
	luaL_argcheck(L, ms >= 0, 1, "not negative");
	struct sleep_op *op = malloc(sizeof *op);
	if (!op)
		return luaL_error(L, "out of memory");
	op->task = t;
	uv_timer_init(H->loop, &op->timer);
	op->timer.data = op;
	uv_timer_start(&op->timer, on_wake, (uint64_t)ms, 0);
	return task_yield(L, t, op, cancel_sleep);
}

/** A yield in progress: resumed in the check phase after the loop polled for I/O (without
 * blocking: the idle handle keeps the poll from waiting). Freed when both handles are closed. */
struct yield_op {
	uv_check_t check;
	uv_idle_t idle;
	task_t *task;
	int open;
};

static void free_yield(uv_handle_t *h)
{
	struct yield_op *op = h->data;
	if (--op->open == 0)
		free(op);
}

static void close_yield(struct yield_op *op)
{
	uv_close((uv_handle_t *)&op->check, free_yield);
	uv_close((uv_handle_t *)&op->idle, free_yield);
}

static void on_idle(uv_idle_t *idle)
{
	(void)idle; /* only there so that the poll does not wait */
}

static void on_check(uv_check_t *check)
{
	struct yield_op *op = check->data;
	task_t *t = op->task;
	close_yield(op);
	lua_pushboolean(t->co, 1);
	task_resume(t, 1);
}

static void cancel_yield(task_t *t)
{
	close_yield(t->op);
}

/** timer.yield() -> true, once the loop served what was ready meanwhile (I/O, due timers,
 * finished work): it polls without waiting, so the task goes on at once when nothing else is
 * ready (waits) */
static int l_yield(lua_State *L)
{
	task_t *t = task_check_async(L);
	struct yield_op *op = malloc(sizeof *op);
	if (!op)
		return luaL_error(L, "out of memory");
	op->task = t;
	op->open = 2;
	uv_check_init(H->loop, &op->check);
	uv_idle_init(H->loop, &op->idle);
	op->check.data = op->idle.data = op;
	uv_check_start(&op->check, on_check);
	uv_idle_start(&op->idle, on_idle);
	return task_yield(L, t, op, cancel_yield);
}

int luaopen_core_timer(lua_State *L)
{
	static const luaL_Reg fns[] = {{"sleep", l_sleep}, {"yield", l_yield}, {NULL, NULL}};
	luaL_newlib(L, fns);
	return 1;
}
