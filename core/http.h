/** The HTTP/1.1 server on libuv + llhttp: keep-alive, pipelining (one request at a time per
 * connection, in order), limits with the right status codes, timeouts, back-pressure on
 * clients that do not read, a cap per client address, static files (core/static.c). */
#ifndef CANDOR_HTTP_H
#define CANDOR_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/** The most address ranges http_config_t.exempt holds. */
#define HTTP_MAX_EXEMPT 64

/** An IPv4 or IPv6 address range (CIDR). */
typedef struct http_range {
	unsigned char bytes[16]; /* the network address (4 bytes for IPv4) */
	int len;                 /* 4 or 16 */
	int bits;                /* prefix length */
} http_range_t;

/** Parses "10.0.0.0/8", "2001:db8::/32" or a single address (a /32 or /128) into out.
 * 0, or -1 when text is not one. */
int http_range_parse(const char *text, http_range_t *out);
/** 1 when the address (len 4 or 16 bytes; IPv4-mapped IPv6 counts as IPv4) is inside r. */
int http_range_contains(const http_range_t *r, const unsigned char *addr, int len);

/** Limits and timeouts; http_config_default fills the defaults. */
typedef struct http_config {
	size_t max_header_bytes;    /* request line + headers; over it: 431 (16 KiB) */
	size_t max_body_bytes;      /* over it: 413 (1 MiB) */
	unsigned header_timeout_ms; /* headers must arrive within this; else 408 + close (10 s) */
	unsigned body_timeout_ms;   /* the body must arrive within this after the headers (30 s) */
	unsigned idle_timeout_ms;   /* idle keep-alive connections are closed after it (60 s) */
	/* over it, the connection idle the longest is closed for a new one; when none is idle,
	 * the new one is answered 503 and closed (1024) */
	unsigned max_connections;
	/* the same for one client address, outside exempt; over it a new one is answered 503
	 * too_many_connections when none of that address's is idle; 0: no cap (64) */
	unsigned max_connections_per_address;
	/* a connection whose unsent answers exceed it is neither read from nor parsed until they
	 * drain to half of it; idle_timeout_ms without that closes it (256 KiB) */
	size_t max_output_bytes;
	http_range_t exempt[HTTP_MAX_EXEMPT]; /* addresses without a per-address cap (proxies) */
	int nexempt;                          /* how many of exempt are used (0) */
} http_config_t;

/** Fills cfg with the defaults above. */
void http_config_default(http_config_t *cfg);

/** One header as received; name is lower-cased. */
typedef struct http_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
} http_header_t;

struct http_conn;

/** A parsed request. Owned by the server; valid until http_respond is called for it. */
typedef struct http_request {
	struct http_conn *conn; /* its connection (NULL once the connection is gone) */
	const char *method;     /* "GET", ... */
	const char *target;     /* request target as sent ("/path?query") */
	size_t target_len;
	http_header_t *headers; /* received headers */
	int header_count;
	const char *body; /* request body (may contain NULs) */
	size_t body_len;
	const char *peer; /* peer IP address as text */
	int keep_alive;   /* connection stays open after the answer */
	int head;         /* HEAD request: the answer has no body */
	void *ud;         /* for the handler */
	/** Called when the connection goes away before the answer; the request stays valid
	 * and http_respond must still be called for it (the answer is then dropped). */
	void (*on_abandon)(struct http_request *req);
} http_request_t;

/** Handles a request; must eventually call http_respond (now or later). */
typedef void (*http_handler_fn)(http_request_t *req, void *ud);

/** A listening server. */
typedef struct http_server http_server_t;

/** Starts listening on host:port (port 0 picks one; see http_server_port). */
http_server_t *http_server_start(uv_loop_t *loop, const char *host, int port, const http_config_t *cfg,
                                 http_handler_fn handler, void *ud, char *err, size_t errlen);
/** The port actually bound. */
int http_server_port(http_server_t *srv);
/** Headers (complete "Name: value\r\n" lines) added to every answer, static files included. */
void http_server_set_common_headers(http_server_t *srv, const char *lines);
/** Serves files below dir at URL prefix (e.g. "/static/"), loaded into memory now.
 * Returns the number of files, or -1. */
int http_server_set_static(http_server_t *srv, const char *prefix, const char *dir);
/** Looks up a static file's ETag (for cache-busting URLs); NULL when absent. */
const char *http_server_static_etag(http_server_t *srv, const char *path);
/** Stops accepting; idle connections close now, busy ones after their answer. Calls done
 * once every connection is closed (at once when there are none). */
void http_server_stop(http_server_t *srv, void (*done)(void *), void *ud);
/** Closes every connection now, answered or not (after the graceful period). */
void http_server_close_all(http_server_t *srv);
/** Stops the server, closes every connection (busy ones get on_abandon) and frees it once
 * the listener and every connection have closed: run the loop afterwards; a request still
 * with the handler is freed at its http_respond. A pending stop callback is not called.
 * NULL is fine. */
void http_server_free(http_server_t *srv);
/** Takes new limits (copied); they apply to connections accepted and timers armed from now. */
void http_server_configure(http_server_t *srv, const http_config_t *cfg);
/** Open connections and requests being handled. */
void http_server_counts(http_server_t *srv, int *conns, int *busy);

/** What the server holds right now. */
typedef struct http_stats {
	int conns;           /* open connections */
	int busy;            /* requests with the handler */
	int paused;          /* connections not read from until their answers drain */
	size_t queued_bytes; /* answer bytes not yet taken by the kernel, all connections */
	size_t max_queued;   /* the most of them on one connection */
} http_stats_t;

/** Fills out with the server's figures (walks the connections). */
void http_server_stats(http_server_t *srv, http_stats_t *out);

/** Answers req. head is "Name: value\r\n" lines (may be NULL); Content-Length, Date,
 * Connection and the common headers are added here. Copies what it needs. */
void http_respond(http_request_t *req, int status, const char *head, size_t head_len, const char *body,
                  size_t body_len);

/** Answers req with the file open as fd (size bytes from its start) as the body; takes fd. The
 * head goes now, the file a piece (STREAM_PIECE) at a time as the client takes it, so a large
 * file is never held in memory; the connection parses no further request until the last piece
 * is queued. A file that ends early or cannot be read closes the connection (the client sees a
 * body shorter than its Content-Length, never a wrong one); so does a client that takes nothing
 * for the idle timeout. */
void http_respond_file(http_request_t *req, int status, const char *head, size_t head_len, int fd,
                       uint64_t size);

/** Answers req with the JSON error shape every error of the server has,
 * {"error":{"code":"...","message":"..."}} (Lua's web.error_json makes the same), after head
 * lines (may be NULL). code and message are constant text without quotes, backslashes or
 * control characters. */
void http_respond_error(http_request_t *req, int status, const char *head, size_t head_len, const char *code,
                        const char *message);

/** The standard reason phrase for a status code. */
const char *http_reason(int status);

#endif
