/** The Lua host: one Lua state on the libuv loop; every request, job and script runs as a
 * task (its own coroutine). Async C functions yield the task; their completion resumes it. */
#ifndef CANDOR_HOST_H
#define CANDOR_HOST_H

#include "crypto.h"
#include "db.h"
#include "http.h"

#include <lua.h>
#include <uv.h>

struct task;
/** Called once when a task ends: ok is 1 with its results on co's stack (nres of them),
 * or 0 with the error text (traceback included) as msg. */
typedef void (*task_done_fn)(struct task *t, int ok, int nres, const char *msg);

/** A running coroutine. */
typedef struct task {
	lua_State *co;                  /* the coroutine */
	int ref;                        /* registry reference keeping it alive */
	task_done_fn done;              /* end callback */
	void *ud;                       /* for the owner */
	void *op;                       /* the pending async operation, if any */
	void (*cancel)(struct task *t); /* cancels op when the task is abandoned; may be NULL */
	int abandoned;                  /* owner is gone: never resume, results are dropped */
	void (*guard)(struct task *t);  /* called if the task ends while it is set (work it runs
	                                   on behalf of an operation it was resumed for) */
	void *guard_ud;                 /* for the guard */
	int snapshot;                   /* its slices share a read snapshot (db_pin_scope) */
	int finished;                   /* ran to its end without an error: its coroutine may serve again */
	struct task *prev, *next;       /* the host's list of live tasks */
} task_t;

/** Coroutines of tasks that ended normally kept for the next tasks, at most. */
#define TASK_IDLE_MAX 64

/** At most this many background threads (pool_job_wait_background). */
#define BACKGROUND_MAX 4

/** Process-wide host state. */
typedef struct host {
	uv_loop_t *loop;
	lua_State *L;                      /* main state */
	db_t *db;                          /* the open database, or NULL */
	keyring_t *keyring;                /* master keys */
	char keyring_path[4096];           /* where they live ("" when ephemeral) */
	pw_cost_t pw_cost;                 /* cost of new password hashes */
	http_server_t *server;             /* listening server, or NULL */
	http_config_t http_cfg;            /* its limits */
	char app_dir[4096];                /* the lua/ folder */
	int handler_ref;                   /* Lua request handler */
	int jobs_ref;                      /* Lua handler for due jobs */
	uv_timer_t sched_timer;            /* armed for the next due job */
	int sched_running;                 /* a jobs task is running */
	int sched_dirty;                   /* jobs changed while it ran */
	int tasks;                         /* live tasks */
	task_t *task_list;                 /* the live tasks themselves */
	lua_State *idle_co[TASK_IDLE_MAX]; /* coroutines of finished tasks, empty, ready to run again */
	int idle_ref[TASK_IDLE_MAX];       /* their registry references */
	int nidle;                         /* how many */
	int lua_closed;                    /* host_close has closed the Lua state: tasks are only freed */
	uv_prepare_t between; /* runs before the loop waits: ends the read snapshot, starts checkpoints */
	db_ckpt_t *ckpt;      /* the connection that checkpoints off the loop (serving a file) */
	int ckpt_on;          /* checkpoints are the host's (host_offload_checkpoints) */
	int ckpt_busy;        /* one is running on the thread pool */
	uv_work_t ckpt_work;  /* that one */
	int ckpt_runs, ckpt_failures; /* how many ran, failed */
	int ckpt_frames, ckpt_done;   /* the WAL's size and how much of it was copied, last time */
	uv_mutex_t bg_lock;           /* guards the background queue below */
	uv_cond_t bg_wake;            /* a job was queued, or bg_stop */
	uv_async_t bg_async;          /* wakes the loop: jobs are done */
	struct pool_job *bg_queue, *bg_queue_tail; /* waiting for a background thread */
	struct pool_job *bg_done;                  /* done, to be handed back on the loop */
	uv_thread_t bg_threads[BACKGROUND_MAX];
	int bg_nthreads; /* started (0: not set up yet) */
	int bg_pending;  /* queued and not handed back yet (keeps the loop alive) */
	int bg_stop;     /* the threads end once the queue is empty */
	int stopping;    /* shutting down */
	int exit_code;   /* for the command line */
} host_t;

/** The host of this process (NULL before host_init). */
extern host_t *H;

/** Creates the Lua state with the core.* modules; app_dir is the lua/ folder. 0 or -1. */
int host_init(uv_loop_t *loop, const char *app_dir);
/** Closes the server, database and Lua state. */
void host_close(void);

/** Starts a task running the function below nargs arguments on the main state's stack
 * (both are popped). Runs it until it first yields or ends. Returns the task (or NULL if it
 * already ended: done has been called). With snapshot, the reads of each of its slices share one
 * read snapshot (db_pin_scope): for requests and jobs, not for code that runs to its end. */
task_t *task_start(int nargs, task_done_fn done, void *ud, int snapshot);
/** Resumes t with nargs values already pushed on t->co. */
void task_resume(task_t *t, int nargs);
/** The owner of t is gone: cancel the pending op if possible, never resume, free later. */
void task_abandon(task_t *t);
/** The task running co, raising a Lua error if co is not a host task or the database has
 * an open transaction (no waiting inside a transaction). */
task_t *task_check_async(lua_State *co);
/** The task running co if it may wait now (a host task, yieldable, no transaction open), else
 * NULL (never raises). */
task_t *task_current(lua_State *co);
/** Suspends the calling C function's task on op; the completion calls task_resume.
 * Use as: return task_yield(L, t, op, cancel); */
int task_yield(lua_State *co, task_t *t, void *op, void (*cancel)(task_t *));
/** The same with a continuation: k runs when the task is resumed (lua_yieldk). */
int task_yieldk(lua_State *co, task_t *t, void *op, void (*cancel)(task_t *), lua_KContext ctx,
                lua_KFunction k);

/** Work a task waits for on the libuv thread pool (core.crypto's password hashing, core.xlsx,
 * core.pdf): embed it first in the job's own structure. Once queued it cannot be cancelled: an
 * abandoned task's job still runs, then is released without resuming anyone. */
typedef struct pool_job {
	uv_work_t w;
	task_t *task;
	/** On a pool thread: the work itself. */
	void (*run)(struct pool_job *j);
	/** Back on the loop, the task still waiting: pushes its results on co, returns how many. */
	int (*push)(struct pool_job *j, lua_State *co);
	/** Frees the job (always called, after push). */
	void (*release)(struct pool_job *j);
	const char *what;      /* "the export": for "the export was cancelled" */
	struct pool_job *next; /* the background queue's order (pool_job_wait_background) */
} pool_job_t;

/** Queues j (run, push, release, what set) for task t and waits: use as
 * return pool_job_wait(L, t, j). When it cannot be queued, releases j and raises. */
int pool_job_wait(lua_State *L, task_t *t, pool_job_t *j);
/** The same on the background threads instead: CPU-heavy work that may wait (password
 * hashing). They run at a lower priority than the loop (nice BACKGROUND_NICE) and there are
 * fewer of them than CPUs (at least one), so that a burst of such jobs never takes the CPU from
 * the requests being served; the jobs queue up instead. */
int pool_job_wait_background(lua_State *L, task_t *t, pool_job_t *j);
/** The niceness of the background threads: the lowest, so that hashing takes only what the
 * requests leave (measured in bench/README.md, "Sign-in storms"), yet unlike SCHED_IDLE it is
 * never starved outright by a busy loop. */
#define BACKGROUND_NICE 19

/** The HTTP handler that runs the Lua request handler in a new task. */
void host_on_request(http_request_t *req, void *ud);

/** From now on the WAL is checkpointed on the thread pool, by a connection of its own, once it
 * holds CHECKPOINT_FRAMES frames: never by a commit on the loop (a file database only). */
void host_offload_checkpoints(void);
/** Frames the WAL may hold before a checkpoint is started. */
#define CHECKPOINT_FRAMES 1000

/** Re-arms the scheduler timer for the earliest job (after jobs changed). */
void host_sched_changed(void);

/** Pushes nil and {code=..., message=...}; returns 2. */
int host_fail(lua_State *L, const char *code, const char *fmt, ...);

/* module openers, one per core/lua_<area>.c */
int luaopen_core_db(lua_State *L);
int luaopen_core_crypto(lua_State *L);
int luaopen_core_clock(lua_State *L);
int luaopen_core_sched(lua_State *L);
int luaopen_core_server(lua_State *L);
int luaopen_core_timer(lua_State *L);
int luaopen_core_log(lua_State *L);
int luaopen_core_net(lua_State *L);
int luaopen_core_fs(lua_State *L);
int luaopen_core_host(lua_State *L);
int luaopen_core_authz(lua_State *L);
int luaopen_core_totp(lua_State *L);
int luaopen_core_qr(lua_State *L);
int luaopen_core_xlsx(lua_State *L);
int luaopen_core_pdf(lua_State *L);
int luaopen_core_sandbox(lua_State *L);
int luaopen_core_mail(lua_State *L);
int luaopen_core_fetch(lua_State *L);
int luaopen_core_csv(lua_State *L);
int luaopen_core_tz(lua_State *L);

#endif
