/** The HTTP server's internals, shared by its files and by nothing else: http.c (the server:
 * connections, limits, back-pressure, timeouts, answers) and http_proto.c (reading requests with
 * llhttp, and the refusals strict llhttp does not make). */
#ifndef CANDOR_HTTP_CONN_H
#define CANDOR_HTTP_CONN_H

#include "buf.h"
#include "http.h"
#include "static.h"

#include <llhttp.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/** Bytes read from a connection and not parsed yet, at most. */
#define IN_CAP (64 * 1024)
/** Headers one request may have. */
#define MAX_HEADERS 128

/** Offsets of one header inside the head buffer (which may move while growing). */
struct hdr_off {
	size_t name, name_len, value, value_len;
};

/** Where a connection is in its current request. */
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
	uint64_t deadline;      /* loop time the timer's timeout is at (http_conn_arm_timer) */
	uint64_t timer_due;     /* loop time the timer is due at (no later than deadline) */
	char *in;               /* received bytes not yet parsed: in[pos..len) */
	size_t in_len, in_pos;
	buf_t head;           /* target and header text of the request being read */
	struct hdr_off *hdrs; /* its headers */
	int nhdrs;
	int last_was_value; /* header callbacks: start a new header on the next field */
	size_t header_bytes;
	buf_t body;
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
	/* an answer whose body is a file, sent a piece at a time as the client takes it
	 * (http_respond_file): no further request is read until its last piece is queued */
	int stream_fd;        /* the file, or -1 */
	int stream_keep;      /* keep the connection afterwards */
	uint64_t stream_off;  /* the next byte to send */
	uint64_t stream_left; /* bytes still to send */
	size_t stream_queued; /* bytes of its pieces queued and not yet reported written */
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

/** Sets the llhttp callbacks that read a request into its connection (parser.data). */
void http_proto_settings(llhttp_settings_t *settings);
/** llhttp 8 takes a bare LF after the request line and as the empty line that ends the head,
 * and a header folded onto the next line (obs-fold), even in strict mode: check the head
 * before parsing. Scans p[0..n) up to the end of the head once; returns what is wrong, or
 * NULL. */
const char *http_head_problem(http_conn_t *c, const char *p, size_t n);
/** (Re)starts c's timer: in ms, a request that has not arrived is answered 408, an idle
 * connection is closed. */
void http_conn_arm_timer(http_conn_t *c, unsigned ms);
/** Writes len bytes of data on c (takes ownership of data). */
void http_conn_write(http_conn_t *c, char *data, size_t len);
/** Writes the address of sa into out (IPv4-mapped IPv6 as IPv4): its length, 0 when unknown. */
int http_addr_bytes(const struct sockaddr_storage *sa, unsigned char out[16]);

#endif
