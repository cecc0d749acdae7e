/* The sandbox worker processes, seen from the server (see sandbox_pool.h). */
#include "sandbox_pool.h"

#include "clock.h"
#include "log.h"
#include "sandbox_proto.h"
#include "sandbox_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/** How long a new process may take to say it is ready. */
#define SBX_START_MS 5000

/** One worker process slot. */
struct worker {
	sbx_pool_t *pool;
	int index;
	pid_t pid;        /* 0: no process */
	int fd;           /* our end of its socket, -1 without a process */
	unsigned gen;     /* processes started in this slot */
	uv_poll_t *poll;  /* watches fd (waiting workers only) */
	int events;       /* what poll watches now */
	uv_timer_t timer; /* the running request's deadline (waiting workers only) */
	buf_t in;         /* bytes read, not yet a whole frame */
	buf_t out;        /* bytes to write */
	buf_t frees;      /* FREE frames to write once idle */
	sbx_req_t *cur;   /* the running request */
	int orphan;       /* the running request was cancelled: its answer is dropped */
	int in_callback;  /* the running request waits for its owner's ANSWER */
	int ready;        /* the process said it is ready (requests wait until it has) */
	sbx_req_t *head;  /* queued requests, oldest first */
	sbx_req_t *tail;
	int queued;       /* how many */
	int64_t started;  /* when the running request was written or last answered */
	int64_t spent;    /* its time before that (callbacks excluded) */
	unsigned timeout; /* its deadline */
};

struct sbx_pool {
	uv_loop_t *loop;
	char exe[4096];
	int n;            /* waiting workers; w[n] is the blocking one */
	struct worker *w; /* n + 1 slots */
	int closing;      /* sbx_pool_free was called */
	int open_handles; /* handles whose close callback has not run */
	sbx_pool_stats_t st;
};

static void on_poll(uv_poll_t *h, int status, int events);
static void kick(struct worker *w);

/* ------------------------------------------------------------------ processes */

static int is_sync(const struct worker *w)
{
	return w->index == w->pool->n;
}

static void handle_closed(uv_handle_t *h)
{
	sbx_pool_t *p = h->data;
	if (h->type == UV_POLL)
		free(h);
	if (--p->open_handles == 0 && p->closing) {
		free(p->w);
		free(p);
	}
}

/* Ends the process of w (SIGKILL, reaped at once) and forgets its socket. */
static void stop_process(struct worker *w)
{
	if (w->poll) {
		w->poll->data = w->pool;
		uv_close((uv_handle_t *)w->poll, handle_closed);
		w->poll = NULL;
		w->events = 0;
	}
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->pid > 0) {
		kill(w->pid, SIGKILL);
		while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	w->pid = 0;
	buf_reset(&w->in);
	buf_reset(&w->out);
	buf_reset(&w->frees);
	w->in_callback = 0;
	w->orphan = 0;
	w->ready = 0;
	if (!is_sync(w))
		uv_timer_stop(&w->timer);
}

static const char *const PASSED_ENV[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TZ", NULL};

/* Starts a worker process in slot w; 0 or -1. */
static int spawn(struct worker *w)
{
	sbx_pool_t *p = w->pool;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	if (sv[1] <= 2) { /* it must not be one of the descriptors it is copied onto */
		int fd = fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
		close(sv[1]);
		sv[1] = fd;
	}
	char ppid[24];
	snprintf(ppid, sizeof ppid, "%ld", (long)getpid());
	char *argv[] = {p->exe, "sandbox-worker", ppid, NULL};
	char *envp[8];
	int ne = 0;
	for (const char *const *name = PASSED_ENV; *name; name++) {
		char *v = getenv(*name);
		if (!v)
			continue;
		size_t len = strlen(*name) + strlen(v) + 2;
		envp[ne] = malloc(len);
		if (envp[ne])
			snprintf(envp[ne++], len, "%s=%s", *name, v);
	}
	envp[ne] = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
	posix_spawnattr_init(&attr);
	sigset_t none, dflt;
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	sigaddset(&dflt, SIGTERM);
	sigaddset(&dflt, SIGCHLD);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	pid_t pid;
	int rc = sv[1] >= 0 ? posix_spawn(&pid, p->exe, &fa, &attr, argv, envp) : -1;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	for (int i = 0; i < ne; i++)
		free(envp[i]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (rc != 0) {
		close(sv[0]);
		log_error("cannot start a sandbox worker (%s): %s", p->exe, strerror(rc > 0 ? rc : errno));
		return -1;
	}
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	w->fd = sv[0];
	w->pid = pid;
	w->gen++;
	p->st.spawned++;
	if (!is_sync(w)) {
		w->poll = malloc(sizeof *w->poll);
		if (!w->poll || uv_poll_init(p->loop, w->poll, w->fd) != 0) {
			free(w->poll);
			w->poll = NULL;
			stop_process(w);
			return -1;
		}
		p->open_handles++;
		w->poll->data = w;
	}
	return 0;
}

/* Watches what w needs now: its answers while a request runs, writability while bytes wait. */
static void watch(struct worker *w)
{
	if (!w->poll)
		return;
	int ev = 0;
	if (w->cur || w->orphan || !w->ready)
		ev |= UV_READABLE;
	if (w->out.len)
		ev |= UV_WRITABLE;
	if (ev == w->events)
		return;
	w->events = ev;
	if (ev)
		uv_poll_start(w->poll, ev, on_poll);
	else
		uv_poll_stop(w->poll);
}

/* The running request ended: tells its owner, then starts the next one. */
static void end_request(struct worker *w, int how, const char *p, size_t n)
{
	sbx_req_t *r = w->cur;
	int64_t ms = w->spent + (clock_mono_ms() - w->started);
	w->cur = NULL;
	w->orphan = 0;
	w->in_callback = 0;
	if (!is_sync(w))
		uv_timer_stop(&w->timer);
	if (how == SBX_REPLY)
		w->pool->st.requests++;
	if (r)
		r->on_done(r, how, p, n, ms);
	kick(w);
}

/* The process of w failed us (how: SBX_TIMEOUT or SBX_CRASHED): replaced, and the running
 * request ends with how. */
static void replace(struct worker *w, int how, const char *why)
{
	int64_t ms = w->spent + (clock_mono_ms() - w->started);
	if (how == SBX_TIMEOUT) {
		w->pool->st.killed++;
		log_warn("sandbox worker %d stopped after %lld ms: a script ran too long", w->index,
		         (long long)ms);
	} else {
		w->pool->st.crashed++;
		log_warn("sandbox worker %d ended: %s", w->index, why);
	}
	stop_process(w);
	if (!w->pool->closing && spawn(w) != 0)
		log_error("sandbox worker %d could not be started again", w->index);
	if (w->cur || w->orphan)
		end_request(w, how, NULL, 0);
	else
		kick(w);
}

/* Writes what it can of w->out; -1 when the process is gone. */
static int flush(struct worker *w)
{
	while (w->out.len) {
		ssize_t k = send(w->fd, w->out.p, w->out.len, MSG_NOSIGNAL);
		if (k > 0) {
			buf_consume(&w->out, (size_t)k);
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ frames from a worker */

static void send_answer(struct worker *w, int ok, const char *payload, size_t n)
{
	size_t start = sbp_frame_begin(&w->out, SBP_ANSWER);
	wire_put_u8(&w->out, ok ? 1 : 0);
	wire_put_str(&w->out, payload, n);
	sbp_frame_end(&w->out, start);
}

/* Handles whole frames in w->in; returns -1 after replacing the process. */
static int take_frames(struct worker *w)
{
	while (w->in.len >= 4) {
		uint32_t n = wire_peek_u32(w->in.p);
		if (n == 0 || n > SBP_MAX_FRAME) {
			replace(w, SBX_CRASHED, "it sent a malformed frame");
			return -1;
		}
		if (w->in.len < 4 + (size_t)n)
			return 0;
		/* the frame leaves the buffer before anyone hears of it (owners may come back to us) */
		buf_t f = {0};
		buf_add(&f, w->in.p + 4, n);
		buf_consume(&w->in, 4 + (size_t)n);
		if (f.oom) {
			replace(w, SBX_CRASHED, "out of memory reading its answer");
			return -1;
		}
		unsigned type = (unsigned char)f.p[0];
		if (type == SBP_READY && !w->ready) {
			w->ready = 1;
			buf_free(&f);
			kick(w);
			continue;
		}
		if (type == SBP_REPLY && (w->cur || w->orphan)) {
			end_request(w, SBX_REPLY, f.p + 1, n - 1);
		} else if (type == SBP_CALLBACK && w->cur && !w->in_callback) {
			w->in_callback = 1;
			w->spent += clock_mono_ms() - w->started;
			if (!is_sync(w))
				uv_timer_stop(&w->timer);
			w->cur->on_callback(w->cur, f.p + 1, n - 1);
		} else if (type == SBP_CALLBACK && w->orphan) {
			static const char gone[] = "the caller of this script is gone";
			send_answer(w, 0, gone, sizeof gone - 1);
		} else {
			buf_free(&f);
			replace(w, SBX_CRASHED, "it sent a frame out of turn");
			return -1;
		}
		buf_free(&f);
	}
	return 0;
}

/* Reads what the socket holds; -1 after replacing the process. */
static int read_some(struct worker *w)
{
	for (;;) {
		if (buf_reserve(&w->in, 65536) != 0) {
			replace(w, SBX_CRASHED, "out of memory reading its answer");
			return -1;
		}
		ssize_t k = recv(w->fd, w->in.p + w->in.len, w->in.cap - w->in.len - 1, 0);
		if (k > 0) {
			w->in.len += (size_t)k;
			if (w->in.len > (size_t)SBP_MAX_FRAME + 8) {
				replace(w, SBX_CRASHED, "it sent a frame larger than allowed");
				return -1;
			}
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		replace(w, SBX_CRASHED, k == 0 ? "it closed its socket (it died)" : strerror(errno));
		return -1;
	}
}

/* ------------------------------------------------------------------ waiting requests */

static void on_deadline(uv_timer_t *t)
{
	struct worker *w = t->data;
	replace(w, SBX_TIMEOUT, NULL);
}

static void arm(struct worker *w)
{
	if (is_sync(w))
		return;
	int64_t left = (int64_t)w->timeout - w->spent;
	uv_timer_start(&w->timer, on_deadline, (uint64_t)(left > 0 ? left : 1), 0);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct worker *w = h->data;
	if (status < 0) {
		replace(w, SBX_CRASHED, uv_strerror(status));
		return;
	}
	if ((events & UV_WRITABLE) && flush(w) != 0) {
		replace(w, SBX_CRASHED, "it stopped reading");
		return;
	}
	if ((events & UV_READABLE) && (read_some(w) != 0 || take_frames(w) != 0))
		return;
	watch(w);
}

/* Takes the oldest queued request of w (NULL when none). */
static sbx_req_t *pop(struct worker *w)
{
	sbx_req_t *r = w->head;
	if (!r)
		return NULL;
	w->head = r->next;
	if (!w->head)
		w->tail = NULL;
	w->queued--;
	return r;
}

/* Starts the next queued request of an idle worker (and writes its pending FREEs). */
static void kick(struct worker *w)
{
	sbx_pool_t *p = w->pool;
	while (!w->cur && !w->orphan && !p->closing) {
		if (w->pid && !w->ready)
			break; /* starting: its READY frame will kick again */
		if (!w->pid && (w->head || w->frees.len) && spawn(w) != 0) {
			/* no process: every queued request fails now */
			sbx_req_t *r = pop(w);
			if (!r)
				return;
			r->on_done(r, SBX_CRASHED, NULL, 0, 0);
			continue;
		}
		if (w->frees.len) {
			buf_add(&w->out, w->frees.p, w->frees.len);
			buf_reset(&w->frees);
		}
		sbx_req_t *r = pop(w);
		if (!r)
			break;
		w->cur = r;
		if (r->prepare)
			r->prepare(r, w->index, w->gen, &w->out);
		buf_add(&w->out, r->frame.p, r->frame.len);
		w->started = clock_mono_ms();
		w->spent = 0;
		w->timeout = r->timeout_ms;
		arm(w);
		break;
	}
	if (w->pid && !is_sync(w)) {
		if (flush(w) != 0) {
			replace(w, SBX_CRASHED, "it stopped reading");
			return;
		}
		watch(w);
	}
}

/* ------------------------------------------------------------------ the API */

sbx_pool_t *sbx_pool_new(uv_loop_t *loop, const char *exe, int n)
{
	sbx_pool_t *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->w = calloc((size_t)n + 1, sizeof *p->w);
	if (!p->w) {
		free(p);
		return NULL;
	}
	p->loop = loop;
	p->n = n;
	snprintf(p->exe, sizeof p->exe, "%s", exe);
	for (int i = 0; i <= n; i++) {
		struct worker *w = &p->w[i];
		w->pool = p;
		w->index = i;
		w->fd = -1;
		if (i < n) {
			uv_timer_init(loop, &w->timer);
			w->timer.data = w;
			p->open_handles++;
		}
		spawn(w);
	}
	return p;
}

void sbx_pool_free(sbx_pool_t *p)
{
	if (!p)
		return;
	p->closing = 1;
	for (int i = 0; i <= p->n; i++) {
		struct worker *w = &p->w[i];
		stop_process(w);
		w->head = w->tail = NULL;
		w->cur = NULL;
		buf_free(&w->in);
		buf_free(&w->out);
		buf_free(&w->frees);
		if (i < p->n) {
			w->timer.data = p;
			uv_close((uv_handle_t *)&w->timer, handle_closed);
		}
	}
	if (p->open_handles == 0) {
		free(p->w);
		free(p);
	}
}

unsigned sbx_pool_gen(const sbx_pool_t *p, int w)
{
	return p->w[w].gen;
}

int sbx_pool_pick(const sbx_pool_t *p)
{
	int best = 0;
	for (int i = 1; i < p->n; i++) {
		const struct worker *a = &p->w[i], *b = &p->w[best];
		if (a->queued + (a->cur != NULL) < b->queued + (b->cur != NULL))
			best = i;
	}
	return best;
}

void sbx_pool_stats(const sbx_pool_t *p, sbx_pool_stats_t *st)
{
	*st = p->st;
	st->workers = 0;
	for (int i = 0; i <= p->n; i++)
		st->workers += p->w[i].pid > 0;
}

void sbx_submit(sbx_pool_t *p, int w, sbx_req_t *r)
{
	struct worker *wk = &p->w[w];
	r->worker = w;
	r->next = NULL;
	if (wk->tail)
		wk->tail->next = r;
	else
		wk->head = r;
	wk->tail = r;
	wk->queued++;
	kick(wk);
}

/* Drops r from the queue of the blocking worker and tells its owner it crashed. */
static void fail_queued_sync(struct worker *w, sbx_req_t *r)
{
	w->head = w->tail = NULL;
	w->queued = 0;
	r->on_done(r, SBX_CRASHED, NULL, 0, 0);
}

int sbx_run_sync(sbx_pool_t *p, sbx_req_t *r)
{
	struct worker *w = &p->w[p->n];
	if (w->cur || w->orphan || w->head)
		return -1;
	r->worker = p->n;
	r->next = NULL;
	if (!w->pid && spawn(w) != 0) {
		r->on_done(r, SBX_CRASHED, NULL, 0, 0);
		return 0;
	}
	/* a process just started reads its program first: that time is not the script's */
	int64_t until = clock_mono_ms() + SBX_START_MS;
	while (!w->ready) {
		int64_t left = until - clock_mono_ms();
		struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
		if (left <= 0 || (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)) {
			stop_process(w);
			log_warn("sandbox worker %d did not start in time", w->index);
			r->on_done(r, SBX_CRASHED, NULL, 0, 0);
			return 0;
		}
		if (pfd.revents && (read_some(w) != 0 || take_frames(w) != 0)) {
			r->on_done(r, SBX_CRASHED, NULL, 0, 0);
			return 0;
		}
	}
	w->head = w->tail = r;
	w->queued = 1;
	kick(w); /* puts the frames in out */
	if (w->cur != r) {
		fail_queued_sync(w, r);
		return 0;
	}
	while (w->cur == r) {
		if (w->in_callback) { /* the owner answers within on_callback; this one did not */
			replace(w, SBX_CRASHED, "a host function call was left unanswered");
			break;
		}
		int64_t left = (int64_t)w->timeout - w->spent - (clock_mono_ms() - w->started);
		if (left <= 0) {
			replace(w, SBX_TIMEOUT, NULL);
			break;
		}
		struct pollfd pfd = {.fd = w->fd, .events = POLLIN | (w->out.len ? POLLOUT : 0)};
		int k = poll(&pfd, 1, (int)left);
		if (k < 0 && errno != EINTR) {
			replace(w, SBX_CRASHED, strerror(errno));
			break;
		}
		if (k <= 0)
			continue;
		if ((pfd.revents & POLLOUT) && flush(w) != 0) {
			replace(w, SBX_CRASHED, "it stopped reading");
			break;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			if (read_some(w) != 0 || take_frames(w) != 0)
				break;
		}
	}
	return 0;
}

void sbx_answer(sbx_pool_t *p, sbx_req_t *r, int ok, const char *payload, size_t n)
{
	struct worker *w = &p->w[r->worker];
	if (w->cur != r || !w->in_callback)
		return;
	w->in_callback = 0;
	send_answer(w, ok, payload, n);
	w->started = clock_mono_ms();
	if (!is_sync(w)) {
		arm(w);
		if (flush(w) != 0) {
			replace(w, SBX_CRASHED, "it stopped reading");
			return;
		}
		watch(w);
	}
}

void sbx_cancel(sbx_pool_t *p, sbx_req_t *r)
{
	struct worker *w = &p->w[r->worker];
	if (w->cur == r) {
		w->cur = NULL;
		w->orphan = 1;
		if (w->in_callback) {
			static const char gone[] = "the caller of this script is gone";
			w->in_callback = 0;
			send_answer(w, 0, gone, sizeof gone - 1);
			w->started = clock_mono_ms();
			arm(w);
			if (flush(w) != 0)
				replace(w, SBX_CRASHED, "it stopped reading");
			else
				watch(w);
		}
		return;
	}
	for (sbx_req_t **pp = &w->head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != r)
			continue;
		*pp = r->next;
		if (w->tail == r)
			w->tail = prev;
		w->queued--;
		break;
	}
}

void sbx_forget(sbx_pool_t *p, int w, unsigned gen, uint32_t id)
{
	struct worker *wk = &p->w[w];
	if (wk->gen != gen || !wk->pid || p->closing)
		return;
	size_t start = sbp_frame_begin(&wk->frees, SBP_FREE);
	wire_put_u32(&wk->frees, id);
	sbp_frame_end(&wk->frees, start);
	if (!is_sync(wk))
		kick(wk);
}
