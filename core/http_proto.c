/* Reading HTTP/1.1 requests: the llhttp callbacks that fill a connection's request (with the
 * header and body limits and Expect: 100-continue), the checks of the head strict llhttp does
 * not make, and the reason phrases of the answers. */
#include "http_conn.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Appends n bytes to b: 0, or -1 when memory ran out. */
static int append(buf_t *b, const char *p, size_t n)
{
	buf_add(b, p, n);
	return b->oom ? -1 : 0;
}

static int cb_message_begin(llhttp_t *p)
{
	http_conn_t *c = p->data;
	c->state = ST_HEADERS;
	buf_reset(&c->head);
	buf_reset(&c->body);
	c->nhdrs = 0;
	c->last_was_value = 1;
	c->header_bytes = 0;
	if (!c->fresh)
		http_conn_arm_timer(c, c->srv->cfg.header_timeout_ms);
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
	if (count_header(c, n) || append(&c->head, at, n))
		return -1;
	return 0;
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
		if (append(&c->head, "", 1))
			return -1;
		c->hdrs[c->nhdrs] = (struct hdr_off){c->head.len, 0, 0, 0};
		c->nhdrs++;
		c->last_was_value = 0;
	}
	size_t start = c->head.len;
	if (append(&c->head, at, n))
		return -1;
	for (size_t i = start; i < c->head.len; i++) {
		char ch = c->head.p[i];
		if (ch >= 'A' && ch <= 'Z')
			c->head.p[i] = (char)(ch + 32);
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
		if (append(&c->head, "", 1))
			return -1;
		h->value = c->head.len;
		c->last_was_value = 1;
	}
	if (append(&c->head, at, n))
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
	http_conn_arm_timer(c, srv->cfg.body_timeout_ms);
	/* Expect: 100-continue */
	for (int i = 0; i < c->nhdrs; i++) {
		struct hdr_off *h = &c->hdrs[i];
		if (h->name_len == 6 && memcmp(c->head.p + h->name, "expect", 6) == 0 && h->value_len == 12 &&
		    strncasecmp(c->head.p + h->value, "100-continue", 12) == 0) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
			char *copy = malloc(sizeof cont - 1);
			if (copy) {
				memcpy(copy, cont, sizeof cont - 1);
				http_conn_write(c, copy, sizeof cont - 1);
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
	return append(&c->body, at, n) ? -1 : 0;
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

const char *http_head_problem(http_conn_t *c, const char *p, size_t n)
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

void http_proto_settings(llhttp_settings_t *settings)
{
	llhttp_settings_init(settings);
	settings->on_message_begin = cb_message_begin;
	settings->on_url = cb_url;
	settings->on_header_field = cb_header_field;
	settings->on_header_value = cb_header_value;
	settings->on_headers_complete = cb_headers_complete;
	settings->on_body = cb_body;
	settings->on_message_complete = cb_message_complete;
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
