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

int luaopen_core_timer(lua_State *L)
{
	static const luaL_Reg fns[] = {{"sleep", l_sleep}, {NULL, NULL}};
	luaL_newlib(L, fns);
	return 1;
}
