/* Unit tests of core/http.c: a real server on 127.0.0.1 (port 0) in a uv loop with a C
 * handler, driven by plain non-blocking sockets; the loop is pumped with UV_RUN_NOWAIT while
 * the test waits for an answer. Static files themselves: test_static.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS 3000
#define MAX_HELD 80
#define BIG_LEN 32000 /* the length of an answer to /big */

/** What the tests share with the handler. */
static struct env {
	uv_loop_t loop;                 /* the loop the server runs on */
	http_server_t *srv;             /* the server under test */
	int port;                       /* its port */
	http_request_t *held[MAX_HELD]; /* requests to /hold, not yet answered */
	int nheld;                      /* how many */
	int abandoned;                  /* on_abandon calls */
	int handled;                    /* requests that reached the handler */
	int stop_done;                  /* http_server_stop's done calls */
	uv_timer_t later;               /* answers a /later request */
	http_request_t *later_req;      /* the /later request the timer answers */
	int responded_later;            /* the timer has answered */
	char static_dir[256];           /* temp folder of static files */
} E;

/* --- the handler --- */
static void on_abandon(http_request_t *req)
{
	(void)req;
	E.abandoned++;
}

/* Answers "<what>:<target>" so a test can tell which request an answer belongs to. */
static void answer(http_request_t *req, const char *what)
{
	char body[512];
	int n = snprintf(body, sizeof body, "%s:%.*s", what, (int)req->target_len, req->target);
	static const char ct[] = "Content-Type: text/plain\r\n";
	http_respond(req, 200, ct, sizeof ct - 1, body, (size_t)n);
}

static void on_later(uv_timer_t *t)
{
	(void)t;
	http_request_t *req = E.later_req;
	E.later_req = NULL;
	E.responded_later++;
	answer(req, "later");
}

static int starts(const http_request_t *req, const char *prefix)
{
	size_t n = strlen(prefix);
	return req->target_len >= n && memcmp(req->target, prefix, n) == 0;
}

static void handler(http_request_t *req, void *ud)
{
	(void)ud;
	E.handled++;
	if (starts(req, "/echo")) {
		http_respond(req, 200, NULL, 0, req->body, req->body_len);
	} else if (starts(req, "/later")) {
		/* answered 50 ms from now by a timer */
		E.later_req = req;
		uv_timer_start(&E.later, on_later, 50, 0);
	} else if (starts(req, "/big")) {
		static char big[BIG_LEN];
		memset(big, 'b', sizeof big);
		http_respond(req, 200, NULL, 0, big, sizeof big);
	} else if (starts(req, "/hold")) {
		req->on_abandon = on_abandon;
		E.held[E.nheld++] = req;
	} else {
		answer(req, "hello");
	}
}

/* --- the loop and the server --- */
static void pump(int ms)
{
	uv_run(&E.loop, UV_RUN_NOWAIT);
	if (ms > 0)
		poll(NULL, 0, ms);
	uv_run(&E.loop, UV_RUN_NOWAIT);
}

/* A small body limit; timeouts far longer than any test (a slow machine must not see a
 * 408 where a test expects none). */
static void test_config(http_config_t *cfg)
{
	http_config_default(cfg);
	cfg->max_body_bytes = 1024;
	cfg->header_timeout_ms = 20000;
	cfg->body_timeout_ms = 20000;
	cfg->idle_timeout_ms = 20000;
}

static int start_server(const http_config_t *cfg)
{
	memset(&E, 0, sizeof E);
	if (uv_loop_init(&E.loop) != 0)
		return -1;
	uv_timer_init(&E.loop, &E.later);
	char err[256] = "";
	E.srv = http_server_start(&E.loop, "127.0.0.1", 0, cfg, handler, NULL, err, sizeof err);
	if (!E.srv) {
		fprintf(stderr, "cannot start: %s\n", err);
		return -1;
	}
	E.port = http_server_port(E.srv);
	return E.port > 0 ? 0 : -1;
}

static int setup(void **state)
{
	(void)state;
	http_config_t cfg;
	test_config(&cfg);
	return start_server(&cfg);
}

/* Short timeouts, for the tests of the timeouts. */
static int setup_short_timeouts(void **state)
{
	(void)state;
	http_config_t cfg;
	test_config(&cfg);
	cfg.header_timeout_ms = 200;
	cfg.body_timeout_ms = 200;
	cfg.idle_timeout_ms = 400;
	return start_server(&cfg);
}

static int setup_two_conns(void **state)
{
	(void)state;
	http_config_t cfg;
	test_config(&cfg);
	cfg.max_connections = 2;
	return start_server(&cfg);
}

/* Frees the server and checks that the loop ends with no handle left open. */
static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < E.nheld; i++)
		if (E.held[i])
			http_respond(E.held[i], 200, NULL, 0, NULL, 0);
	if (E.srv)
		http_server_free(E.srv);
	E.srv = NULL;
	uv_close((uv_handle_t *)&E.later, NULL);
	uv_run(&E.loop, UV_RUN_DEFAULT);
	int rc = uv_loop_close(&E.loop);
	if (rc != 0)
		fprintf(stderr, "the loop still has handles: %s\n", uv_strerror(rc));
	return rc == 0 ? 0 : -1;
}

/* --- a small HTTP client on a non-blocking socket --- */

/** One client connection with the bytes received but not yet consumed. */
typedef struct client {
	int fd;
	char buf[64 * 1024];
	size_t len;
	int eof; /* the server closed (FIN or RST) */
} client_t;

/** One parsed answer. */
typedef struct resp {
	int status;
	char head[8192]; /* status line and headers */
	char body[BIG_LEN + 1];
	size_t body_len;
} resp_t;

/* Connects from the source address from (NULL: the kernel's choice, 127.0.0.1). */
static int cli_connect_from(client_t *c, const char *from)
{
	memset(c, 0, sizeof *c);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	if (from) {
		struct sockaddr_in src = {.sin_family = AF_INET};
		inet_pton(AF_INET, from, &src.sin_addr);
		if (bind(c->fd, (struct sockaddr *)&src, sizeof src) != 0) {
			close(c->fd);
			c->fd = -1;
			return -1;
		}
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)E.port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	/* the kernel completes the handshake from the listen backlog: no pumping needed */
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;
		close(c->fd);
		c->fd = -1;
		errno = e;
		return -1;
	}
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

static int cli_connect(client_t *c)
{
	return cli_connect_from(c, NULL);
}

static void cli_close(client_t *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void cli_send(client_t *c, const char *data, size_t n)
{
	int64_t end = clock_mono_ms() + WAIT_MS;
	while (n > 0 && clock_mono_ms() < end) {
		ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL);
		if (w > 0) {
			data += w;
			n -= (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			break;
		} else {
			pump(1);
		}
	}
	assert_int_equal(n, 0);
}

static void cli_sends(client_t *c, const char *text)
{
	cli_send(c, text, strlen(text));
}

/* Reads what is there; returns the bytes read (0 when nothing yet). */
static size_t cli_fill(client_t *c)
{
	if (c->eof || c->len == sizeof c->buf)
		return 0;
	ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
	if (r > 0) {
		c->len += (size_t)r;
		return (size_t)r;
	}
	if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
		c->eof = 1;
	return 0;
}

static const char *find_header(const resp_t *r, const char *name)
{
	static char value[1024];
	size_t n = strlen(name);
	const char *p = strstr(r->head, "\r\n");
	while (p && p[2] != '\r' && p[2] != 0) {
		p += 2;
		const char *eol = strstr(p, "\r\n");
		if (!eol)
			break;
		if ((size_t)(eol - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			snprintf(value, sizeof value, "%.*s", (int)(eol - v), v);
			return value;
		}
		p = eol;
	}
	return NULL;
}

/* Waits for one complete answer; with_body is 0 for answers to HEAD (no body follows).
 * Returns 0, or -1 when the connection ended or nothing came in time. */
static int cli_read(client_t *c, resp_t *r, int with_body)
{
	memset(r, 0, sizeof *r);
	int64_t end = clock_mono_ms() + WAIT_MS;
	for (;;) {
		char *eoh = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (eoh) {
			size_t hlen = (size_t)(eoh - c->buf) + 4;
			if (hlen >= sizeof r->head)
				return -1;
			memcpy(r->head, c->buf, hlen);
			r->head[hlen] = 0;
			r->status = atoi(r->head + 9);
			const char *cl = find_header(r, "Content-Length");
			size_t blen = with_body && cl ? (size_t)atol(cl) : 0;
			if (blen >= sizeof r->body)
				return -1;
			if (c->len >= hlen + blen) {
				memcpy(r->body, c->buf + hlen, blen);
				r->body_len = blen;
				memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
				c->len -= hlen + blen;
				return 0;
			}
		}
		if (c->eof || clock_mono_ms() > end)
			return -1;
		if (!cli_fill(c))
			pump(1);
	}
}

/* Waits until the server closes the connection; 1 when it did with nothing more sent. */
static int cli_wait_closed(client_t *c, int ms)
{
	int64_t end = clock_mono_ms() + ms;
	while (!c->eof && clock_mono_ms() < end)
		if (!cli_fill(c))
			pump(1);
	return c->eof && c->len == 0;
}

/* Sends one request and reads its answer. */
static void roundtrip(client_t *c, const char *request, resp_t *r)
{
	cli_sends(c, request);
	assert_int_equal(cli_read(c, r, 1), 0);
}

static void wait_for(int *flag, int value)
{
	int64_t end = clock_mono_ms() + WAIT_MS;
	while (*flag < value && clock_mono_ms() < end)
		pump(1);
	assert_int_equal(*flag, value);
}

static void counts(int *conns, int *busy)
{
	http_server_counts(E.srv, conns, busy);
}

/* Waits until the server has this many open connections. */
static void wait_conns(int want)
{
	int conns = -1, busy = 0;
	int64_t end = clock_mono_ms() + WAIT_MS;
	for (;;) {
		counts(&conns, &busy);
		if (conns == want || clock_mono_ms() > end)
			break;
		pump(1);
	}
	assert_int_equal(conns, want);
}

/* --- basics --- */
static void get_answers_200_with_content_length(void **state)
{
	(void)state;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	roundtrip(&c, "GET /hi?x=1 HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello:/hi?x=1");
	assert_string_equal(find_header(&r, "Content-Length"), "13");
	assert_string_equal(find_header(&r, "Content-Type"), "text/plain");
	assert_string_equal(find_header(&r, "Connection"), "keep-alive");
	assert_non_null(find_header(&r, "Date"));
	cli_close(&c);
}

static void common_headers_are_added(void **state)
{
	(void)state;
	http_server_set_common_headers(E.srv, "X-Frame-Options: DENY\r\n");
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	roundtrip(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_string_equal(find_header(&r, "X-Frame-Options"), "DENY");
	cli_close(&c);
}

static void keep_alive_serves_two_requests_on_one_connection(void **state)
{
	(void)state;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	roundtrip(&c, "GET /one HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_string_equal(r.body, "hello:/one");
	roundtrip(&c, "GET /two HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_string_equal(r.body, "hello:/two");
	int conns, busy;
	counts(&conns, &busy);
	assert_int_equal(conns, 1);
	assert_int_equal(busy, 0);
	cli_close(&c);
}

static void connection_close_is_honoured(void **state)
{
	(void)state;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	roundtrip(&c, "GET /bye HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(find_header(&r, "Connection"), "close");
	assert_true(cli_wait_closed(&c, WAIT_MS));
	cli_close(&c);
}

static void pipelined_requests_are_answered_in_order(void **state)
{
	(void)state;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	cli_sends(&c, "GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
	              "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody"
	              "\r\n" /* a stray CRLF after a body is allowed before the next request */
	              "GET /c HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cli_read(&c, &r, 1), 0);
	assert_string_equal(r.body, "hello:/a");
	assert_int_equal(cli_read(&c, &r, 1), 0);
	assert_string_equal(r.body, "body");
	assert_int_equal(cli_read(&c, &r, 1), 0);
	assert_string_equal(r.body, "hello:/c");
	assert_int_equal(E.handled, 3);
	cli_close(&c);
}

static void pipelined_answers_keep_order_when_the_first_is_async(void **state)
{
	(void)state;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	cli_sends(&c, "GET /later HTTP/1.1\r\nHost: t\r\n\r\nGET /now HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cli_read(&c, &r, 1), 0);
	assert_string_equal(r.body, "later:/later");
	assert_int_equal(E.responded_later, 1);
	assert_int_equal(cli_read(&c, &r, 1), 0);
	assert_string_equal(r.body, "hello:/now");
	cli_close(&c);
}

static void head_answer_has_no_body(void **state)
{
	(void)state;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	cli_sends(&c, "HEAD /page HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cli_read(&c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	/* the length of the GET answer, but no body bytes: the next answer follows at once */
	assert_string_equal(find_header(&r, "Content-Length"), "11");
	roundtrip(&c, "GET /next HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello:/next");
	cli_close(&c);
}

static void expect_100_continue_gets_an_interim_answer(void **state)
{
	(void)state;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
	assert_int_equal(cli_read(&c, &r, 1), 0);
	assert_int_equal(r.status, 100);
	assert_int_equal(E.handled, 0);
	cli_sends(&c, "12345");
	assert_int_equal(cli_read(&c, &r, 1), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "12345");
	cli_close(&c);
}

static void chunked_body_within_the_limit_is_received(void **state)
{
	(void)state;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	roundtrip(&c,
	          "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
	          "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
	          &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello world");
	cli_close(&c);
}

/* --- bad input and limits --- */
static void expect_error_and_close(const char *request, int status)
{
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	cli_sends(&c, request);
	assert_int_equal(cli_read(&c, &r, 1), 0);
	if (r.status != status)
		print_error("request %.60s...: got %d\n", request, r.status);
	assert_int_equal(r.status, status);
	assert_string_equal(find_header(&r, "Connection"), "close");
	assert_true(cli_wait_closed(&c, WAIT_MS));
	assert_int_equal(E.handled, 0);
	cli_close(&c);
}

static void malformed_request_is_400_and_closes(void **state)
{
	(void)state;
	expect_error_and_close("GET / HTTP/1.1\r\nHost: t\r\nno colon here\r\n\r\n", 400);
	expect_error_and_close("HELLO THERE\r\n\r\n", 400);
	expect_error_and_close("GET / HTTP/9.9\r\nHost: t\r\n\r\n", 400);
}

static void error_after_a_good_request_still_answers_the_good_one(void **state)
{
	(void)state;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	cli_sends(&c, "GET /fine HTTP/1.1\r\nHost: t\r\n\r\nBROKEN\r\n\r\n");
	assert_int_equal(cli_read(&c, &r, 1), 0);
	assert_string_equal(r.body, "hello:/fine");
	assert_int_equal(cli_read(&c, &r, 1), 0);
	assert_int_equal(r.status, 400);
	assert_true(cli_wait_closed(&c, WAIT_MS));
	cli_close(&c);
}

/* llhttp's lenient flags stay off: requests that only a lenient parser accepts get 400. */
static void lenient_parsing_is_never_on(void **state)
{
	(void)state;
	/* both Content-Length and Transfer-Encoding (request smuggling) */
	expect_error_and_close("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
	                       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	                       400);
	/* a bare LF ending a header line */
	expect_error_and_close("GET / HTTP/1.1\r\nHost: t\nX-A: b\r\n\r\n", 400);
	/* a bare LF ending the request line, or the head */
	expect_error_and_close("GET / HTTP/1.1\nHost: t\r\n\r\n", 400);
	expect_error_and_close("GET / HTTP/1.1\r\nHost: t\r\n\n", 400);
	expect_error_and_close("\r\n\r\nGET / HTTP/1.1\nHost: t\r\n\r\n", 400);
	/* two different Content-Length headers */
	expect_error_and_close("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
	                       "Content-Length: 2\r\n\r\nab",
	                       400);
	/* a Transfer-Encoding that is not chunked last (lenient_transfer_encoding) */
	expect_error_and_close("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400);
	/* a control character in a header value (lenient_headers) */
	expect_error_and_close("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\001b\r\n\r\n", 400);
	/* a space inside a header name */
	expect_error_and_close("GET / HTTP/1.1\r\nHost: t\r\nX Foo: b\r\n\r\n", 400);
	/* a header folded onto a second line (obs-fold) */
	expect_error_and_close("GET / HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n", 400);
	/* a tab or a raw non-ASCII byte in the target (they must be percent-encoded) */
	expect_error_and_close("GET /a\tb HTTP/1.1\r\nHost: t\r\n\r\n", 400);
	expect_error_and_close("GET /\xc3\xa9 HTTP/1.1\r\nHost: t\r\n\r\n", 400);
	/* chunk data not followed by CRLF */
	expect_error_and_close("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
	                       "3\r\nabcXX0\r\n\r\n",
	                       400);
	/* whitespace between a header name and the colon */
	expect_error_and_close("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length : 2\r\n\r\nab", 400);
}

static void header_block_over_16k_is_431(void **state)
{
	(void)state;
	static char req[20000];
	/* just under the limit passes */
	int n = snprintf(req, sizeof req, "GET /big HTTP/1.1\r\nHost: t\r\nX-Big: ");
	memset(req + n, 'a', 15000);
	strcpy(req + n + 15000, "\r\n\r\n");
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	roundtrip(&c, req, &r);
	assert_int_equal(r.status, 200);
	cli_close(&c);
	/* over it: 431, and the handler never sees it */
	E.handled = 0;
	memset(req + n, 'a', 17000);
	strcpy(req + n + 17000, "\r\n\r\n");
	expect_error_and_close(req, 431);
}

static void many_small_headers_over_16k_are_431(void **state)
{
	(void)state;
	static char req[40000];
	size_t n = (size_t)snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: t\r\n");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(req + n, sizeof req - n, "X-H%03d: %0200d\r\n", i, i);
	snprintf(req + n, sizeof req - n, "\r\n");
	expect_error_and_close(req, 431);
}

static void body_over_the_limit_is_413(void **state)
{
	(void)state;
	/* announced by Content-Length: refused before the body is sent */
	expect_error_and_close("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n", 413);
	/* chunked: refused once the chunks add up to more than 1024 bytes */
	static char req[4096];
	size_t n = (size_t)snprintf(req, sizeof req,
	                            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 3; i++) {
		n += (size_t)snprintf(req + n, sizeof req - n, "258\r\n"); /* 600 bytes */
		memset(req + n, 'x', 600);
		n += 600;
		n += (size_t)snprintf(req + n, sizeof req - n, "\r\n");
	}
	snprintf(req + n, sizeof req - n, "0\r\n\r\n");
	expect_error_and_close(req, 413);
}

static void body_at_the_limit_is_accepted(void **state)
{
	(void)state;
	static char req[4096];
	int n = snprintf(req, sizeof req, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n");
	memset(req + n, 'y', 1024);
	req[n + 1024] = 0;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	roundtrip(&c, req, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 1024);
	cli_close(&c);
}

static void slow_headers_get_408_and_close(void **state)
{
	(void)state;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	int64_t t0 = clock_mono_ms();
	cli_sends(&c, "GET /slow HTTP/1.1\r\nHost: t\r\n");
	assert_int_equal(cli_read(&c, &r, 1), 0);
	int64_t waited = clock_mono_ms() - t0;
	assert_int_equal(r.status, 408);
	assert_true(waited >= 150);
	assert_true(waited < 2000);
	assert_true(cli_wait_closed(&c, WAIT_MS));
	assert_int_equal(E.handled, 0);
	cli_close(&c);
}

static void silent_new_connection_gets_408(void **state)
{
	(void)state;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	assert_int_equal(cli_read(&c, &r, 1), 0);
	assert_int_equal(r.status, 408);
	assert_true(cli_wait_closed(&c, WAIT_MS));
	cli_close(&c);
}

static void slow_body_gets_408(void **state)
{
	(void)state;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
	assert_int_equal(cli_read(&c, &r, 1), 0);
	assert_int_equal(r.status, 408);
	assert_true(cli_wait_closed(&c, WAIT_MS));
	assert_int_equal(E.handled, 0);
	cli_close(&c);
}

static void idle_keep_alive_connection_is_closed_after_the_idle_timeout(void **state)
{
	(void)state;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	roundtrip(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	int64_t t0 = clock_mono_ms();
	/* quietly closed: no 408 for a connection between requests */
	assert_true(cli_wait_closed(&c, WAIT_MS));
	int64_t waited = clock_mono_ms() - t0;
	assert_true(waited >= 350); /* the idle timeout (400 ms), not the header timeout (200 ms) */
	assert_true(waited < 2000);
	wait_conns(0);
	cli_close(&c);
}

/* Over the maximum with no idle connection to close (idle ones: see
 * idle_connections_make_room_for_a_new_client). */
static void connections_over_the_maximum_get_503(void **state)
{
	(void)state;
	client_t a, b, x;
	resp_t r;
	assert_int_equal(cli_connect(&a), 0);
	assert_int_equal(cli_connect(&b), 0);
	cli_sends(&a, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
	cli_sends(&b, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
	wait_for(&E.nheld, 2);
	assert_int_equal(cli_connect(&x), 0);
	assert_int_equal(cli_read(&x, &r, 1), 0);
	assert_int_equal(r.status, 503);
	assert_true(cli_wait_closed(&x, WAIT_MS));
	cli_close(&x);
	/* the two admitted connections still work */
	answer(E.held[0], "a");
	answer(E.held[1], "b");
	E.held[0] = E.held[1] = NULL;
	assert_int_equal(cli_read(&a, &r, 1), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(cli_read(&b, &r, 1), 0);
	assert_int_equal(r.status, 200);
	/* once one leaves, a new one is admitted */
	cli_close(&a);
	wait_conns(1);
	assert_int_equal(cli_connect(&x), 0);
	roundtrip(&x, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	cli_close(&x);
	cli_close(&b);
}

/* --- a client that sends and never reads --- */

/* Sends what the socket takes within ms (pumping the loop); returns the bytes sent. */
static size_t cli_send_for(client_t *c, const char *data, size_t n, int ms)
{
	size_t sent = 0;
	int64_t end = clock_mono_ms() + ms;
	while (clock_mono_ms() < end) {
		ssize_t w = sent < n ? send(c->fd, data + sent, n - sent, MSG_NOSIGNAL) : 0;
		if (w > 0)
			sent += (size_t)w;
		else
			pump(1);
	}
	return sent;
}

/* Sends until the socket takes no more (without waiting). */
static size_t cli_send_now(client_t *c, const char *data, size_t n)
{
	size_t sent = 0;
	ssize_t w;
	while (sent < n && (w = send(c->fd, data + sent, n - sent, MSG_NOSIGNAL)) > 0)
		sent += (size_t)w;
	return sent;
}

/* 1,000 pipelined requests for 32 kB answers (32 MB if all were answered at once) from a
 * client that does not read: the server stops reading while the answers wait, then answers
 * every request once the client reads. */
static void a_client_that_does_not_read_is_not_read_from(void **state)
{
	(void)state;
	enum { N = 1000 };
	static char reqs[N * 40];
	size_t len = 0;
	for (int i = 0; i < N; i++)
		len += (size_t)sprintf(reqs + len, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	size_t sent = cli_send_for(&c, reqs, len, 1000);
	/* what the kernel's socket buffers hold (a few MB) and no more; the server itself holds
	 * at most its bound and one answer */
	assert_true(E.handled < N / 2);
	http_stats_t st;
	http_server_stats(E.srv, &st);
	assert_int_equal(st.paused, 1);
	assert_true(st.max_queued > 0);
	assert_true(st.max_queued <= 256 * 1024 + BIG_LEN);
	assert_int_equal(st.queued_bytes, st.max_queued);
	int got = 0;
	while (got < N) {
		sent += cli_send_now(&c, reqs + sent, len - sent);
		assert_int_equal(cli_read(&c, &r, 1), 0);
		assert_int_equal(r.status, 200);
		assert_int_equal(r.body_len, BIG_LEN);
		got++;
	}
	assert_int_equal(E.handled, N);
	cli_close(&c);
}

/* A client that never reads what it asked for is closed after the idle timeout. */
static void a_client_that_reads_nothing_for_the_idle_timeout_is_closed(void **state)
{
	(void)state;
	enum { N = 400 };
	static char reqs[N * 40];
	size_t len = 0;
	for (int i = 0; i < N; i++)
		len += (size_t)sprintf(reqs + len, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
	client_t c;
	assert_int_equal(cli_connect(&c), 0);
	cli_send_for(&c, reqs, len, 100);
	http_stats_t st;
	http_server_stats(E.srv, &st);
	assert_int_equal(st.paused, 1);
	wait_conns(0); /* idle timeout 400 ms */
	cli_close(&c);
}

/* --- upgrades: Candor upgrades nothing --- */

/* An upgrade request followed by pipelined requests: one answer, handled once, then close. */
static void upgrade_request_is_answered_once_and_the_connection_closes(void **state)
{
	(void)state;
	const char *paths[] = {"/up", "/later"}; /* answered at once, and from a timer */
	for (int i = 0; i < 2; i++) {
		E.handled = 0;
		client_t c;
		resp_t r;
		char req[512];
		snprintf(req, sizeof req,
		         "POST %s HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
		         "Content-Length: 0\r\n\r\n"
		         "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
		         "POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
		         paths[i]);
		assert_int_equal(cli_connect(&c), 0);
		cli_sends(&c, req);
		assert_int_equal(cli_read(&c, &r, 1), 0);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(r.body, paths[i]));
		assert_string_equal(find_header(&r, "Connection"), "close");
		/* nothing more: no second answer, closed */
		assert_true(cli_wait_closed(&c, WAIT_MS));
		assert_int_equal(E.handled, 1);
		cli_close(&c);
	}
}

/* --- many connections from one address --- */

static int setup_six_conns(void **state)
{
	(void)state;
	http_config_t cfg;
	test_config(&cfg);
	cfg.max_connections = 6;
	return start_server(&cfg);
}

static int setup_three_per_address(void **state)
{
	(void)state;
	http_config_t cfg;
	test_config(&cfg);
	cfg.max_connections = 8;
	cfg.max_connections_per_address = 3;
	return start_server(&cfg);
}

static int setup_exempt_proxy(void **state)
{
	(void)state;
	http_config_t cfg;
	test_config(&cfg);
	cfg.max_connections_per_address = 2;
	if (http_range_parse("127.0.0.0/30", &cfg.exempt[0]) != 0)
		return -1;
	cfg.nexempt = 1;
	return start_server(&cfg);
}

/* Opens n connections from address from, each after one answered request (idle keep-alive). */
static void open_idle(client_t *cs, int n, const char *from)
{
	resp_t r;
	for (int i = 0; i < n; i++) {
		assert_int_equal(cli_connect_from(&cs[i], from), 0);
		roundtrip(&cs[i], "GET /idle HTTP/1.1\r\nHost: t\r\n\r\n", &r);
		assert_int_equal(r.status, 200);
	}
}

/* One client holds every slot with idle keep-alive connections: a new client is still served,
 * and the connection idle the longest is the one closed for it. */
static void idle_connections_make_room_for_a_new_client(void **state)
{
	(void)state;
	client_t hog[6], fresh;
	resp_t r;
	open_idle(hog, 6, "127.0.0.1");
	wait_conns(6);
	assert_int_equal(cli_connect_from(&fresh, "127.0.0.2"), 0);
	roundtrip(&fresh, "GET /fresh HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello:/fresh");
	/* the oldest idle one went, quietly */
	assert_true(cli_wait_closed(&hog[0], WAIT_MS));
	for (int i = 1; i < 6; i++) {
		roundtrip(&hog[i], "GET /still HTTP/1.1\r\nHost: t\r\n\r\n", &r);
		assert_int_equal(r.status, 200);
	}
	for (int i = 0; i < 6; i++)
		cli_close(&hog[i]);
	cli_close(&fresh);
}

/* One address holds at most 3 connections: a 4th closes its own idle one, or gets 503 when
 * all 3 are busy; other addresses are served all along. */
static void one_address_holds_at_most_its_share(void **state)
{
	(void)state;
	client_t mine[4], other;
	resp_t r;
	open_idle(mine, 3, "127.0.0.1");
	assert_int_equal(cli_connect_from(&mine[3], "127.0.0.1"), 0);
	roundtrip(&mine[3], "GET /fourth HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_true(cli_wait_closed(&mine[0], WAIT_MS)); /* its oldest idle one */
	cli_close(&mine[0]);
	wait_conns(3);
	/* all three busy: the next one is refused */
	for (int i = 1; i < 4; i++)
		cli_sends(&mine[i], "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
	wait_for(&E.nheld, 3);
	assert_int_equal(cli_connect_from(&mine[0], "127.0.0.1"), 0);
	assert_int_equal(cli_read(&mine[0], &r, 1), 0);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.body, "too_many_connections"));
	assert_true(cli_wait_closed(&mine[0], WAIT_MS));
	/* another address is served */
	assert_int_equal(cli_connect_from(&other, "127.0.0.2"), 0);
	roundtrip(&other, "GET /other HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(E.abandoned, 0); /* no busy connection was closed */
	for (int i = 0; i < 4; i++)
		cli_close(&mine[i]);
	cli_close(&other);
}

/* Addresses in cfg.exempt (trusted proxies) have no per-address cap. */
static void an_exempt_address_has_no_cap(void **state)
{
	(void)state;
	client_t c[5], other;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(cli_connect_from(&c[i], "127.0.0.1"), 0);
		cli_sends(&c[i], "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
	}
	wait_for(&E.nheld, 5);
	/* outside the range: capped at 2 */
	resp_t r;
	client_t d[3];
	for (int i = 0; i < 2; i++) {
		assert_int_equal(cli_connect_from(&d[i], "127.0.0.9"), 0);
		cli_sends(&d[i], "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
	}
	wait_for(&E.nheld, 7);
	assert_int_equal(cli_connect_from(&d[2], "127.0.0.9"), 0);
	assert_int_equal(cli_read(&d[2], &r, 1), 0);
	assert_int_equal(r.status, 503);
	assert_int_equal(cli_connect_from(&other, "127.0.0.1"), 0);
	roundtrip(&other, "GET /sixth HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	for (int i = 0; i < 5; i++)
		cli_close(&c[i]);
	for (int i = 0; i < 3; i++)
		cli_close(&d[i]);
	cli_close(&other);
}

static void address_ranges_parse_and_match(void **state)
{
	(void)state;
	http_range_t r;
	unsigned char a4[4], a6[16];
	assert_int_equal(http_range_parse("10.0.0.0/8", &r), 0);
	assert_int_equal(r.len, 4);
	assert_int_equal(r.bits, 8);
	inet_pton(AF_INET, "10.200.3.4", a4);
	assert_true(http_range_contains(&r, a4, 4));
	inet_pton(AF_INET, "11.0.0.1", a4);
	assert_false(http_range_contains(&r, a4, 4));
	/* an IPv4 client on a dual-stack socket */
	inet_pton(AF_INET6, "::ffff:10.1.1.1", a6);
	assert_true(http_range_contains(&r, a6, 16));
	assert_int_equal(http_range_parse("192.168.1.0/27", &r), 0);
	inet_pton(AF_INET, "192.168.1.31", a4);
	assert_true(http_range_contains(&r, a4, 4));
	inet_pton(AF_INET, "192.168.1.32", a4);
	assert_false(http_range_contains(&r, a4, 4));
	assert_int_equal(http_range_parse("2001:db8::/32", &r), 0);
	inet_pton(AF_INET6, "2001:db8:ffff::1", a6);
	assert_true(http_range_contains(&r, a6, 16));
	inet_pton(AF_INET6, "2001:db9::1", a6);
	assert_false(http_range_contains(&r, a6, 16));
	assert_int_equal(http_range_parse("::1", &r), 0);
	assert_int_equal(r.bits, 128);
	assert_int_equal(http_range_parse("1.2.3.4", &r), 0);
	assert_int_equal(r.bits, 32);
	const char *bad[] = {"", "abc", "10.0.0.0/33", "1.2.3.4/", "/8", "::1/129", "10.0.0.0/8x", "1.2.3"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(http_range_parse(bad[i], &r), -1);
}

/* --- static files --- */
static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* One file below a temp folder, served at /static/ (more in test_static.c). */
static int setup_static(void **state)
{
	if (setup(state) != 0)
		return -1;
	snprintf(E.static_dir, sizeof E.static_dir, "/tmp/candor-http-XXXXXX");
	if (!mkdtemp(E.static_dir))
		return -1;
	write_file(E.static_dir, "app.css", "body{color:red}");
	return http_server_set_static(E.srv, "/static/", E.static_dir) == 1 ? 0 : -1;
}

static int teardown_static(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", E.static_dir);
	int rc = system(cmd);
	return teardown(state) || rc;
}

/* The answers themselves are tested in test_static.c; here: the server serves them. */
static void static_files_are_answered_without_the_handler(void **state)
{
	(void)state;
	http_server_set_common_headers(E.srv, "X-Frame-Options: DENY\r\n");
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	roundtrip(&c, "GET /static/app.css HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "body{color:red}");
	assert_string_equal(find_header(&r, "Content-Type"), "text/css; charset=utf-8");
	assert_string_equal(find_header(&r, "X-Frame-Options"), "DENY");
	char etag[64];
	snprintf(etag, sizeof etag, "%s", find_header(&r, "ETag"));
	assert_string_equal(etag, http_server_static_etag(E.srv, "app.css"));

	char req[256];
	snprintf(req, sizeof req, "GET /static/app.css HTTP/1.1\r\nHost: t\r\nIf-None-Match: %s\r\n\r\n",
	         etag);
	cli_sends(&c, req);
	assert_int_equal(cli_read(&c, &r, 0), 0);
	assert_int_equal(r.status, 304);
	/* no body after a 304 nor after HEAD: the next answer follows at once */
	cli_sends(&c, "HEAD /static/app.css HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_int_equal(cli_read(&c, &r, 0), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(find_header(&r, "Content-Length"), "15");
	roundtrip(&c, "GET /static/app.css?v=1 HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_string_equal(r.body, "body{color:red}");
	assert_string_equal(find_header(&r, "Cache-Control"), "public, max-age=31536000, immutable");
	roundtrip(&c, "POST /static/nope.css HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", &r);
	assert_int_equal(r.status, 404);
	/* in the one JSON error shape of the server */
	assert_string_equal(r.body, "{\"error\":{\"code\":\"not_found\",\"message\":\"No such file.\"}}");
	assert_string_equal(find_header(&r, "Content-Type"), "application/json");
	roundtrip(&c, "POST /static/app.css HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(find_header(&r, "Allow"), "GET, HEAD");
	assert_string_equal(r.body, "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"Use GET.\"}}");
	assert_int_equal(E.handled, 0); /* never reached the handler */
	/* other paths still go to the handler */
	roundtrip(&c, "GET /staticx HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_string_equal(r.body, "hello:/staticx");
	assert_int_equal(E.handled, 1);
	cli_close(&c);
}

/* --- connections that go away, and stopping --- */
static void client_gone_while_handler_pending_calls_on_abandon(void **state)
{
	(void)state;
	client_t c;
	assert_int_equal(cli_connect(&c), 0);
	cli_sends(&c, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
	wait_for(&E.nheld, 1);
	int conns, busy;
	counts(&conns, &busy);
	assert_int_equal(busy, 1);
	cli_close(&c);
	wait_for(&E.abandoned, 1);
	/* answering now is allowed and goes nowhere */
	http_respond(E.held[0], 200, NULL, 0, "late", 4);
	E.held[0] = NULL;
	wait_conns(0);
	counts(&conns, &busy);
	assert_int_equal(busy, 0);
}

static void stop_waits_for_the_request_in_flight(void **state)
{
	(void)state;
	client_t busy_c, idle_c, late;
	resp_t r;
	assert_int_equal(cli_connect(&idle_c), 0);
	roundtrip(&idle_c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_int_equal(cli_connect(&busy_c), 0);
	cli_sends(&busy_c, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
	wait_for(&E.nheld, 1);

	http_server_stop(E.srv, NULL, NULL);
	/* the idle connection closes at once; the busy one waits for its answer */
	assert_true(cli_wait_closed(&idle_c, WAIT_MS));
	cli_close(&idle_c);
	wait_conns(1);
	/* no new connections */
	pump(10);
	assert_int_equal(cli_connect(&late), -1);
	assert_int_equal(errno, ECONNREFUSED);

	answer(E.held[0], "done");
	E.held[0] = NULL;
	assert_int_equal(cli_read(&busy_c, &r, 1), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "done:/hold");
	assert_string_equal(find_header(&r, "Connection"), "close");
	assert_true(cli_wait_closed(&busy_c, WAIT_MS));
	cli_close(&busy_c);
	wait_conns(0);
}

static void on_stopped(void *ud)
{
	(void)ud;
	E.stop_done++;
}

static void stop_calls_done_after_the_last_answer(void **state)
{
	(void)state;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	cli_sends(&c, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
	wait_for(&E.nheld, 1);
	http_server_stop(E.srv, on_stopped, NULL);
	pump(20);
	assert_int_equal(E.stop_done, 0);
	answer(E.held[0], "done");
	E.held[0] = NULL;
	assert_int_equal(cli_read(&c, &r, 1), 0);
	assert_string_equal(r.body, "done:/hold");
	wait_for(&E.stop_done, 1);
	wait_conns(0);
	cli_close(&c);
}

static void stop_with_no_connections_calls_done_at_once(void **state)
{
	(void)state;
	http_server_stop(E.srv, on_stopped, NULL);
	assert_int_equal(E.stop_done, 1);
}

static void free_in_done(void *ud)
{
	(void)ud;
	E.stop_done++;
	http_server_free(E.srv);
	E.srv = NULL;
}

static void stop_callback_may_free_the_server(void **state)
{
	(void)state;
	client_t c;
	resp_t r;
	assert_int_equal(cli_connect(&c), 0);
	cli_sends(&c, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
	wait_for(&E.nheld, 1);
	http_server_stop(E.srv, free_in_done, NULL);
	answer(E.held[0], "done");
	E.held[0] = NULL;
	assert_int_equal(cli_read(&c, &r, 1), 0);
	assert_string_equal(r.body, "done:/hold");
	wait_for(&E.stop_done, 1);
	assert_null(E.srv);
	assert_true(cli_wait_closed(&c, WAIT_MS));
	cli_close(&c);
	/* the teardown checks that the loop ends with nothing left open */
}

static void free_with_a_pending_request_abandons_it(void **state)
{
	(void)state;
	client_t c;
	assert_int_equal(cli_connect(&c), 0);
	cli_sends(&c, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
	wait_for(&E.nheld, 1);
	http_server_free(E.srv);
	E.srv = NULL;
	assert_int_equal(E.abandoned, 1);
	assert_true(cli_wait_closed(&c, WAIT_MS));
	cli_close(&c);
	/* the teardown answers the held request, which frees the connection and the server */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(get_answers_200_with_content_length, setup, teardown),
	    cmocka_unit_test_setup_teardown(common_headers_are_added, setup, teardown),
	    cmocka_unit_test_setup_teardown(keep_alive_serves_two_requests_on_one_connection, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(connection_close_is_honoured, setup, teardown),
	    cmocka_unit_test_setup_teardown(pipelined_requests_are_answered_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(pipelined_answers_keep_order_when_the_first_is_async, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(head_answer_has_no_body, setup, teardown),
	    cmocka_unit_test_setup_teardown(expect_100_continue_gets_an_interim_answer, setup, teardown),
	    cmocka_unit_test_setup_teardown(chunked_body_within_the_limit_is_received, setup, teardown),
	    cmocka_unit_test_setup_teardown(malformed_request_is_400_and_closes, setup, teardown),
	    cmocka_unit_test_setup_teardown(error_after_a_good_request_still_answers_the_good_one, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(lenient_parsing_is_never_on, setup, teardown),
	    cmocka_unit_test_setup_teardown(header_block_over_16k_is_431, setup, teardown),
	    cmocka_unit_test_setup_teardown(many_small_headers_over_16k_are_431, setup, teardown),
	    cmocka_unit_test_setup_teardown(body_over_the_limit_is_413, setup, teardown),
	    cmocka_unit_test_setup_teardown(body_at_the_limit_is_accepted, setup, teardown),
	    cmocka_unit_test_setup_teardown(slow_headers_get_408_and_close, setup_short_timeouts, teardown),
	    cmocka_unit_test_setup_teardown(silent_new_connection_gets_408, setup_short_timeouts, teardown),
	    cmocka_unit_test_setup_teardown(slow_body_gets_408, setup_short_timeouts, teardown),
	    cmocka_unit_test_setup_teardown(idle_keep_alive_connection_is_closed_after_the_idle_timeout,
	                                    setup_short_timeouts, teardown),
	    cmocka_unit_test_setup_teardown(connections_over_the_maximum_get_503, setup_two_conns, teardown),
	    cmocka_unit_test_setup_teardown(a_client_that_does_not_read_is_not_read_from, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_client_that_reads_nothing_for_the_idle_timeout_is_closed,
	                                    setup_short_timeouts, teardown),
	    cmocka_unit_test_setup_teardown(one_address_holds_at_most_its_share, setup_three_per_address,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(an_exempt_address_has_no_cap, setup_exempt_proxy, teardown),
	    cmocka_unit_test(address_ranges_parse_and_match),
	    cmocka_unit_test_setup_teardown(upgrade_request_is_answered_once_and_the_connection_closes, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(idle_connections_make_room_for_a_new_client, setup_six_conns,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(static_files_are_answered_without_the_handler, setup_static,
	                                    teardown_static),
	    cmocka_unit_test_setup_teardown(client_gone_while_handler_pending_calls_on_abandon, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(stop_waits_for_the_request_in_flight, setup, teardown),
	    cmocka_unit_test_setup_teardown(stop_calls_done_after_the_last_answer, setup, teardown),
	    cmocka_unit_test_setup_teardown(stop_with_no_connections_calls_done_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(stop_callback_may_free_the_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(free_with_a_pending_request_abandons_it, setup, teardown),
	};
	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
