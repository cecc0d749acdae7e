/* The benchmark floor: the least a libuv + llhttp server can do to answer GET /healthz.
 * Every request gets {"status":"ok"}; keep-alive and pipelining work; nothing else (no
 * routing, no limits, no timeouts, no Lua). bench/run.sh compares Candor against it.
 * usage: floor [HOST [PORT]]   (default 127.0.0.1, port 0 = any free port) */
#include <llhttp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define BODY "{\"status\":\"ok\"}"

/** The whole answer, sent as is (the same headers Candor's answer has, less the security ones). */
static const char answer[] = "HTTP/1.1 200 OK\r\n"
                             "Content-Type: application/json\r\n"
                             "Content-Length: 15\r\n"
                             "Connection: keep-alive\r\n"
                             "\r\n" BODY;
static const char answer_close[] = "HTTP/1.1 200 OK\r\n"
                                   "Content-Type: application/json\r\n"
                                   "Content-Length: 15\r\n"
                                   "Connection: close\r\n"
                                   "\r\n" BODY;

/** One connection. */
struct conn {
	uv_tcp_t tcp;
	llhttp_t parser;
	int answers; /* requests completed in the bytes just parsed */
	int close;   /* the last one asked to close */
	char buf[65536];
};

/** One write of up to 64 answers. */
struct write_req {
	uv_write_t w;
	struct conn *c;
	int close;
};

static llhttp_settings_t settings;

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

static void conn_close(struct conn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static int on_message_complete(llhttp_t *p)
{
	struct conn *c = p->data;
	c->answers++;
	c->close = !llhttp_should_keep_alive(p);
	return 0;
}

static void on_written(uv_write_t *w, int status)
{
	struct write_req *wr = (struct write_req *)w;
	if (status < 0 || wr->close)
		conn_close(wr->c);
	free(wr);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	(void)suggested;
	struct conn *c = h->data;
	*b = uv_buf_init(c->buf, sizeof c->buf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = s->data;
	if (n < 0) {
		conn_close(c);
		return;
	}
	c->answers = 0;
	if (llhttp_execute(&c->parser, b->base, (size_t)n) != HPE_OK) {
		conn_close(c);
		return;
	}
	/* one write per 64 answers (wrk sends one request at a time; pipelining sends more) */
	for (int left = c->answers; left > 0;) {
		uv_buf_t bufs[64];
		int nb = left < 64 ? left : 64;
		left -= nb;
		for (int i = 0; i < nb; i++)
			bufs[i] = uv_buf_init((char *)answer, sizeof answer - 1);
		int close = left == 0 && c->close;
		if (close)
			bufs[nb - 1] = uv_buf_init((char *)answer_close, sizeof answer_close - 1);
		struct write_req *wr = malloc(sizeof *wr);
		if (!wr) {
			conn_close(c);
			return;
		}
		wr->c = c;
		wr->close = close;
		if (uv_write(&wr->w, s, bufs, (unsigned)nb, on_written) != 0) {
			free(wr);
			conn_close(c);
			return;
		}
	}
}

static void on_connection(uv_stream_t *server, int status)
{
	if (status < 0)
		return;
	struct conn *c = calloc(1, sizeof *c);
	if (!c)
		return;
	uv_tcp_init(server->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	llhttp_init(&c->parser, HTTP_REQUEST, &settings);
	c->parser.data = c;
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(int argc, char **argv)
{
	const char *host = argc > 1 ? argv[1] : "127.0.0.1";
	int port = argc > 2 ? atoi(argv[2]) : 0;
	signal(SIGPIPE, SIG_IGN);
	llhttp_settings_init(&settings);
	settings.on_message_complete = on_message_complete;
	uv_loop_t *loop = uv_default_loop();
	uv_tcp_t server;
	struct sockaddr_in sa;
	int rc;
	if ((rc = uv_ip4_addr(host, port, &sa)) != 0 || (rc = uv_tcp_init(loop, &server)) != 0 ||
	    (rc = uv_tcp_bind(&server, (struct sockaddr *)&sa, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&server, 511, on_connection)) != 0) {
		fprintf(stderr, "floor: cannot listen on %s:%d: %s\n", host, port, uv_strerror(rc));
		return 1;
	}
	int len = sizeof sa;
	uv_tcp_getsockname(&server, (struct sockaddr *)&sa, &len);
	printf("Floor is running at http://%s:%d/\n", host, ntohs(sa.sin_port));
	fflush(stdout);
	return uv_run(loop, UV_RUN_DEFAULT);
}
