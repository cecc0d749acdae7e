/** The server's side of the sandbox workers: a small pool of worker processes (the candor binary
 * re-executed as `candor sandbox-worker`), each answering one request at a time over a Unix
 * socket (core/sandbox_proto.h), killed with SIGKILL when a request runs past its wall-clock
 * deadline and started again at once. Worker processes 0..n-1 serve requests that wait on the
 * loop; worker n serves requests that block it (sbx_run_sync), with a short deadline.
 *
 * libuv and plain C: no Lua. Requests carry frames; their owner builds them and reads the
 * answers. */
#ifndef CANDOR_SANDBOX_POOL_H
#define CANDOR_SANDBOX_POOL_H

#include "buf.h"

#include <stdint.h>
#include <uv.h>

/** The pool; opaque. */
typedef struct sbx_pool sbx_pool_t;
/** A request (embedded in its owner's own structure). */
typedef struct sbx_req sbx_req_t;

/** How a request ends. */
enum sbx_end {
	SBX_REPLY,   /* the worker answered: p/n is the REPLY frame after its type byte */
	SBX_TIMEOUT, /* it ran past its deadline: the worker was killed */
	SBX_CRASHED, /* the worker ended, sent something malformed, or could not be started */
};

struct sbx_req {
	/* set by the owner before submitting */
	buf_t frame;         /* the request's frame(s), length prefixes included (the owner's: the pool
	                        writes a copy, so the owner may submit the same request again) */
	unsigned timeout_ms; /* deadline from when it is written, time in callbacks excluded */
	/** Called just before the request is written to worker w, whose processes are counted by
	 * gen: appends what must come first (a LOAD the worker lacks) to out. May be NULL. */
	void (*prepare)(sbx_req_t *r, int w, unsigned gen, buf_t *out);
	/** A CALLBACK frame (p/n after the type byte): the owner answers with sbx_answer; the
	 * deadline waits meanwhile. */
	void (*on_callback)(sbx_req_t *r, const char *p, size_t n);
	/** The request ended (how: enum sbx_end). The pool no longer touches r. */
	void (*on_done)(sbx_req_t *r, int how, const char *p, size_t n, int64_t ms);
	void *ud; /* for the owner */
	/* the pool's */
	sbx_req_t *next;
	int worker;
};

/** Counters of the pool, for tests and the admin. */
typedef struct sbx_pool_stats {
	int workers;        /* worker processes running */
	long long spawned;  /* processes started */
	long long killed;   /* processes killed on a deadline */
	long long crashed;  /* processes that ended by themselves */
	long long requests; /* requests answered */
} sbx_pool_stats_t;

/** A pool of n workers for waiting requests plus one for blocking ones, started at once. exe:
 * the candor binary. NULL when out of memory. */
sbx_pool_t *sbx_pool_new(uv_loop_t *loop, const char *exe, int n);
/** Kills every worker; requests still queued or running are dropped (their owners must have
 * cancelled them); frees the pool once its handles are closed (run the loop). */
void sbx_pool_free(sbx_pool_t *p);
/** The current process generation of worker w (it changes when the process is replaced). */
unsigned sbx_pool_gen(const sbx_pool_t *p, int w);
/** The waiting worker with the least work queued (for a new script). */
int sbx_pool_pick(const sbx_pool_t *p);
/** The counters. */
void sbx_pool_stats(const sbx_pool_t *p, sbx_pool_stats_t *st);

/** Queues r on worker w (0..n-1); on_done is called from the loop later. */
void sbx_submit(sbx_pool_t *p, int w, sbx_req_t *r);
/** Runs r on the blocking worker and returns when it ended (on_done has been called). -1 when
 * that worker is already busy (a host function of a blocking request made another): on_done is
 * not called. */
int sbx_run_sync(sbx_pool_t *p, sbx_req_t *r);
/** Answers the CALLBACK of running request r with an ANSWER frame (ok, payload). */
void sbx_answer(sbx_pool_t *p, sbx_req_t *r, int ok, const char *payload, size_t n);
/** The owner of r is gone: a queued r is dropped; a running one finishes unheard (its
 * callbacks are refused). on_done is never called; the owner may free r at once. */
void sbx_cancel(sbx_pool_t *p, sbx_req_t *r);
/** Tells worker w (if its process is still generation gen) to forget script id. */
void sbx_forget(sbx_pool_t *p, int w, unsigned gen, uint32_t id);

#endif
