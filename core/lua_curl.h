/** What the bindings that wait on curl_uv transfers (core.mail, core.fetch) share: the module
 * state — the driver, started at first use, and the transfers in flight — and its clean-up.
 * Not a Lua module of its own. */
#ifndef CANDOR_LUA_CURL_H
#define CANDOR_LUA_CURL_H

#include "curl_uv.h"
#include "host.h"

#include <lauxlib.h>

struct curl_state;

/** A transfer a task waits on; in its module's list until it ends or is cancelled. */
typedef struct curl_op {
	struct curl_op *prev, *next;
	struct curl_state *st;
	void *job;                    /* the curl_uv job (mail_job_t, fetch_job_t) */
	void (*cancel_job)(void *job); /* cancels that job */
	task_t *task;                 /* the waiting task */
} curl_op_t;

/** A module's state: a userdata, upvalue 1 of the module's functions. */
typedef struct curl_state {
	curl_uv_t *cu;  /* the driver, NULL until first used */
	curl_op_t *ops; /* transfers in flight */
} curl_state_t;

/** Pushes the module table with fns (each gets the state as upvalue 1, plus "pending"); the
 * state's metatable mt has a __gc that, at host close, abandons the waiting tasks (cancelling
 * their transfers) and frees the driver. */
void lua_curl_module(lua_State *L, const char *mt, const luaL_Reg *fns);
/** The calling function's state with its driver started; raises "<who>: cannot start libcurl". */
curl_state_t *lua_curl_state(lua_State *L, const char *who);
/** A new op for task t (not yet in the list: start the job with it as user data, then call
 * lua_curl_started). Raises on out of memory. */
curl_op_t *lua_curl_op(lua_State *L, curl_state_t *st, task_t *t);
/** The job started: puts op in the list. */
void lua_curl_started(curl_op_t *op, void *job, void (*cancel_job)(void *));
/** The job ended: takes op out of the list, frees it and returns its task. */
task_t *lua_curl_done(curl_op_t *op);
/** The task cancel function to give task_yield: the waiting task is gone, drop the transfer. */
void lua_curl_cancel(task_t *t);

#endif
