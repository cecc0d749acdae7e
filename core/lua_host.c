/* The Lua host: state, tasks (coroutines), the HTTP bridge and the scheduler timer. */
#include "host.h"

#include "buf.h"
#include "clock.h"
#include "list.h"
#include "log.h"
#include "loop.h"
#include "lua_state.h"
#include "proc.h"
#include "scheduler.h"
#include "version.h"

#include <lauxlib.h>
#include <lua-cjson.h>
#include <lualib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

host_t *H;

/* Pushes {code=, message=} with the message formatted from fmt and ap. */
static void push_error_table(lua_State *L, const char *code, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	lua_createtable(L, 0, 2);
	lua_pushstring(L, code);
	lua_setfield(L, -2, "code");
	lua_pushstring(L, msg);
	lua_setfield(L, -2, "message");
}

int host_fail(lua_State *L, const char *code, const char *fmt, ...)
{
	va_list ap;
	lua_pushnil(L);
	va_start(ap, fmt);
	push_error_table(L, code, fmt, ap);
	va_end(ap);
	return 2;
}

/* --- tasks --- */
static void task_release(task_t *t)
{
	if (t->guard) {
		void (*guard)(task_t *) = t->guard;
		t->guard = NULL;
		guard(t);
	}
	if (!H->lua_closed) {
		*(task_t **)lua_getextraspace(t->co) = NULL;
		if (t->finished && H->nidle < TASK_IDLE_MAX && !H->stopping) {
			/* ended normally: nothing is left on its stack, no frame open; the next task
			 * runs on it instead of a new coroutine (fewer allocations, less garbage) */
			lua_settop(t->co, 0);
			lua_sethook(t->co, NULL, 0, 0);
			H->idle_co[H->nidle] = t->co;
			H->idle_ref[H->nidle++] = t->ref;
		} else {
			luaL_unref(H->L, LUA_REGISTRYINDEX, t->ref);
		}
	}
	LIST_UNLINK(H->task_list, t);
	free(t);
	H->tasks--;
}

static void rollback_leftovers(void)
{
	if (H->db && db_depth(H->db) > 0) {
		log_error("a task ended with a transaction open: rolled back");
		while (db_depth(H->db) > 0)
			db_rollback(H->db);
	}
}

static void task_finish(task_t *t, int rc, int nres)
{
	rollback_leftovers();
	if (t->abandoned) {
		task_release(t);
		return;
	}
	if (rc == LUA_OK) {
		t->done(t, 1, nres, NULL);
		t->finished = lua_status(t->co) == LUA_OK;
	} else {
		const char *m = luaL_tolstring(t->co, -1, NULL);
		luaL_traceback(t->co, t->co, m, 0);
		t->done(t, 0, 0, lua_tostring(t->co, -1));
	}
	task_release(t);
}

static task_t *task_run(task_t *t, int nargs)
{
	int nres = 0;
	db_pin_scope(H->db, t->snapshot); /* a task's reads start from the newest data, share a snapshot */
	int rc = lua_resume(t->co, NULL, nargs, &nres);
	db_pin_scope(H->db, 0); /* and no snapshot outlives its slice */
	if (rc == LUA_YIELD) {
		if (t->op)
			return t;
		lua_settop(t->co, 0);
		lua_pushstring(t->co, "coroutine.yield called outside a coroutine of your own");
		rc = LUA_ERRRUN;
	}
	task_finish(t, rc, nres);
	return NULL;
}

task_t *task_start(int nargs, task_done_fn done, void *ud, int snapshot)
{
	lua_State *L = H->L;
	lua_State *co;
	int ref;
	if (H->nidle > 0) {
		H->nidle--;
		co = H->idle_co[H->nidle];
		ref = H->idle_ref[H->nidle];
	} else {
		co = lua_newthread(L);
		ref = luaL_ref(L, LUA_REGISTRYINDEX);
	}
	lua_xmove(L, co, nargs + 1);
	task_t *t = calloc(1, sizeof *t);
	if (!t) {
		luaL_unref(L, LUA_REGISTRYINDEX, ref);
		log_error("out of memory starting a task");
		return NULL;
	}
	t->co = co;
	t->ref = ref;
	t->done = done;
	t->ud = ud;
	t->snapshot = snapshot;
	*(task_t **)lua_getextraspace(co) = t;
	LIST_PUSH(H->task_list, t);
	H->tasks++;
	return task_run(t, nargs);
}

void task_resume(task_t *t, int nargs)
{
	t->op = NULL;
	t->cancel = NULL;
	if (t->abandoned) {
		task_release(t);
		return;
	}
	task_run(t, nargs);
}

void task_abandon(task_t *t)
{
	t->abandoned = 1;
	if (t->op && t->cancel) {
		t->cancel(t); /* frees the op; it will never complete */
		task_release(t);
	}
	/* else: the op completes later and task_resume frees the task */
}

task_t *task_check_async(lua_State *co)
{
	task_t *t = *(task_t **)lua_getextraspace(co);
	if (!t)
		luaL_error(co, "this function waits, so it must be called from a request, job or "
		               "script, not from a coroutine of your own");
	if (H->db && db_depth(H->db) > 0)
		luaL_error(co, "cannot wait inside a database transaction: finish the transaction first");
	return t;
}

task_t *task_current(lua_State *co)
{
	task_t *t = *(task_t **)lua_getextraspace(co);
	if (!t || !lua_isyieldable(co) || H->lua_closed || (H->db && db_depth(H->db) > 0))
		return NULL;
	return t;
}

int task_yield(lua_State *co, task_t *t, void *op, void (*cancel)(task_t *))
{
	t->op = op;
	t->cancel = cancel;
	return lua_yield(co, 0);
}

int task_yieldk(lua_State *co, task_t *t, void *op, void (*cancel)(task_t *), lua_KContext ctx,
                lua_KFunction k)
{
	t->op = op;
	t->cancel = cancel;
	return lua_yieldk(co, 0, ctx, k);
}

/* --- work on the thread pool --- */
static void pool_job_run(uv_work_t *w)
{
	pool_job_t *j = (pool_job_t *)w;
	j->run(j);
}

static void pool_job_after(uv_work_t *w, int status)
{
	pool_job_t *j = (pool_job_t *)w;
	task_t *t = j->task;
	int n = 0;
	if (!t->abandoned)
		n = status != 0 ? host_fail(t->co, "cancelled", "%s was cancelled", j->what)
		                : j->push(j, t->co);
	j->release(j);
	task_resume(t, n); /* an abandoned task is only freed */
}

int pool_job_wait(lua_State *L, task_t *t, pool_job_t *j)
{
	j->task = t;
	if (uv_queue_work(H->loop, &j->w, pool_job_run, pool_job_after) != 0) {
		const char *what = j->what;
		j->release(j);
		return luaL_error(L, "cannot queue %s on the thread pool", what);
	}
	return task_yield(L, t, j, NULL); /* cannot be cancelled once queued: pool_job_after frees it */
}

/* --- background threads: CPU-heavy jobs below the loop's priority --- */
static void bg_thread(void *arg)
{
	(void)arg;
	/* this thread only: the loop keeps its priority */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), BACKGROUND_NICE) != 0)
		log_warn("background thread: cannot lower its priority");
	uv_mutex_lock(&H->bg_lock);
	for (;;) {
		while (!H->bg_queue && !H->bg_stop)
			uv_cond_wait(&H->bg_wake, &H->bg_lock);
		pool_job_t *j = H->bg_queue;
		if (!j)
			break;
		H->bg_queue = j->next;
		if (!H->bg_queue)
			H->bg_queue_tail = NULL;
		uv_mutex_unlock(&H->bg_lock);
		j->run(j);
		uv_mutex_lock(&H->bg_lock);
		j->next = H->bg_done;
		H->bg_done = j;
		uv_async_send(&H->bg_async);
	}
	uv_mutex_unlock(&H->bg_lock);
}

/* On the loop: hands the finished jobs back to their tasks. */
static void bg_deliver(uv_async_t *a)
{
	(void)a;
	uv_mutex_lock(&H->bg_lock);
	pool_job_t *done = H->bg_done;
	H->bg_done = NULL;
	uv_mutex_unlock(&H->bg_lock);
	while (done) {
		pool_job_t *j = done;
		done = j->next;
		if (--H->bg_pending == 0)
			uv_unref((uv_handle_t *)&H->bg_async);
		pool_job_after(&j->w, 0);
	}
}

static int bg_start(void)
{
	if (H->bg_nthreads > 0)
		return 0;
	if (uv_mutex_init(&H->bg_lock) != 0 || uv_cond_init(&H->bg_wake) != 0 ||
	    uv_async_init(H->loop, &H->bg_async, bg_deliver) != 0)
		return -1;
	uv_unref((uv_handle_t *)&H->bg_async);
	int n = (int)uv_available_parallelism() - 1;
	n = n < 1 ? 1 : n > BACKGROUND_MAX ? BACKGROUND_MAX : n;
	for (int i = 0; i < n; i++)
		if (uv_thread_create(&H->bg_threads[H->bg_nthreads], bg_thread, NULL) == 0)
			H->bg_nthreads++;
	return H->bg_nthreads > 0 ? 0 : -1;
}

/* Lets the threads finish the queue and end; hands back what they did (to abandoned tasks). */
static void bg_stop(void)
{
	if (H->bg_nthreads == 0)
		return;
	uv_mutex_lock(&H->bg_lock);
	H->bg_stop = 1;
	uv_cond_broadcast(&H->bg_wake);
	uv_mutex_unlock(&H->bg_lock);
	for (int i = 0; i < H->bg_nthreads; i++)
		uv_thread_join(&H->bg_threads[i]);
	bg_deliver(&H->bg_async);
	H->bg_nthreads = 0;
}

int pool_job_wait_background(lua_State *L, task_t *t, pool_job_t *j)
{
	if (bg_start() != 0) {
		const char *what = j->what;
		j->release(j);
		return luaL_error(L, "cannot start a background thread for %s", what);
	}
	j->task = t;
	j->next = NULL;
	if (H->bg_pending++ == 0)
		uv_ref((uv_handle_t *)&H->bg_async); /* the loop waits for it */
	uv_mutex_lock(&H->bg_lock);
	if (H->bg_queue_tail)
		H->bg_queue_tail->next = j;
	else
		H->bg_queue = j;
	H->bg_queue_tail = j;
	uv_cond_signal(&H->bg_wake);
	uv_mutex_unlock(&H->bg_lock);
	return task_yield(L, t, j, NULL); /* cannot be cancelled once queued: bg_deliver frees it */
}

/* --- HTTP requests --- */
static void push_request(lua_State *L, http_request_t *req)
{
	lua_createtable(L, 0, 8);
	lua_pushstring(L, req->method);
	lua_setfield(L, -2, "method");
	const char *q = memchr(req->target, '?', req->target_len);
	size_t plen = q ? (size_t)(q - req->target) : req->target_len;
	lua_pushlstring(L, req->target, plen);
	lua_setfield(L, -2, "path");
	if (q)
		lua_pushlstring(L, q + 1, req->target_len - plen - 1);
	else
		lua_pushliteral(L, "");
	lua_setfield(L, -2, "query");
	lua_createtable(L, 0, req->header_count);
	for (int i = 0; i < req->header_count; i++) {
		http_header_t *h = &req->headers[i];
		lua_pushlstring(L, h->name, h->name_len);
		lua_pushvalue(L, -1);
		if (lua_rawget(L, -3) == LUA_TSTRING) {
			/* repeated header: join as the RFC says (cookies with "; ") */
			int cookie = h->name_len == 6 && memcmp(h->name, "cookie", 6) == 0;
			lua_pushstring(L, cookie ? "; " : ", ");
			lua_pushlstring(L, h->value, h->value_len);
			lua_concat(L, 3);
		} else {
			lua_pop(L, 1);
			lua_pushlstring(L, h->value, h->value_len);
		}
		lua_rawset(L, -3);
	}
	lua_setfield(L, -2, "headers");
	lua_pushlstring(L, req->body, req->body_len);
	lua_setfield(L, -2, "body");
	lua_pushstring(L, req->peer);
	lua_setfield(L, -2, "peer");
}

/* The answer when the handler failed (what failed is in the log). */
static void respond_internal(http_request_t *req, int status)
{
	http_respond_error(req, status, NULL, 0, "internal",
	                   "Something went wrong on our side. It has been logged.");
}

static int valid_header_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == 0)
			return 0;
	return 1;
}

/* Appends "name: value\r\n" to b; sets *bad when either is not header text. */
static void add_header(buf_t *b, int *bad, lua_State *co, int name_idx, int value_idx)
{
	size_t nl, vl;
	const char *n = lua_tolstring(co, name_idx, &nl);
	const char *v = lua_tolstring(co, value_idx, &vl);
	if (!n || !v || !valid_header_text(n, nl) || !valid_header_text(v, vl) || nl == 0) {
		*bad = 1;
		return;
	}
	buf_add(b, n, nl);
	buf_add(b, ": ", 2);
	buf_add(b, v, vl);
	buf_add(b, "\r\n", 2);
}

/* The length of a request's path: its target up to the query, which may carry a secret (a
 * password link's token) and never goes to the log. */
static int path_len(const http_request_t *req)
{
	const char *q = memchr(req->target, '?', req->target_len);
	return (int)(q ? (size_t)(q - req->target) : req->target_len);
}

/* Opens the regular file at path for an answer's body: its descriptor and size (*size), or -1. */
static int answer_file(const char *path, uint64_t *size)
{
	if (!path)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

static void request_done(task_t *t, int ok, int nres, const char *msg)
{
	http_request_t *req = t->ud;
	if (!ok) {
		log_error("%s %.*s failed: %s", req->method, path_len(req), req->target, msg);
		respond_internal(req, 500);
		return;
	}
	lua_State *co = t->co;
	int base = lua_gettop(co) - nres + 1;
	int status = (int)lua_tointeger(co, base);
	if (nres < 1 || status < 100 || status > 599) {
		log_error("%s %.*s: the handler returned no valid status", req->method, path_len(req),
		          req->target);
		respond_internal(req, 500);
		return;
	}
	buf_t hb = {0};
	int bad = 0;
	if (nres >= 2 && lua_istable(co, base + 1)) {
		lua_pushnil(co);
		while (lua_next(co, base + 1)) {
			if (lua_type(co, -2) == LUA_TSTRING && lua_istable(co, -1)) {
				lua_Integer n = luaL_len(co, -1);
				for (lua_Integer i = 1; i <= n; i++) {
					lua_rawgeti(co, -1, i);
					add_header(&hb, &bad, co, -3, -1);
					lua_pop(co, 1);
				}
			} else if (lua_type(co, -2) == LUA_TSTRING) {
				add_header(&hb, &bad, co, -2, -1);
			} else {
				bad = 1;
			}
			lua_pop(co, 1);
		}
	}
	size_t blen = 0;
	const char *body = NULL;
	int fd = -1;
	uint64_t fsize = 0;
	if (nres >= 3 && lua_istable(co, base + 2)) {
		/* { file = path }: the body is that file, sent as the client takes it */
		lua_getfield(co, base + 2, "file");
		fd = answer_file(lua_tostring(co, -1), &fsize);
		lua_pop(co, 1);
		if (fd < 0)
			bad = 2;
	} else if (nres >= 3) {
		body = lua_tolstring(co, base + 2, &blen);
	}
	if (bad == 2 && !hb.oom) {
		log_error("%s %.*s: the handler's file answer cannot be opened", req->method, path_len(req),
		          req->target);
		respond_internal(req, 500);
	} else if (bad || hb.oom) {
		if (fd >= 0)
			close(fd);
		log_error("%s %.*s: the handler returned a bad header (CR/LF or not text)", req->method,
		          path_len(req), req->target);
		respond_internal(req, 500);
	} else if (fd >= 0) {
		http_respond_file(req, status, hb.p, hb.len, fd, fsize);
	} else {
		http_respond(req, status, hb.p, hb.len, body ? body : "", body ? blen : 0);
	}
	buf_free(&hb);
}

static void request_abandoned(http_request_t *req)
{
	task_t *t = req->ud;
	if (t)
		task_abandon(t);
	req->ud = NULL;
	http_respond(req, 499, NULL, 0, NULL, 0); /* releases the request; nobody reads it */
}

void host_on_request(http_request_t *req, void *ud)
{
	(void)ud;
	lua_State *L = H->L;
	if (H->handler_ref == LUA_NOREF) {
		respond_internal(req, 503);
		return;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, H->handler_ref);
	push_request(L, req);
	req->ud = NULL;
	req->on_abandon = NULL;
	task_t *t = task_start(1, request_done, req, 1);
	if (t) {
		req->ud = t;
		req->on_abandon = request_abandoned;
	}
}

/* --- scheduler timer --- */
static void on_sched_timer(uv_timer_t *timer);

static void jobs_done(task_t *t, int ok, int nres, const char *msg)
{
	if (!ok)
		log_error("running due jobs failed: %s", msg);
	H->sched_running = 0;
	/* false: every job that may start waits for a free slot; a job that ends (or a new one)
	 * calls host_sched_changed again */
	if (ok && nres >= 1 && lua_isboolean(t->co, -1) && !lua_toboolean(t->co, -1) && !H->sched_dirty) {
		uv_timer_stop(&H->sched_timer);
		return;
	}
	/* a number: a due job waits for its lane's task (between two jobs, or its job replanned
	 * itself): look again then, or when that task ends */
	if (ok && nres >= 1 && lua_isinteger(t->co, -1) && !H->sched_dirty) {
		lua_Integer ms = lua_tointeger(t->co, -1);
		uv_timer_start(&H->sched_timer, on_sched_timer, (uint64_t)(ms > 1 ? ms : 1), 0);
		return;
	}
	host_sched_changed();
}

static void on_sched_timer(uv_timer_t *timer)
{
	(void)timer;
	if (H->sched_running || H->jobs_ref == LUA_NOREF || H->stopping)
		return;
	if (H->db && sched_next_due(H->db) > clock_now_ms()) {
		host_sched_changed(); /* woke early (the timer is capped): sleep again */
		return;
	}
	H->sched_running = 1;
	H->sched_dirty = 0;
	lua_rawgeti(H->L, LUA_REGISTRYINDEX, H->jobs_ref);
	task_start(0, jobs_done, NULL, 1);
}

void host_sched_changed(void)
{
	if (!H || !H->db || H->jobs_ref == LUA_NOREF || clock_is_virtual() || H->stopping) {
		if (H)
			uv_timer_stop(&H->sched_timer);
		return;
	}
	if (H->sched_running) {
		H->sched_dirty = 1;
		return;
	}
	int64_t due = sched_next_due(H->db);
	if (due < 0) {
		uv_timer_stop(&H->sched_timer);
		return;
	}
	int64_t delay = due - clock_now_ms();
	if (delay < 1)
		delay = 1; /* a 0 ms timer started while libuv runs its timers would run in the same pass */
	if (delay > 60000)
		delay = 60000; /* wake at least once a minute: the wall clock may jump */
	uv_timer_start(&H->sched_timer, on_sched_timer, (uint64_t)delay, 0);
}

/* --- between loop iterations: no read snapshot kept while waiting; checkpoints off the loop --- */
static void ckpt_run(uv_work_t *w)
{
	(void)w;
	if (db_ckpt_run(H->ckpt, &H->ckpt_frames, &H->ckpt_done) != 0)
		H->ckpt_failures++;
}

static void ckpt_after(uv_work_t *w, int status)
{
	(void)w;
	(void)status;
	H->ckpt_busy = 0;
	H->ckpt_runs++;
}

static void on_between(uv_prepare_t *p)
{
	(void)p;
	if (!H->db)
		return;
	db_end_read(H->db);
	if (H->ckpt_on && !H->ckpt_busy && !H->stopping && db_wal_frames(H->db) >= CHECKPOINT_FRAMES) {
		if (uv_queue_work(H->loop, &H->ckpt_work, ckpt_run, ckpt_after) == 0)
			H->ckpt_busy = 1;
	}
}

void host_offload_checkpoints(void)
{
	if (!H->db || !db_path(H->db) || H->ckpt_on)
		return;
	char err[512];
	H->ckpt = db_ckpt_open(db_path(H->db), err, sizeof err);
	if (!H->ckpt) {
		log_warn("checkpoints stay on the loop: %s", err);
		return;
	}
	db_manual_checkpoints(H->db);
	H->ckpt_on = 1;
}

/* --- core.host: facts about the host itself --- */
static int l_app_dir(lua_State *L)
{
	lua_pushstring(L, H->app_dir);
	return 1;
}

static int l_version(lua_State *L)
{
	lua_pushstring(L, CANDOR_VERSION);
	return 1;
}

static int l_tasks(lua_State *L)
{
	lua_pushinteger(L, H->tasks);
	return 1;
}

/** host.offload_checkpoints() moves the WAL's checkpoints off the loop, as serving does (for a
 * long `candor run` script). */
static int l_offload_checkpoints(lua_State *L)
{
	(void)L;
	host_offload_checkpoints();
	return 0;
}

/** host.checkpoints() -> {offloaded=, runs=, failures=, frames=, done=, wal_frames=}: the WAL
 * checkpoints the thread pool ran (frames and done: the WAL's size and what was copied, last time). */
static int l_checkpoints(lua_State *L)
{
	lua_createtable(L, 0, 6);
	lua_pushboolean(L, H->ckpt_on);
	lua_setfield(L, -2, "offloaded");
	lua_pushinteger(L, H->ckpt_runs);
	lua_setfield(L, -2, "runs");
	lua_pushinteger(L, H->ckpt_failures);
	lua_setfield(L, -2, "failures");
	lua_pushinteger(L, H->ckpt_frames);
	lua_setfield(L, -2, "frames");
	lua_pushinteger(L, H->ckpt_done);
	lua_setfield(L, -2, "done");
	lua_pushinteger(L, H->db ? db_wal_frames(H->db) : 0);
	lua_setfield(L, -2, "wal_frames");
	return 1;
}

/** host.shutdown([grace_ms=5000]) starts the graceful shutdown (as SIGTERM does). */
static int l_shutdown(lua_State *L)
{
	loop_shutdown((unsigned)luaL_optinteger(L, 1, 5000));
	return 0;
}

static void spawned_done(task_t *t, int ok, int nres, const char *msg)
{
	(void)t;
	(void)nres;
	if (!ok)
		log_error("a task started with host.spawn failed: %s", msg);
}

/** host.spawn(fn, ...) runs fn(...) as a task of its own, which may wait; it runs at once until it
 * first waits. Not inside a database transaction. An error it raises is logged. */
static int l_spawn(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TFUNCTION);
	if (H->db && db_depth(H->db) > 0)
		return luaL_error(L, "cannot start a task inside a database transaction");
	int n = lua_gettop(L);
	if (L != H->L)
		lua_xmove(L, H->L, n);
	task_start(n - 1, spawned_done, NULL, 0);
	return 0;
}

/** host.process() -> the name of this process ("pid.start", core/proc.c) */
static int l_process(lua_State *L)
{
	lua_pushstring(L, proc_self());
	return 1;
}

/** host.alive(name) -> true, false, or nil when this system cannot tell */
static int l_alive(lua_State *L)
{
	int rc = proc_alive(luaL_checkstring(L, 1));
	if (rc < 0)
		return 0;
	lua_pushboolean(L, rc);
	return 1;
}

int luaopen_core_host(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"spawn", l_spawn},
	    {"process", l_process},
	    {"alive", l_alive},
	    {"app_dir", l_app_dir},
	    {"version", l_version},
	    {"tasks", l_tasks},
	    {"checkpoints", l_checkpoints},
	    {"offload_checkpoints", l_offload_checkpoints},
	    {"shutdown", l_shutdown},
	    {NULL, NULL},
	};
	luaL_newlib(L, fns);
	return 1;
}

/* --- what shutting down means here (core/loop.c) --- */
static void hook_stopping(void *ud)
{
	(void)ud;
	H->stopping = 1;
	uv_timer_stop(&H->sched_timer);
}

static int hook_stop_serving(void *ud, void (*drained)(void *), void *arg)
{
	(void)ud;
	if (!H->server)
		return -1;
	http_server_stop(H->server, drained, arg);
	return 0;
}

static int hook_busy(void *ud)
{
	(void)ud;
	int conns = 0, busy = 0;
	if (H->server)
		http_server_counts(H->server, &conns, &busy);
	return busy;
}

static void hook_close_all(void *ud)
{
	(void)ud;
	if (H->server)
		http_server_close_all(H->server);
}

static void hook_finished(void *ud)
{
	(void)ud;
	if (H->db && db_depth(H->db) == 0 && db_checkpoint(H->db) == 0)
		log_info("database checkpointed");
}

/* --- state --- */
static int luaopen_cjson_safe_wrap(lua_State *L)
{
	extern int luaopen_cjson_safe(lua_State *);
	return luaopen_cjson_safe(L);
}

int host_init(uv_loop_t *loop, const char *app_dir)
{
	H = calloc(1, sizeof *H);
	if (!H)
		return -1;
	H->loop = loop;
	snprintf(H->app_dir, sizeof H->app_dir, "%s", app_dir);
	pw_cost_named("interactive", &H->pw_cost);
	http_config_default(&H->http_cfg);
	H->handler_ref = LUA_NOREF;
	H->jobs_ref = LUA_NOREF;
	static const loop_hooks_t hooks = {
	    .stopping = hook_stopping,
	    .stop_serving = hook_stop_serving,
	    .busy = hook_busy,
	    .close_all = hook_close_all,
	    .finished = hook_finished,
	};
	loop_init(loop, &hooks);
	uv_timer_init(loop, &H->sched_timer);
	uv_unref((uv_handle_t *)&H->sched_timer); /* jobs alone do not keep the process running */
	uv_prepare_init(loop, &H->between);
	uv_prepare_start(&H->between, on_between);
	uv_unref((uv_handle_t *)&H->between);
	lua_State *L = lua_state_new();
	if (!L)
		return -1;
	H->L = L;
	/* Lua leaves the main thread's extra space uninitialised and copies it into every new
	 * coroutine: clear it so a script's own coroutine is never taken for a task */
	*(task_t **)lua_getextraspace(L) = NULL;
	luaL_openlibs(L);
	/* every request leaves a coroutine and a few tables behind that die young: the
	 * generational collector handles that pattern with less work than the incremental one */
	lua_gc(L, LUA_GCGEN, 0, 0);
	/* modules come from the app folder only; no C modules from disk */
	lua_getglobal(L, "package");
	lua_pushfstring(L, "%s/?.lua;%s/?/init.lua", app_dir, app_dir);
	lua_setfield(L, -2, "path");
	lua_pushliteral(L, "");
	lua_setfield(L, -2, "cpath");
	lua_getfield(L, -1, "preload");
	static const luaL_Reg mods[] = {
	    {"core.db", luaopen_core_db},
	    {"core.crypto", luaopen_core_crypto},
	    {"core.clock", luaopen_core_clock},
	    {"core.sched", luaopen_core_sched},
	    {"core.server", luaopen_core_server},
	    {"core.timer", luaopen_core_timer},
	    {"core.log", luaopen_core_log},
	    {"core.net", luaopen_core_net},
	    {"core.fs", luaopen_core_fs},
	    {"core.host", luaopen_core_host},
	    {"core.authz", luaopen_core_authz},
	    {"core.totp", luaopen_core_totp},
	    {"core.qr", luaopen_core_qr},
	    {"core.xlsx", luaopen_core_xlsx},
	    {"core.pdf", luaopen_core_pdf},
	    {"core.sandbox", luaopen_core_sandbox},
	    {"core.mail", luaopen_core_mail},
	    {"core.fetch", luaopen_core_fetch},
	    {"core.csv", luaopen_core_csv},
	    {"core.tz", luaopen_core_tz},
	    {"cjson", luaopen_cjson},
	    {"cjson.safe", luaopen_cjson_safe_wrap},
	    {NULL, NULL},
	};
	for (const luaL_Reg *m = mods; m->name; m++) {
		lua_pushcfunction(L, m->func);
		lua_setfield(L, -2, m->name);
	}
	lua_pop(L, 2);
	return 0;
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

void host_close(void)
{
	if (!H)
		return;
	if (H->server) {
		http_server_free(H->server); /* freed by the uv_run below */
		H->server = NULL;
	}
	uv_timer_stop(&H->sched_timer);
	H->stopping = 1;
	/* Tasks still waiting are abandoned: cancellable waits end now; thread-pool work that
	 * already started completes during the uv_run below, sees the task abandoned and only
	 * frees it, without touching the (by then closed) Lua state. */
	for (task_t *t = H->task_list, *next; t; t = next) {
		next = t->next;
		task_abandon(t);
	}
	lua_close(H->L); /* runs __gc of handles still held by Lua */
	H->lua_closed = 1;
	H->stopping = 1;
	bg_stop();
	uv_walk(H->loop, close_walk, NULL);
	uv_run(H->loop, UV_RUN_DEFAULT); /* a checkpoint on the pool finishes here */
	db_ckpt_close(H->ckpt);
	H->ckpt = NULL;
	db_close(H->db);
	H->db = NULL;
	keyring_free(H->keyring);
	H->keyring = NULL;
	while (H->task_list)
		task_release(H->task_list); /* waits whose handles were closed above */
	free(H);
	H = NULL;
}
