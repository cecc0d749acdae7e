/* The sandbox worker process: `candor sandbox-worker PID`, started by the server
 * (core/sandbox_pool.c). It holds the sandboxes of the scripts the server sends it and answers
 * one request at a time on stdin/stdout (core/sandbox_proto.h). It has no database, no keys, no
 * sockets but its own: the server can kill it at any moment, and does so when a request runs
 * past its wall-clock deadline. */
#include "sandbox_proto.h"

#include "clock.h"
#include "sandbox.h"
#include "sandbox_wire.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

/** Backstops beside the sandboxes' own caps: address space, CPU time, files. */
#define WORKER_MAX_ADDRESS_SPACE (4ULL * 1024 * 1024 * 1024)
#define WORKER_MAX_CPU_SECONDS 3600

/** A script the worker holds: its id from the server, its sandbox, or why it failed to load. */
struct slot {
	uint32_t id;
	sandbox_t *sb; /* NULL when the load failed */
	int fail_code; /* that failure, reported to the next request on id */
	buf_t fail_text;
};

/** The worker's state. */
static struct {
	struct slot *slots;
	size_t n, cap;
	buf_t in;     /* the request being served */
	buf_t answer; /* the answer to a host function call */
	buf_t out;    /* the frame being written */
} W;

/* ------------------------------------------------------------------ frames */

static int read_all(char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = read(0, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(1, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			_exit(0); /* the server is gone */
		p += k;
		n -= (size_t)k;
	}
}

/* Reads the next frame into b (without its length); exits when the server is gone. */
static void read_frame(buf_t *b)
{
	char len[4];
	if (read_all(len, 4) != 0)
		_exit(0);
	uint32_t n = wire_peek_u32(len);
	if (n == 0 || n > SBP_MAX_FRAME)
		_exit(3);
	buf_reset(b);
	if (buf_reserve(b, n) != 0)
		_exit(4);
	if (read_all(b->p, n) != 0)
		_exit(0);
	b->len = n;
}

/* Starts a frame of type t in W.out (its length is filled by send_frame). */
static void begin_frame(unsigned t)
{
	buf_reset(&W.out);
	sbp_frame_begin(&W.out, t);
}

static void send_frame(void)
{
	sbp_frame_end(&W.out, 0);
	if (W.out.oom)
		_exit(4);
	write_all(W.out.p, W.out.len);
}

/* ------------------------------------------------------------------ scripts */

static struct slot *find(uint32_t id)
{
	for (size_t i = 0; i < W.n; i++)
		if (W.slots[i].id == id)
			return &W.slots[i];
	return NULL;
}

static void drop(uint32_t id)
{
	struct slot *s = find(id);
	if (!s)
		return;
	sandbox_free(s->sb);
	buf_free(&s->fail_text);
	*s = W.slots[--W.n];
}

/* Serves a script's call of host function fn: asks the server, waits for its answer. */
static int host_call(void *ud, uint32_t fn, const char *args, size_t len, buf_t *result)
{
	(void)ud;
	begin_frame(SBP_CALLBACK);
	wire_put_u32(&W.out, fn);
	wire_put_str(&W.out, args, len);
	send_frame();
	read_frame(&W.answer);
	wire_rd_t r = {.p = W.answer.p, .len = W.answer.len};
	if (wire_get_u8(&r) != SBP_ANSWER)
		_exit(3);
	unsigned ok = wire_get_u8(&r);
	size_t n;
	const char *p = wire_get_str(&r, &n);
	if (r.bad)
		_exit(3);
	buf_add(result, p, n);
	return ok ? 0 : -1;
}

static void load(const char *p, size_t n)
{
	sbp_load_t l;
	if (sbp_get_load(p, n, &l) != 0)
		_exit(3);
	clock_set_virtual(l.now_ms);
	drop(l.id);
	if (W.n == W.cap) {
		size_t cap = W.cap ? W.cap * 2 : 16;
		struct slot *s = realloc(W.slots, cap * sizeof *s);
		if (!s)
			_exit(4);
		W.slots = s;
		W.cap = cap;
	}
	struct slot *s = &W.slots[W.n++];
	memset(s, 0, sizeof *s);
	s->id = l.id;
	char chunk[256];
	memcpy(chunk, l.name, l.name_len);
	chunk[l.name_len] = 0;
	s->sb = sandbox_new(&l.lim);
	if (!s->sb)
		_exit(4);
	sandbox_set_host(s->sb, host_call, NULL);
	int code = sandbox_load(s->sb, l.src, l.src_len, chunk, l.env_len ? l.env : NULL, l.env_len,
	                        l.fns_len ? l.fns : NULL, l.fns_len, &s->fail_text);
	if (code != SANDBOX_OK) {
		sandbox_free(s->sb);
		s->sb = NULL;
		s->fail_code = code;
	}
}

/* Answers a request on a script: the operation's code, the counters, the payload. */
static void reply(int code, const sandbox_t *sb, const buf_t *payload)
{
	sbp_reply_t r = {.code = code, .held = sb != NULL};
	if (sb)
		sandbox_stats(sb, &r.st);
	if (payload) {
		r.payload = payload->p;
		r.payload_len = payload->len;
	}
	buf_reset(&W.out);
	sbp_put_reply(&W.out, &r);
	send_frame();
}

static void serve(unsigned type, wire_rd_t *r)
{
	uint32_t id = wire_get_u32(r);
	int64_t now = wire_get_i64(r);
	struct slot *s = find(id);
	if (!s) {
		reply(SANDBOX_NOT_LOADED, NULL, NULL);
		return;
	}
	if (!s->sb) { /* its load failed: that is the answer, once */
		buf_t text = s->fail_text;
		int code = s->fail_code;
		s->fail_text = (buf_t){0};
		drop(id);
		reply(code, NULL, &text);
		buf_free(&text);
		return;
	}
	clock_set_virtual(now);
	size_t pl = 0, al = 0, xl = 0;
	const char *path = NULL, *a = NULL, *x = NULL;
	long long batch = type == SBP_MAP ? wire_get_i64(r) : 0;
	if (type != SBP_STAT)
		path = wire_get_str(r, &pl);
	if (type == SBP_CALL || type == SBP_MAP)
		a = wire_get_str(r, &al);
	if (type == SBP_MAP)
		x = wire_get_str(r, &xl);
	if (r->bad)
		_exit(3);
	buf_t out = {0};
	int code = SANDBOX_OK;
	if (type == SBP_DATA)
		code = sandbox_data(s->sb, path, pl, &out);
	else if (type == SBP_CALL)
		code = sandbox_call(s->sb, path, pl, a, al, &out);
	else if (type == SBP_MAP)
		code = sandbox_map(s->sb, path, pl, a, al, x, xl, batch, &out);
	if (code == SANDBOX_OK && out.len > SBP_MAX_RESULTS_BYTES) {
		code = SANDBOX_RUNTIME;
		buf_reset(&out);
		buf_adds(&out, "the script gave back more data than a call may return");
	}
	reply(code, s->sb, &out);
	buf_free(&out);
}

/* ------------------------------------------------------------------ the process */

/* Limits the process can never raise again, whatever runs in it. */
static void confine(void)
{
	struct rlimit r;
#ifndef __SANITIZE_ADDRESS__ /* AddressSanitizer reserves terabytes of address space for itself */
	r.rlim_cur = r.rlim_max = WORKER_MAX_ADDRESS_SPACE;
	setrlimit(RLIMIT_AS, &r);
#endif
	r.rlim_cur = r.rlim_max = WORKER_MAX_CPU_SECONDS;
	setrlimit(RLIMIT_CPU, &r);
	r.rlim_cur = r.rlim_max = 0;
	setrlimit(RLIMIT_FSIZE, &r);
	setrlimit(RLIMIT_CORE, &r);
	setrlimit(RLIMIT_NPROC, &r);
	r.rlim_cur = r.rlim_max = 4; /* stdin, stdout, stderr */
	setrlimit(RLIMIT_NOFILE, &r);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int sandbox_worker_main(int argc, char **argv)
{
	/* dies with the server, even when the server is killed */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (argc < 3 || getppid() != (pid_t)atol(argv[2]))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN); /* a ^C in the terminal is for the server, which stops us */
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	confine();
	begin_frame(SBP_READY);
	send_frame();
	for (;;) {
		read_frame(&W.in);
		wire_rd_t r = {.p = W.in.p, .len = W.in.len};
		unsigned type = wire_get_u8(&r);
		switch (type) {
		case SBP_LOAD:
			load(W.in.p + 1, W.in.len - 1);
			break;
		case SBP_FREE:
			drop(wire_get_u32(&r));
			break;
		case SBP_STAT:
		case SBP_DATA:
		case SBP_CALL:
		case SBP_MAP:
			serve(type, &r);
			break;
		default:
			return 3;
		}
	}
}
