/* HTTP/1.1 server: libuv TCP + llhttp parsing (llhttp built in strict mode, no lenient flags;
 * head_problem refuses what strict llhttp still takes). */
#include "http.h"

#include "http_conn.h"
#include "list.h"
#include "log.h"
#include "static.h"

#include <errno.h>
#include <arpa/inet.h>
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void http_config_default(http_config_t *cfg)
{
	cfg->max_header_bytes = 16 * 1024;
	cfg->max_body_bytes = 1024 * 1024;
	cfg->header_timeout_ms = 10000;
	cfg->body_timeout_ms = 30000;
	cfg->idle_timeout_ms = 60000;
	cfg->max_connections = 1024;
	cfg->max_connections_per_address = 256;
	cfg->max_output_bytes = 256 * 1024;
	cfg->nexempt = 0;
}

/* --- the Date header, rebuilt once a second --- */
static const char *date_header(void)
{
	static char line[64];
	static time_t last;
	time_t now = time(NULL);
	if (now != last) {
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(line, sizeof line, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
		last = now;
	}
	return line;
}

/* --- connection life cycle --- */
static void conn_process(http_conn_t *c);
static void server_check(http_server_t *srv);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void reading(http_conn_t *c)
{
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void conn_free(http_conn_t *c)
{
	http_server_t *srv = c->srv;
	LIST_UNLINK(srv->conns, c);
	srv->nconns--;
	srv->nclosing--;
	if (c->stream_fd >= 0)
		close(c->stream_fd);
	free(c->in);
	buf_free(&c->head);
	buf_free(&c->body);
	free(c->hdrs);
	free(c->req_headers);
	free(c);
	server_check(srv);
}

static void on_handle_closed(uv_handle_t *h)
{
	http_conn_t *c = h->data;
	if (--c->handles_open == 0 && !c->busy)
		conn_free(c);
}

static void conn_close(http_conn_t *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->srv->nclosing++;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	if (c->busy && c->req.on_abandon)
		c->req.on_abandon(&c->req);
}

/** One write in flight: owns its buffer. */
struct write_req {
	uv_write_t w;
	http_conn_t *conn;
	char *data;
	size_t piece; /* the length of a file answer's piece (stream_next), else 0 */
};

/* Answer bytes the kernel has not taken yet. */
static size_t unsent(http_conn_t *c)
{
	return uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
}

static void stream_next(http_conn_t *c);

static void on_written(uv_write_t *w, int status)
{
	struct write_req *wr = (struct write_req *)w;
	http_conn_t *c = wr->conn;
	c->stream_queued -= wr->piece;
	free(wr->data);
	free(wr);
	if (c->closing)
		return;
	if (status < 0 || (c->close_after_write && unsent(c) == 0)) {
		conn_close(c);
		return;
	}
	if (c->stream_fd >= 0) {
		stream_next(c);
		return;
	}
	if (c->paused && unsent(c) <= c->srv->cfg.max_output_bytes / 2) {
		c->paused = 0;
		conn_process(c); /* reads and parses again */
	}
}

/* Queues data (taking it); piece: its length when it is a file answer's piece. */
static void conn_write(http_conn_t *c, char *data, size_t len, size_t piece)
{
	if (c->closing) {
		free(data);
		return;
	}
	struct write_req *wr = malloc(sizeof *wr);
	if (!wr) {
		free(data);
		conn_close(c);
		return;
	}
	wr->conn = c;
	wr->data = data;
	wr->piece = piece;
	c->stream_queued += piece;
	uv_buf_t b = uv_buf_init(data, (unsigned)len);
	if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
		c->stream_queued -= piece;
		free(data);
		free(wr);
		conn_close(c);
	}
}

/* Takes ownership of data. */
void http_conn_write(http_conn_t *c, char *data, size_t len)
{
	conn_write(c, data, len, 0);
}

/* Appends the text s to p; returns the end. */
static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* Appends v in decimal to p; returns the end. */
static char *put_number(char *p, size_t v)
{
	char digits[24];
	int n = 0;
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = digits[--n];
	return p;
}

/* The status line and the closing header lines of an answer (into first and tail); their lengths.
 * Built by hand: printf's formatting was a visible share of a small answer's cost. */
static void answer_frame(int status, size_t body_len, int keep_alive, char first[128], int *n1, char tail[96],
                         int *n2)
{
	const char *reason = http_reason(status);
	size_t rlen = strnlen(reason, 100);
	char *p = put(first, "HTTP/1.1 ", 9);
	p = put_number(p, (size_t)status);
	*p++ = ' ';
	p = put(p, reason, rlen);
	p = put(p, "\r\n", 2);
	*n1 = (int)(p - first);
	p = tail;
	if (!(status == 204 || status == 304 || (status >= 100 && status < 200))) {
		p = put(p, "Content-Length: ", 16);
		p = put_number(p, body_len);
		p = put(p, "\r\n", 2);
	}
	p = keep_alive ? put(p, "Connection: keep-alive\r\n\r\n", 26)
	               : put(p, "Connection: close\r\n\r\n", 21);
	*n2 = (int)(p - tail);
}

/* Writes the answer into out, which holds at least its size (answer_size); returns its length. */
static size_t answer_into(char *out, http_server_t *srv, const char *first, int n1, const char *head,
                          size_t head_len, const char *tail, int n2, const char *body, size_t blen)
{
	const char *date = date_header();
	size_t dlen = strlen(date);
	char *p = out;
	memcpy(p, first, (size_t)n1), p += n1;
	memcpy(p, date, dlen), p += dlen;
	if (srv->common_len)
		memcpy(p, srv->common, srv->common_len), p += srv->common_len;
	if (head_len)
		memcpy(p, head, head_len), p += head_len;
	memcpy(p, tail, (size_t)n2), p += n2;
	if (blen)
		memcpy(p, body, blen), p += blen;
	return (size_t)(p - out);
}

static size_t answer_size(http_server_t *srv, int n1, size_t head_len, int n2, size_t blen)
{
	return (size_t)n1 + strlen(date_header()) + srv->common_len + head_len + (size_t)n2 + blen;
}

static char *build_answer(http_server_t *srv, int status, const char *head, size_t head_len, const char *body,
                          size_t body_len, int send_body, int keep_alive, size_t *out_len)
{
	char first[128], tail[96];
	int n1, n2;
	answer_frame(status, body_len, keep_alive, first, &n1, tail, &n2);
	size_t blen = send_body ? body_len : 0;
	char *out = malloc(answer_size(srv, n1, head_len, n2, blen));
	if (!out)
		return NULL;
	*out_len = answer_into(out, srv, first, n1, head, head_len, tail, n2, body, blen);
	return out;
}

/* A keep-alive answer of at most this many bytes is written from the stack when nothing waits
 * to be sent before it: one uv_try_write, no allocation (the rest, if the kernel took only part,
 * goes the usual way). */
#define DIRECT_MAX 16384

/* Writes the answer at once when it is small and nothing is queued; returns 0 when it did (or
 * handed what was left to http_conn_write), -1 when the caller writes it the usual way. */
static int write_direct(http_conn_t *c, int status, const char *head, size_t head_len, const char *body,
                        size_t body_len, int send_body)
{
	http_server_t *srv = c->srv;
	if (c->close_after_write || unsent(c) > 0)
		return -1;
	char first[128], tail[96];
	int n1, n2;
	answer_frame(status, body_len, 1, first, &n1, tail, &n2);
	size_t blen = send_body ? body_len : 0;
	if (answer_size(srv, n1, head_len, n2, blen) > DIRECT_MAX)
		return -1;
	char out[DIRECT_MAX];
	size_t len = answer_into(out, srv, first, n1, head, head_len, tail, n2, body, blen);
	uv_buf_t b = uv_buf_init(out, (unsigned)len);
	int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (n == (int)len)
		return 0;
	if (n < 0 && n != UV_EAGAIN) {
		conn_close(c);
		return 0;
	}
	size_t done = n > 0 ? (size_t)n : 0;
	char *rest = malloc(len - done);
	if (!rest) {
		conn_close(c);
		return 0;
	}
	memcpy(rest, out + done, len - done);
	http_conn_write(c, rest, len - done);
	return 0;
}

static const char error_head[] = "Content-Type: application/json\r\nCache-Control: no-store\r\n";

/* The JSON error shape in out (cap bytes, cut short when longer); returns its length. */
static size_t error_json(char *out, size_t cap, const char *code, const char *message)
{
	int n = snprintf(out, cap, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, message);
	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

/* An answer from the server itself (parse errors, limits, timeouts); closes afterwards. */
static void answer_error(http_conn_t *c, int status, const char *code, const char *message)
{
	char body[256];
	size_t n = error_json(body, sizeof body, code, message);
	size_t len;
	char *out = build_answer(c->srv, status, error_head, sizeof error_head - 1, body, n, 1, 0, &len);
	c->close_after_write = 1;
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (out)
		http_conn_write(c, out, len);
	else
		conn_close(c);
}

static void on_timer(uv_timer_t *t)
{
	http_conn_t *c = t->data;
	uint64_t now = uv_now(c->srv->loop);
	if (c->deadline > now) { /* moved later since the timer was started */
		c->timer_due = c->deadline;
		uv_timer_start(&c->timer, on_timer, c->deadline - now, 0);
		return;
	}
	if (c->closing)
		return;
	if (c->stream_fd >= 0) {
		conn_close(c); /* a file answer the client took nothing of for the idle timeout */
		return;
	}
	if (c->busy)
		return;
	if (c->state == ST_IDLE && !c->fresh) {
		conn_close(c); /* idle keep-alive connection, or answers not read for that long */
		return;
	}
	answer_error(c, 408, "request_timeout", "The request did not arrive in time.");
}

void http_conn_arm_timer(http_conn_t *c, unsigned ms)
{
	c->deadline = uv_now(c->srv->loop) + ms;
	/* a timer due sooner stays: when it fires it starts again for what is left (every request
	 * sets a deadline twice; this costs one timer operation per timeout, not two per request) */
	if (!uv_is_active((uv_handle_t *)&c->timer) || c->timer_due > c->deadline) {
		c->timer_due = c->deadline;
		uv_timer_start(&c->timer, on_timer, ms, 0);
	}
}

/* --- static files --- */
int http_server_set_static(http_server_t *srv, const char *prefix, const char *dir)
{
	static_set_t *set = static_load(prefix, dir);
	if (!set)
		return -1;
	static_free(srv->statics);
	srv->statics = set;
	return (int)static_count(set);
}

const char *http_server_static_etag(http_server_t *srv, const char *path)
{
	return srv->statics ? static_etag(srv->statics, path) : NULL;
}

/* Answers the request on c when it is for a static file: 1 when answered. */
static int serve_static(http_conn_t *c)
{
	http_request_t *req = &c->req;
	const char *inm = NULL;
	size_t inm_len = 0;
	for (int i = 0; i < req->header_count && !inm; i++) {
		http_header_t *h = &req->headers[i];
		if (h->name_len == 13 && memcmp(h->name, "if-none-match", 13) == 0) {
			inm = h->value;
			inm_len = h->value_len;
		}
	}
	static_answer_t a;
	if (!static_answer(c->srv->statics, req->method, req->target, req->target_len, inm, inm_len, &a))
		return 0;
	if (a.error_code)
		http_respond_error(req, a.status, a.head, a.head_len, a.error_code, a.error_message);
	else
		http_respond(req, a.status, a.head, a.head_len, a.body, a.body_len);
	return 1;
}

/* --- handing requests over --- */
static void dispatch(http_conn_t *c)
{
	http_server_t *srv = c->srv;
	llhttp_t *p = &c->parser;
	/* the timer is left running: it does nothing while the request is with the handler
	 * (on_timer), and the answer arms it again (one heap operation per request, not two) */
	if (c->nhdrs > 0 && !c->req_headers) {
		c->req_headers = malloc(MAX_HEADERS * sizeof *c->req_headers);
		if (!c->req_headers) {
			answer_error(c, 500, "internal", "Out of memory.");
			return;
		}
	}
	for (int i = 0; i < c->nhdrs; i++) {
		struct hdr_off *h = &c->hdrs[i];
		c->req_headers[i] = (http_header_t){c->head.p + h->name, h->name_len,
		                                    h->value_len ? c->head.p + h->value : "", h->value_len};
	}
	/* the target is the first text in head, before the first NUL separator */
	size_t target_len = c->nhdrs ? c->hdrs[0].name - 1 : c->head.len;
	if (!c->head.p)
		buf_add(&c->head, "", 0);
	c->req = (http_request_t){
	    .conn = c,
	    .method = llhttp_method_name((llhttp_method_t)p->method),
	    .target = c->head.p,
	    .target_len = target_len,
	    .headers = c->req_headers,
	    .header_count = c->nhdrs,
	    .body = c->body.p ? c->body.p : "",
	    .body_len = c->body.len,
	    .peer = c->peer,
	    .keep_alive = llhttp_should_keep_alive(p) && !srv->stopping && !c->upgrade,
	    .head = p->method == HTTP_HEAD,
	};
	c->busy = 1;
	srv->nbusy++;
	if (srv->statics && serve_static(c))
		return;
	srv->handler(&c->req, srv->ud);
}

void http_respond(http_request_t *req, int status, const char *head, size_t head_len, const char *body,
                  size_t body_len)
{
	http_conn_t *c = req->conn;
	http_server_t *srv = c->srv;
	if (!c->busy)
		return; /* answered twice: ignore */
	c->busy = 0;
	srv->nbusy--;
	if (c->closing) {
		if (c->handles_open == 0)
			conn_free(c);
		return;
	}
	int keep = req->keep_alive && !srv->stopping;
	if (keep && write_direct(c, status, head, head_len, body, body_len, !req->head) == 0) {
		if (c->closing)
			return;
		c->state = ST_IDLE;
		c->last_active = uv_now(srv->loop);
		if (!c->in_process)
			conn_process(c);
		return;
	}
	size_t len;
	char *out = build_answer(srv, status, head, head_len, body, body_len, !req->head, keep, &len);
	if (!keep)
		c->close_after_write = 1;
	if (!out) {
		conn_close(c);
		return;
	}
	http_conn_write(c, out, len);
	if (!keep) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		return;
	}
	c->state = ST_IDLE;
	c->last_active = uv_now(srv->loop);
	if (!c->in_process)
		conn_process(c);
}

/* --- answers whose body is a file --- */

/* Bytes of a file answer read and queued at a time; at most two pieces are in memory (queued
 * and not yet reported written), whatever the kernel's socket buffers take. */
#define STREAM_PIECE (64 * 1024)

/* The last piece is queued: the connection goes on (or closes once it is sent). */
static void stream_end(http_conn_t *c)
{
	close(c->stream_fd);
	c->stream_fd = -1;
	if (!c->stream_keep || c->srv->stopping) {
		c->close_after_write = 1; /* on_written closes once everything is sent */
		uv_read_stop((uv_stream_t *)&c->tcp);
		return;
	}
	c->state = ST_IDLE;
	c->last_active = uv_now(c->srv->loop);
	if (!c->in_process)
		conn_process(c);
}

/* Queues the next pieces of a file answer while little waits to be sent. */
static void stream_next(http_conn_t *c)
{
	while (c->stream_fd >= 0 && c->stream_left > 0 && c->stream_queued < 2 * STREAM_PIECE) {
		size_t want = c->stream_left < STREAM_PIECE ? (size_t)c->stream_left : STREAM_PIECE;
		char *piece = malloc(want);
		if (!piece) {
			conn_close(c);
			return;
		}
		ssize_t n = pread(c->stream_fd, piece, want, (off_t)c->stream_off);
		if (n <= 0) {
			free(piece);
			log_warn("http: a file answer could not be read to its end (%llu bytes short): "
			         "connection closed",
			         (unsigned long long)c->stream_left);
			conn_close(c);
			return;
		}
		c->stream_off += (uint64_t)n;
		c->stream_left -= (uint64_t)n;
		http_conn_arm_timer(c, c->srv->cfg.idle_timeout_ms);
		conn_write(c, piece, (size_t)n, (size_t)n);
		if (c->closing)
			return;
	}
	if (c->stream_fd >= 0 && c->stream_left == 0)
		stream_end(c);
}

void http_respond_file(http_request_t *req, int status, const char *head, size_t head_len, int fd,
                       uint64_t size)
{
	http_conn_t *c = req->conn;
	if (!c->busy || c->closing || req->head || size == 0) {
		close(fd);
		http_respond(req, status, head, head_len, "", req->head ? (size_t)size : 0);
		return;
	}
	http_server_t *srv = c->srv;
	c->busy = 0;
	srv->nbusy--;
	int keep = req->keep_alive && !srv->stopping;
	size_t len;
	char *out = build_answer(srv, status, head, head_len, NULL, (size_t)size, 0, keep, &len);
	if (!out) {
		close(fd);
		conn_close(c);
		return;
	}
	c->stream_fd = fd;
	c->stream_off = 0;
	c->stream_left = size;
	c->stream_keep = keep;
	http_conn_write(c, out, len);
	if (!c->closing)
		stream_next(c);
}

void http_respond_error(http_request_t *req, int status, const char *head, size_t head_len, const char *code,
                        const char *message)
{
	char h[512], body[256];
	if (head_len > sizeof h - sizeof error_head)
		head_len = 0;
	memcpy(h, error_head, sizeof error_head - 1);
	if (head_len)
		memcpy(h + sizeof error_head - 1, head, head_len);
	size_t n = error_json(body, sizeof body, code, message);
	http_respond(req, status, h, sizeof error_head - 1 + head_len, body, n);
}

/* Parses what has arrived; hands over at most one request at a time. */
static void conn_process(http_conn_t *c)
{
	c->in_process = 1;
	size_t high = c->srv->cfg.max_output_bytes;
	while (!c->busy && c->stream_fd < 0 && !c->closing && !c->close_after_write &&
	       c->in_pos < c->in_len && unsent(c) <= high) {
		const char *start = c->in + c->in_pos;
		const char *bad = http_head_problem(c, start, c->in_len - c->in_pos);
		if (bad) {
			answer_error(c, 400, "bad_request", bad);
			break;
		}
		llhttp_errno_t err = llhttp_execute(&c->parser, start, c->in_len - c->in_pos);
		if (err == HPE_OK) {
			c->in_pos = c->in_len;
		} else if (err == HPE_PAUSED) {
			/* a request is complete (cb_message_complete) */
			const char *pos = llhttp_get_error_pos(&c->parser);
			c->in_pos += (size_t)(pos - start);
			llhttp_resume(&c->parser);
			dispatch(c);
		} else if (err == HPE_PAUSED_UPGRADE) {
			/* not reached: the upgrade request's answer closes the connection */
			conn_close(c);
			break;
		} else {
			int status = c->err_status ? c->err_status : 400;
			if (status == 431)
				answer_error(c, 431, "headers_too_large",
				             "The request headers are too large.");
			else if (status == 413)
				answer_error(c, 413, "payload_too_large", "The request body is too large.");
			else
				answer_error(c, 400, "bad_request", "The request is not valid HTTP.");
			break;
		}
	}
	c->in_process = 0;
	if (c->closing || c->close_after_write)
		return;
	if (c->in_pos == c->in_len)
		c->in_pos = c->in_len = 0;
	if (c->busy || c->stream_fd >= 0) {
		/* keep reading (without parsing) to notice a client that goes away, until the
		 * buffer is full */
		if (c->in_pos == 0 && c->in_len == IN_CAP)
			uv_read_stop((uv_stream_t *)&c->tcp);
		else
			reading(c);
		return;
	}
	if (unsent(c) > high) {
		/* the client does not read its answers: neither read nor parse more until they
		 * drain (on_written); a client that reads nothing for the idle timeout is closed */
		c->paused = 1;
		uv_read_stop((uv_stream_t *)&c->tcp);
		http_conn_arm_timer(c, c->srv->cfg.idle_timeout_ms);
		return;
	}
	if (c->state == ST_IDLE)
		http_conn_arm_timer(c,
		                    c->fresh ? c->srv->cfg.header_timeout_ms : c->srv->cfg.idle_timeout_ms);
	reading(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	(void)suggested;
	http_conn_t *c = h->data;
	if (c->in_pos > 0 && c->in_pos < c->in_len) {
		memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
		c->in_len -= c->in_pos;
		c->in_pos = 0;
	} else if (c->in_pos == c->in_len) {
		c->in_pos = c->in_len = 0;
	}
	*b = uv_buf_init(c->in + c->in_len, (unsigned)(IN_CAP - c->in_len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	(void)b;
	http_conn_t *c = s->data;
	if (n < 0) {
		conn_close(c);
		return;
	}
	if (n == 0)
		return;
	c->in_len += (size_t)n;
	conn_process(c);
}

/* A connection that can be closed for a new one: nothing in progress, nothing received
 * and not parsed, nothing waiting to be sent. */
static int is_idle(http_conn_t *c)
{
	return !c->busy && c->stream_fd < 0 && !c->closing && !c->close_after_write && c->state == ST_IDLE &&
	       c->in_pos == c->in_len && unsent(c) == 0;
}

/* Admits the new connection c within the limits: when one address holds its maximum, or the
 * server its maximum, the idle connection of that address (or any) unused the longest is
 * closed to make room; when none is idle, c is answered 503. 1 when admitted. */
static int admit(http_server_t *srv, http_conn_t *c)
{
	http_conn_t *oldest = NULL, *oldest_same = NULL;
	unsigned same = 0;
	int check_address = !c->exempt && c->addr_len > 0 && srv->cfg.max_connections_per_address > 0;
	for (http_conn_t *x = srv->conns; x; x = x->next) {
		if (x == c || x->closing)
			continue;
		int idle = is_idle(x);
		if (idle && (!oldest || x->last_active < oldest->last_active))
			oldest = x;
		if (check_address && x->addr_len == c->addr_len &&
		    memcmp(x->addr, c->addr, (size_t)c->addr_len) == 0) {
			same++;
			if (idle && (!oldest_same || x->last_active < oldest_same->last_active))
				oldest_same = x;
		}
	}
	if (check_address && same >= srv->cfg.max_connections_per_address) {
		if (!oldest_same) {
			answer_error(c, 503, "too_many_connections",
			             "Too many connections from your address; try again shortly.");
			return 0;
		}
		if (oldest == oldest_same)
			oldest = NULL;
		conn_close(oldest_same);
	}
	if ((unsigned)(srv->nconns - srv->nclosing) > srv->cfg.max_connections) {
		if (!oldest) {
			answer_error(c, 503, "busy", "Too many connections; try again shortly.");
			return 0;
		}
		conn_close(oldest);
	}
	return 1;
}

static void on_connection(uv_stream_t *ls, int status)
{
	http_server_t *srv = ls->data;
	if (status < 0)
		return;
	http_conn_t *c = calloc(1, sizeof *c);
	if (!c)
		return;
	c->in = malloc(IN_CAP);
	c->hdrs = malloc(MAX_HEADERS * sizeof *c->hdrs);
	if (!c->in || !c->hdrs) {
		free(c->in);
		free(c->hdrs);
		free(c);
		return;
	}
	c->srv = srv;
	c->fresh = 1;
	c->stream_fd = -1;
	c->crlfs = -1;
	uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles_open = 2;
	LIST_PUSH(srv->conns, c);
	srv->nconns++;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	struct sockaddr_storage sa;
	int salen = sizeof sa;
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &salen) == 0) {
		if (sa.ss_family == AF_INET6)
			uv_ip6_name((struct sockaddr_in6 *)&sa, c->peer, sizeof c->peer);
		else
			uv_ip4_name((struct sockaddr_in *)&sa, c->peer, sizeof c->peer);
		c->addr_len = http_addr_bytes(&sa, c->addr);
	}
	for (int i = 0; i < srv->cfg.nexempt && !c->exempt; i++)
		c->exempt = http_range_contains(&srv->cfg.exempt[i], c->addr, c->addr_len);
	c->last_active = uv_now(srv->loop);
	llhttp_init(&c->parser, HTTP_REQUEST, &srv->settings);
	c->parser.data = c;
	if (srv->stopping) {
		answer_error(c, 503, "busy", "Too many connections; try again shortly.");
		return;
	}
	if (!admit(srv, c))
		return;
	http_conn_arm_timer(c, srv->cfg.header_timeout_ms);
	reading(c);
}

static void free_on_close(uv_handle_t *h)
{
	free(h->data);
}

static void server_free_now(http_server_t *srv)
{
	static_free(srv->statics);
	free(srv->common);
	free(srv);
}

/* After a connection or the listener closed: calls the stop callback, or frees the server
 * once http_server_free was called and nothing is open any more. Touches nothing after. */
static void server_check(http_server_t *srv)
{
	if (srv->nconns > 0)
		return;
	if (srv->freeing) {
		if (!srv->listener_open && !srv->listener_closing)
			server_free_now(srv);
		return;
	}
	if (srv->stopping && srv->stop_done) {
		void (*done)(void *) = srv->stop_done;
		srv->stop_done = NULL;
		done(srv->stop_ud); /* may call http_server_free */
	}
}

static void on_listener_closed(uv_handle_t *h)
{
	http_server_t *srv = h->data;
	srv->listener_closing = 0;
	server_check(srv);
}

static void close_listener(http_server_t *srv)
{
	if (!srv->listener_open)
		return;
	srv->listener_open = 0;
	srv->listener_closing = 1;
	uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
}

http_server_t *http_server_start(uv_loop_t *loop, const char *host, int port, const http_config_t *cfg,
                                 http_handler_fn handler, void *ud, char *err, size_t errlen)
{
	http_server_t *srv = calloc(1, sizeof *srv);
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->loop = loop;
	srv->cfg = *cfg;
	srv->handler = handler;
	srv->ud = ud;
	http_proto_settings(&srv->settings);
	struct sockaddr_storage sa;
	int rc = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa)
	                           : uv_ip4_addr(host, port, (struct sockaddr_in *)&sa);
	if (rc != 0) {
		snprintf(err, errlen, "bad listen address %s", host);
		goto fail;
	}
	uv_tcp_init(loop, &srv->listener);
	srv->listener.data = srv;
	srv->listener_open = 1;
	if ((rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&sa, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection)) != 0) {
		snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
		/* the loop owns the handle until it is closed: free srv then */
		uv_close((uv_handle_t *)&srv->listener, free_on_close);
		return NULL;
	}
	int len = sizeof sa;
	uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&sa, &len);
	srv->port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
	                                           : ((struct sockaddr_in *)&sa)->sin_port);
	return srv;
fail:
	free(srv);
	return NULL;
}

int http_server_port(http_server_t *srv)
{
	return srv->port;
}

void http_server_set_common_headers(http_server_t *srv, const char *lines)
{
	free(srv->common);
	srv->common = strdup(lines ? lines : "");
	srv->common_len = srv->common ? strlen(srv->common) : 0;
}

void http_server_configure(http_server_t *srv, const http_config_t *cfg)
{
	srv->cfg = *cfg;
}

void http_server_counts(http_server_t *srv, int *conns, int *busy)
{
	*conns = srv->nconns;
	*busy = srv->nbusy;
}

void http_server_stats(http_server_t *srv, http_stats_t *out)
{
	*out = (http_stats_t){.conns = srv->nconns, .busy = srv->nbusy};
	for (http_conn_t *c = srv->conns; c; c = c->next) {
		if (c->closing)
			continue;
		size_t n = unsent(c);
		out->queued_bytes += n;
		if (n > out->max_queued)
			out->max_queued = n;
		out->paused += c->paused;
	}
}

void http_server_stop(http_server_t *srv, void (*done)(void *), void *ud)
{
	if (srv->stopping)
		return;
	srv->stopping = 1;
	srv->stop_done = done;
	srv->stop_ud = ud;
	close_listener(srv);
	for (http_conn_t *c = srv->conns, *next; c; c = next) {
		next = c->next;
		if (!c->busy && c->stream_fd < 0)
			conn_close(c);
	}
	server_check(srv);
}

void http_server_free(http_server_t *srv)
{
	if (!srv)
		return;
	srv->stopping = 1;
	srv->freeing = 1;
	srv->stop_done = NULL;
	close_listener(srv);
	http_server_close_all(srv);
	server_check(srv);
}

void http_server_close_all(http_server_t *srv)
{
	for (http_conn_t *c = srv->conns, *next; c; c = next) {
		next = c->next;
		conn_close(c);
	}
}
