/* HTTP/1.1 server: libuv TCP + llhttp parsing (llhttp built in strict mode, no lenient flags;
 * head_problem refuses what strict llhttp still takes). */
#include "http.h"

#include "log.h"
#include "static.h"

#include <errno.h>
#include <arpa/inet.h>
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
	unsigned char addr[16]; /* the peer's address (IPv4-mapped IPv6 as IPv4) */
	int addr_len;           /* 4 or 16; 0 when unknown */
	int exempt;             /* the address is in cfg.exempt: no per-address cap */
	uint64_t last_active;   /* loop time of the accept or of the last answer */
	char *in;               /* received bytes not yet parsed: in[pos..len) */
	size_t in_len, in_pos;
	struct buf head;      /* target and header text of the request being read */
	struct hdr_off *hdrs; /* its headers */
	int nhdrs;
	int last_was_value; /* header callbacks: start a new header on the next field */
	size_t header_bytes;
	struct buf body;
	http_header_t *req_headers; /* pointers built for the handler */
	http_request_t req;
	enum conn_state state;
	int err_status;   /* answer when a parser callback gave up */
	int busy;         /* a request is with the handler */
	int in_process;   /* conn_process is on the stack */
	int closing;      /* handles are being closed */
	int handles_open; /* tcp + timer not yet closed */
	int close_after_write;
	int paused;    /* not read from until its unsent answers drain */
	int upgrade;   /* the request asked for an upgrade: answered, then closed */
	int fresh;     /* no request seen yet on this connection */
	int head_done; /* CRLF check: the end of this request's head was seen */
	int prev_cr;   /* CRLF check: the last byte was CR */
	int crlfs;     /* CRLF check: line ends in a row (-1 before the request line) */
} http_conn_t;

/** A listening server. */
struct http_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	int listener_open;    /* listening (not closed nor closing) */
	int listener_closing; /* uv_close called, its callback not yet run */
	int freeing;          /* http_server_free called: free once everything is closed */
	http_config_t cfg;
	http_handler_fn handler;
	void *ud;
	llhttp_settings_t settings;
	char *common; /* common header lines */
	size_t common_len;
	static_set_t *statics; /* static files, or NULL */
	http_conn_t *conns;
	int nconns, nbusy;
	int nclosing; /* connections closing but not yet freed (counted in nconns) */
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
	cfg->max_connections_per_address = 256;
	cfg->max_output_bytes = 256 * 1024;
	cfg->nexempt = 0;
}

int http_range_parse(const char *text, http_range_t *out)
{
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	if (n == 0 || n >= sizeof addr)
		return -1;
	memcpy(addr, text, n);
	addr[n] = 0;
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, addr, out->bytes) == 1)
		out->len = 4;
	else if (inet_pton(AF_INET6, addr, out->bytes) == 1)
		out->len = 16;
	else
		return -1;
	out->bits = out->len * 8;
	if (slash) {
		char *end;
		long bits = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || bits < 0 || bits > out->bits)
			return -1;
		out->bits = (int)bits;
	}
	return 0;
}

/* Writes the address of sa into out (IPv4-mapped IPv6 as IPv4): its length, 0 when unknown. */
static int addr_bytes(const struct sockaddr_storage *sa, unsigned char out[16])
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (sa->ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->ss_family != AF_INET6)
		return 0;
	const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	if (memcmp(b, mapped, 12) == 0) {
		memcpy(out, b + 12, 4);
		return 4;
	}
	memcpy(out, b, 16);
	return 16;
}

int http_range_contains(const http_range_t *r, const unsigned char *addr, int len)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (len == 16 && r->len == 4 && memcmp(addr, mapped, 12) == 0) {
		addr += 12;
		len = 4;
	}
	if (len != r->len)
		return 0;
	int full = r->bits / 8, rest = r->bits % 8;
	if (memcmp(addr, r->bytes, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (addr[full] & mask) == (r->bytes[full] & mask);
}

const char *http_reason(int s)
{
	switch (s) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 307:
		return "Temporary Redirect";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 410:
		return "Gone";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 507:
		return "Insufficient Storage";
	default:
		return "Unknown";
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

static void reading(http_conn_t *c)
{
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

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
	srv->nclosing--;
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
};

/* Answer bytes the kernel has not taken yet. */
static size_t unsent(http_conn_t *c)
{
	return uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
}

static void on_written(uv_write_t *w, int status)
{
	struct write_req *wr = (struct write_req *)w;
	http_conn_t *c = wr->conn;
	free(wr->data);
	free(wr);
	if (c->closing)
		return;
	if (status < 0 || c->close_after_write) {
		conn_close(c);
		return;
	}
	if (c->paused && unsent(c) <= c->srv->cfg.max_output_bytes / 2) {
		c->paused = 0;
		conn_process(c); /* reads and parses again */
	}
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

static char *build_answer(http_server_t *srv, int status, const char *head, size_t head_len, const char *body,
                          size_t body_len, int send_body, int keep_alive, size_t *out_len)
{
	char first[128];
	int n1 = snprintf(first, sizeof first, "HTTP/1.1 %d %s\r\n", status, http_reason(status));
	const char *date = date_header();
	size_t dlen = strlen(date);
	char tail[96];
	int n2;
	if (status == 204 || status == 304 || (status >= 100 && status < 200))
		n2 = snprintf(tail, sizeof tail, "Connection: %s\r\n\r\n",
		              keep_alive ? "keep-alive" : "close");
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
		conn_close(c); /* idle keep-alive connection, or answers not read for that long */
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
	/* an upgrade (Connection: Upgrade, or CONNECT): Candor upgrades nothing, and what follows
	 * on the connection is not HTTP to be parsed: answer this request, then close */
	if (p->upgrade)
		c->upgrade = 1;
	/* the next request's head is checked again */
	c->head_done = c->prev_cr = 0;
	c->crlfs = -1;
	return HPE_PAUSED;
}

/* llhttp 8 takes a bare LF after the request line and as the empty line that ends the head,
 * and a header folded onto the next line (obs-fold), even in strict mode: check the head
 * before parsing. Scans p[0..n) up to the end of the head once; returns what is wrong, or
 * NULL. */
static const char *head_problem(http_conn_t *c, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !c->head_done; i++) {
		if (p[i] == '\n') {
			if (!c->prev_cr)
				return "Lines must end with CRLF.";
			/* two line ends in a row end the head; empty lines before the request
			 * line (crlfs < 0) do not count */
			if (c->crlfs >= 0 && ++c->crlfs == 2)
				c->head_done = 1;
			c->prev_cr = 0;
		} else if (p[i] == '\r') {
			c->prev_cr = 1;
		} else {
			/* a line of the head that starts with white space continues the last one */
			if (c->crlfs == 1 && (p[i] == ' ' || p[i] == '\t'))
				return "Header lines must not be folded.";
			c->prev_cr = 0;
			c->crlfs = 0;
		}
	}
	return NULL;
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
		c->req_headers[i] =
		    (http_header_t){c->head.data + h->name, h->name_len,
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
	c->last_active = uv_now(srv->loop);
	if (!c->in_process)
		conn_process(c);
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
	while (!c->busy && !c->closing && !c->close_after_write && c->in_pos < c->in_len &&
	       unsent(c) <= high) {
		const char *start = c->in + c->in_pos;
		const char *bad = head_problem(c, start, c->in_len - c->in_pos);
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
	if (c->busy) {
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
		arm_timer(c, c->srv->cfg.idle_timeout_ms);
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

/* A connection that can be closed for a new one: nothing in progress, nothing received
 * and not parsed, nothing waiting to be sent. */
static int is_idle(http_conn_t *c)
{
	return !c->busy && !c->closing && !c->close_after_write && c->state == ST_IDLE &&
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
		c->addr_len = addr_bytes(&sa, c->addr);
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
	arm_timer(c, srv->cfg.header_timeout_ms);
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
