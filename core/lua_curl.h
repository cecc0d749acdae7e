/** What the bindings that wait on curl_uv transfers (core.mail, core.fetch) share: the module
 * state — the driver, started at first use — and the clean-up of a transfer whose task is gone.
 * (The host abandons every waiting task when it closes, which cancels their transfers: no list
 * of transfers is kept here.) Not a Lua module of its own. */
#ifndef CANDOR_LUA_CURL_H
#define CANDOR_LUA_CURL_H

#include "curl_uv.h"
#include "host.h"

#include <lauxlib.h>

/** A transfer a task waits on. */
typedef struct curl_op {
	void *job;                     /* the curl_uv job (mail_job_t, fetch_job_t) */
	void (*cancel_job)(void *job); /* cancels that job */
	task_t *task;                  /* the waiting task */
} curl_op_t;

/** A module's state: a userdata, upvalue 1 of the module's functions. */
typedef struct curl_state {
	curl_uv_t *cu; /* the driver, NULL until first used */
} curl_state_t;

/** Pushes the module table with fns (each gets the state as upvalue 1, plus "pending"); the
 * state's metatable mt has a __gc that frees the driver at host close (after the host has
 * abandoned the waiting tasks, cancelling their transfers). */
void lua_curl_module(lua_State *L, const char *mt, const luaL_Reg *fns);
/** The calling function's state with its driver started; raises "<who>: cannot start libcurl". */
curl_state_t *lua_curl_state(lua_State *L, const char *who);
/** A new op for task t (start the job with it as user data, then call lua_curl_started).
 * Raises on out of memory. */
curl_op_t *lua_curl_op(lua_State *L, task_t *t);
/** The job started: op remembers it and how to cancel it. */
void lua_curl_started(curl_op_t *op, void *job, void (*cancel_job)(void *));
/** The job ended: frees op and returns its task. */
task_t *lua_curl_done(curl_op_t *op);
/** The task cancel function to give task_yield: the waiting task is gone, drop the transfer. */
void lua_curl_cancel(task_t *t);

#endif
