/* HTTP/1.1 server: libuv TCP + llhttp parsing (strict: no lenient flags). */
#include "http.h"

#include "log.h"
#include "static.h"

#include <errno.h>
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define IN_CAP (64 * 1024)
#define MAX_HEADERS 128

/** A growable byte buffer. */
struct buf {
	char *data;
	size_t len, cap;
};

/** Offsets of one header inside the head buffer (which may move while growing). */
struct hdr_off {
	size_t name, name_len, value, value_len;
};

enum conn_state { ST_IDLE, ST_HEADERS, ST_BODY, ST_HANDLING };

/** One client connection. */
typedef struct http_conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	http_server_t *srv;
	struct http_conn *prev, *next;
	llhttp_t parser;
	char peer[64];
	char *in;               /* received bytes not yet parsed: in[pos..len) */
	size_t in_len, in_pos;
	struct buf head;        /* target and header text of the request being read */
	struct hdr_off *hdrs;   /* its headers */
	int nhdrs;
	int last_was_value;     /* header callbacks: start a new header on the next field */
	size_t header_bytes;
	struct buf body;
	http_header_t *req_headers; /* pointers built for the handler */
	http_request_t req;
	enum conn_state state;
	int err_status;         /* answer when a parser callback gave up */
	int busy;               /* a request is with the handler */
	int in_process;         /* conn_process is on the stack */
	int closing;            /* handles are being closed */
	int handles_open;       /* tcp + timer not yet closed */
	int close_after_write;
	int fresh;              /* no request seen yet on this connection */
	int head_done;          /* CRLF check: the end of this request's head was seen */
	int prev_cr;            /* CRLF check: the last byte was CR */
	int crlfs;              /* CRLF check: line ends in a row (-1 before the request line) */
} http_conn_t;

/** A listening server. */
struct http_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	int listener_open;      /* listening (not closed nor closing) */
	int listener_closing;   /* uv_close called, its callback not yet run */
	int freeing;            /* http_server_free called: free once everything is closed */
	http_config_t cfg;
	http_handler_fn handler;
	void *ud;
	llhttp_settings_t settings;
	char *common;           /* common header lines */
	size_t common_len;
	static_set_t *statics;  /* static files, or NULL */
	http_conn_t *conns;
	int nconns, nbusy;
	int stopping;
	void (*stop_done)(void *);
	void *stop_ud;
	int port;
};

void http_config_default(http_config_t *cfg)
{
	cfg->max_header_bytes = 16 * 1024;
	cfg->max_body_bytes = 1024 * 1024;
	cfg->header_timeout_ms = 10000;
	cfg->body_timeout_ms = 30000;
	cfg->idle_timeout_ms = 60000;
	cfg->max_connections = 1024;
}

const char *http_reason(int s)
{
	switch (s) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

static int buf_append(struct buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

static void buf_free(struct buf *b)
{
	free(b->data);
	*b = (struct buf){0};
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

static void reading(http_conn_t *c) { uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read); }

static void conn_free(http_conn_t *c)
{
	http_server_t *srv = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
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
};

static void on_written(uv_write_t *w, int status)
{
	struct write_req *wr = (struct write_req *)w;
	http_conn_t *c = wr->conn;
	free(wr->data);
	free(wr);
	if (c->closing)
		return;
	if (status < 0 || c->close_after_write)
		conn_close(c);
}

/* Takes ownership of data. */
static void conn_write(http_conn_t *c, char *data, size_t len)
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
	uv_buf_t b = uv_buf_init(data, (unsigned)len);
	if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
		free(data);
		free(wr);
		conn_close(c);
	}
}

static char *build_answer(http_server_t *srv, int status, const char *head, size_t head_len,
			  const char *body, size_t body_len, int send_body, int keep_alive,
			  size_t *out_len)
{
	char first[128];
	int n1 = snprintf(first, sizeof first, "HTTP/1.1 %d %s\r\n", status, http_reason(status));
	const char *date = date_header();
	size_t dlen = strlen(date);
	char tail[96];
	int n2;
	if (status == 204 || status == 304 || (status >= 100 && status < 200))
		n2 = snprintf(tail, sizeof tail, "Connection: %s\r\n\r\n", keep_alive ? "keep-alive" : "close");
	else
		n2 = snprintf(tail, sizeof tail, "Content-Length: %zu\r\nConnection: %s\r\n\r\n", body_len,
			      keep_alive ? "keep-alive" : "close");
	size_t blen = send_body ? body_len : 0;
	size_t total = (size_t)n1 + dlen + srv->common_len + head_len + (size_t)n2 + blen;
	char *out = malloc(total);
	if (!out)
		return NULL;
	char *p = out;
	memcpy(p, first, (size_t)n1), p += n1;
	memcpy(p, date, dlen), p += dlen;
	if (srv->common_len)
		memcpy(p, srv->common, srv->common_len), p += srv->common_len;
	if (head_len)
		memcpy(p, head, head_len), p += head_len;
	memcpy(p, tail, (size_t)n2), p += n2;
	if (blen)
		memcpy(p, body, blen);
	*out_len = total;
	return out;
}

/* An answer from the server itself (parse errors, limits, timeouts); closes afterwards. */
static void answer_error(http_conn_t *c, int status, const char *code, const char *message)
{
	char body[256];
	int n = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, message);
	static const char ct[] = "Content-Type: application/json\r\nCache-Control: no-store\r\n";
	size_t len;
	char *out = build_answer(c->srv, status, ct, sizeof ct - 1, body, (size_t)n, 1, 0, &len);
	c->close_after_write = 1;
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (out)
		conn_write(c, out, len);
	else
		conn_close(c);
}

static void on_timer(uv_timer_t *t)
{
	http_conn_t *c = t->data;
	if (c->busy || c->closing)
		return;
	if (c->state == ST_IDLE && !c->fresh) {
		conn_close(c); /* idle keep-alive connection */
		return;
	}
	answer_error(c, 408, "request_timeout", "The request did not arrive in time.");
}

static void arm_timer(http_conn_t *c, unsigned ms)
{
	uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* --- parser callbacks --- */
static int cb_message_begin(llhttp_t *p)
{
	http_conn_t *c = p->data;
	c->state = ST_HEADERS;
	c->head.len = 0;
	c->body.len = 0;
	c->nhdrs = 0;
	c->last_was_value = 1;
	c->header_bytes = 0;
	if (!c->fresh)
		arm_timer(c, c->srv->cfg.header_timeout_ms);
	c->fresh = 0;
	return 0;
}

static int count_header(http_conn_t *c, size_t n)
{
	c->header_bytes += n;
	if (c->header_bytes > c->srv->cfg.max_header_bytes) {
		c->err_status = 431;
		return -1;
	}
	return 0;
}

static int cb_url(llhttp_t *p, const char *at, size_t n)
{
	http_conn_t *c = p->data;
	if (count_header(c, n) || buf_append(&c->head, at, n))
		return -1;
	return 0;
}

static int cb_header_field(llhttp_t *p, const char *at, size_t n)
{
	http_conn_t *c = p->data;
	if (count_header(c, n + 4))
		return -1;
	if (c->last_was_value) {
		if (c->nhdrs >= MAX_HEADERS) {
			c->err_status = 431;
			return -1;
		}
		/* NUL-separate from the previous text so every piece is a C string too */
		if (buf_append(&c->head, "", 1))
			return -1;
		c->hdrs[c->nhdrs] = (struct hdr_off){c->head.len, 0, 0, 0};
		c->nhdrs++;
		c->last_was_value = 0;
	}
	size_t start = c->head.len;
	if (buf_append(&c->head, at, n))
		return -1;
	for (size_t i = start; i < c->head.len; i++) {
		char ch = c->head.data[i];
		if (ch >= 'A' && ch <= 'Z')
			c->head.data[i] = (char)(ch + 32);
	}
	c->hdrs[c->nhdrs - 1].name_len += n;
	return 0;
}

static int cb_header_value(llhttp_t *p, const char *at, size_t n)
{
	http_conn_t *c = p->data;
	if (count_header(c, n))
		return -1;
	struct hdr_off *h = &c->hdrs[c->nhdrs - 1];
	if (!c->last_was_value) {
		if (buf_append(&c->head, "", 1))
			return -1;
		h->value = c->head.len;
		c->last_was_value = 1;
	}
	if (buf_append(&c->head, at, n))
		return -1;
	h->value_len += n;
	return 0;
}

static int cb_headers_complete(llhttp_t *p)
{
	http_conn_t *c = p->data;
	http_server_t *srv = c->srv;
	if ((p->flags & F_CONTENT_LENGTH) && p->content_length > srv->cfg.max_body_bytes) {
		c->err_status = 413;
		return -1;
	}
	c->state = ST_BODY;
	arm_timer(c, srv->cfg.body_timeout_ms);
	/* Expect: 100-continue */
	for (int i = 0; i < c->nhdrs; i++) {
		struct hdr_off *h = &c->hdrs[i];
		if (h->name_len == 6 && memcmp(c->head.data + h->name, "expect", 6) == 0 &&
		    h->value_len == 12 && strncasecmp(c->head.data + h->value, "100-continue", 12) == 0) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
			char *copy = malloc(sizeof cont - 1);
			if (copy) {
				memcpy(copy, cont, sizeof cont - 1);
				conn_write(c, copy, sizeof cont - 1);
			}
		}
	}
	return 0;
}

static int cb_body(llhttp_t *p, const char *at, size_t n)
{
	http_conn_t *c = p->data;
	if (c->body.len + n > c->srv->cfg.max_body_bytes) {
		c->err_status = 413;
		return -1;
	}
	return buf_append(&c->body, at, n) ? -1 : 0;
}

static int cb_message_complete(llhttp_t *p)
{
	http_conn_t *c = p->data;
	c->state = ST_HANDLING;
	/* the next request's head is checked again */
	c->head_done = c->prev_cr = 0;
	c->crlfs = -1;
	return HPE_PAUSED;
}

/* llhttp 8 takes a bare LF after the request line and as the empty line that ends the head
 * (no lenient flag turns that off): check every line of the head ends in CRLF before parsing.
 * Scans p[0..n) up to the end of the head once; returns 0 on a bare LF. */
static int head_has_crlf_only(http_conn_t *c, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !c->head_done; i++) {
		if (p[i] == '\n') {
			if (!c->prev_cr)
				return 0;
			/* two line ends in a row end the head; empty lines before the request
			 * line (crlfs < 0) do not count */
			if (c->crlfs >= 0 && ++c->crlfs == 2)
				c->head_done = 1;
			c->prev_cr = 0;
		} else if (p[i] == '\r') {
			c->prev_cr = 1;
		} else {
			c->prev_cr = 0;
			c->crlfs = 0;
		}
	}
	return 1;
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
	http_respond(req, a.status, a.head, a.head_len, a.body, a.body_len);
	return 1;
}

/* --- handing requests over --- */
static void dispatch(http_conn_t *c)
{
	http_server_t *srv = c->srv;
	llhttp_t *p = &c->parser;
	uv_timer_stop(&c->timer);
	if (c->nhdrs > 0 && !c->req_headers) {
		c->req_headers = malloc(MAX_HEADERS * sizeof *c->req_headers);
		if (!c->req_headers) {
			answer_error(c, 500, "internal", "Out of memory.");
			return;
		}
	}
	for (int i = 0; i < c->nhdrs; i++) {
		struct hdr_off *h = &c->hdrs[i];
		c->req_headers[i] = (http_header_t){c->head.data + h->name, h->name_len,
						    h->value_len ? c->head.data + h->value : "", h->value_len};
	}
	/* the target is the first text in head, before the first NUL separator */
	size_t target_len = c->nhdrs ? c->hdrs[0].name - 1 : c->head.len;
	if (!c->head.data)
		buf_append(&c->head, "", 0);
	c->req = (http_request_t){
		.conn = c,
		.method = llhttp_method_name((llhttp_method_t)p->method),
		.target = c->head.data,
		.target_len = target_len,
		.headers = c->req_headers,
		.header_count = c->nhdrs,
		.body = c->body.data ? c->body.data : "",
		.body_len = c->body.len,
		.peer = c->peer,
		.keep_alive = llhttp_should_keep_alive(p) && !srv->stopping,
		.head = p->method == HTTP_HEAD,
	};
	c->busy = 1;
	srv->nbusy++;
	if (srv->statics && serve_static(c))
		return;
	srv->handler(&c->req, srv->ud);
}

void http_respond(http_request_t *req, int status, const char *head, size_t head_len,
		  const char *body, size_t body_len)
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
	size_t len;
	char *out = build_answer(srv, status, head, head_len, body, body_len, !req->head, keep, &len);
	if (!keep)
		c->close_after_write = 1;
	if (!out) {
		conn_close(c);
		return;
	}
	conn_write(c, out, len);
	if (!keep) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		return;
	}
	c->state = ST_IDLE;
	if (!c->in_process)
		conn_process(c);
}

/* Parses what has arrived; hands over at most one request at a time. */
static void conn_process(http_conn_t *c)
{
	c->in_process = 1;
	while (!c->busy && !c->closing && !c->close_after_write && c->in_pos < c->in_len) {
		const char *start = c->in + c->in_pos;
		if (!head_has_crlf_only(c, start, c->in_len - c->in_pos)) {
			answer_error(c, 400, "bad_request", "Lines must end with CRLF.");
			break;
		}
		llhttp_errno_t err = llhttp_execute(&c->parser, start, c->in_len - c->in_pos);
		if (err == HPE_OK) {
			c->in_pos = c->in_len;
		} else if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
			const char *pos = llhttp_get_error_pos(&c->parser);
			c->in_pos += (size_t)(pos - start);
			if (err == HPE_PAUSED_UPGRADE) {
				/* no upgrades here: answer, then close */
				llhttp_resume_after_upgrade(&c->parser);
				dispatch(c);
				c->req.keep_alive = 0;
			} else {
				llhttp_resume(&c->parser);
				dispatch(c);
			}
		} else {
			int status = c->err_status ? c->err_status : 400;
			if (status == 431)
				answer_error(c, 431, "headers_too_large", "The request headers are too large.");
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
	if (c->busy) {
		/* keep reading (without parsing) to notice a client that goes away, until the
		 * buffer is full */
		if (c->in_pos == 0 && c->in_len == IN_CAP)
			uv_read_stop((uv_stream_t *)&c->tcp);
		else
			reading(c);
		return;
	}
	if (c->state == ST_IDLE)
		arm_timer(c, c->fresh ? c->srv->cfg.header_timeout_ms : c->srv->cfg.idle_timeout_ms);
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
	c->crlfs = -1;
	uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->handles_open = 2;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
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
	}
	llhttp_init(&c->parser, HTTP_REQUEST, &srv->settings);
	c->parser.data = c;
	if ((unsigned)srv->nconns > srv->cfg.max_connections || srv->stopping) {
		answer_error(c, 503, "busy", "Too many connections; try again shortly.");
		return;
	}
	arm_timer(c, srv->cfg.header_timeout_ms);
	reading(c);
}

static void free_on_close(uv_handle_t *h) { free(h->data); }

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

http_server_t *http_server_start(uv_loop_t *loop, const char *host, int port,
				 const http_config_t *cfg, http_handler_fn handler, void *ud,
				 char *err, size_t errlen)
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
	llhttp_settings_init(&srv->settings);
	srv->settings.on_message_begin = cb_message_begin;
	srv->settings.on_url = cb_url;
	srv->settings.on_header_field = cb_header_field;
	srv->settings.on_header_value = cb_header_value;
	srv->settings.on_headers_complete = cb_headers_complete;
	srv->settings.on_body = cb_body;
	srv->settings.on_message_complete = cb_message_complete;
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

int http_server_port(http_server_t *srv) { return srv->port; }

void http_server_set_common_headers(http_server_t *srv, const char *lines)
{
	free(srv->common);
	srv->common = strdup(lines ? lines : "");
	srv->common_len = srv->common ? strlen(srv->common) : 0;
}

void http_server_counts(http_server_t *srv, int *conns, int *busy)
{
	*conns = srv->nconns;
	*busy = srv->nbusy;
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
		if (!c->busy)
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
