/** Outbound calls: libcurl's multi interface driven by the libuv loop (a uv_poll per socket
 * curl watches, one uv_timer for curl's timeout), and on it the two kinds of call Candor makes:
 * a mail over SMTP and an HTTP request. Plain C: no Lua here (core/lua_mail.c and
 * core/lua_fetch.c are the bindings). Nothing here blocks the loop, except one known case:
 * libcurl waits for the answer to SMTP QUIT when it closes a mail connection it kept open
 * (bounded by the server response timeout; normally one round trip). */
#ifndef CANDOR_CURL_UV_H
#define CANDOR_CURL_UV_H

#include <curl/curl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

/* ------------------------------------------------------------------ the driver */

/** A curl multi handle on a libuv loop. */
typedef struct curl_uv curl_uv_t;

/** Called once when a transfer ends (never for a cancelled one). The easy handle has left the
 * multi and belongs to the caller again (who cleans it up). result is curl's code. */
typedef void (*curl_uv_done_fn)(CURL *easy, CURLcode result, void *ud);

/** A driver on loop; NULL when out of memory. Initialises libcurl on first use. */
curl_uv_t *curl_uv_new(uv_loop_t *loop);
/** Starts a configured easy handle (the driver uses its CURLOPT_PRIVATE). 0, or -1 if curl
 * refused it. The caller keeps ownership of easy. */
int curl_uv_start(curl_uv_t *cu, CURL *easy, curl_uv_done_fn done, void *ud);
/** Stops a started transfer without calling its done function; easy is the caller's again.
 * drop_connection shuts its socket first, so that curl does not wait (blocking) for a polite
 * goodbye (SMTP QUIT); do not use it for HTTP, whose connection may carry other requests. */
void curl_uv_cancel(curl_uv_t *cu, CURL *easy, int drop_connection);
/** Transfers started and neither done nor cancelled. */
int curl_uv_pending(const curl_uv_t *cu);
/** Frees the driver (cancel or finish every transfer first). Its handles close on the loop's
 * next turn, so the loop must run again to release the memory. */
void curl_uv_free(curl_uv_t *cu);

/* ------------------------------------------------------------------ a mail over SMTP */

/** What to send. Strings are copied by mail_start; the caller may free them afterwards. */
typedef struct mail_opts {
	const char *url;       /* "smtp://host:port" or "smtps://host:port", no credentials */
	int starttls;          /* require STARTTLS on smtp:// (CURLUSESSL_ALL) */
	const char *username;  /* or NULL */
	const char *password;  /* or NULL; never logged, never in messages */
	const char *from;      /* envelope sender address */
	const char *const *to; /* envelope recipients */
	int to_count;
	const char *message; /* the full RFC 5322 text (CRLF line ends) */
	size_t message_len;
	long timeout_ms; /* for the whole conversation */
	int insecure;    /* skip certificate checks (tests only) */
} mail_opts_t;

/** How a mail ended. */
typedef struct mail_result {
	const char *code;   /* NULL when accepted, else "connect", "tls", "auth", "rejected",
	                       "timeout" or "smtp" */
	long smtp_code;     /* the server's last reply code, 0 when it never answered */
	int temporary;      /* worth retrying later (4xx replies, connect, timeout) */
	int unsure;         /* failed after the whole message was handed over, with no refusal of
	                       it: the server may have taken it (a lost answer, a dropped connection) */
	char response[512]; /* the server's last reply line */
	char message[768];  /* what happened, for people */
} mail_result_t;

/** A mail being sent. */
typedef struct mail_job mail_job_t;

/** Called once when the mail is accepted or failed (never after mail_cancel). The job is
 * freed when this returns. */
typedef void (*mail_done_fn)(const mail_result_t *res, void *ud);

/** Starts sending. NULL with err filled when the options are unusable (a bad URL, CR or LF in
 * an address, no recipient) or memory ran out. */
mail_job_t *mail_start(curl_uv_t *cu, const mail_opts_t *o, mail_done_fn done, void *ud, char *err,
                       size_t errlen);
/** Abandons the mail (the connection is dropped) and frees the job. */
void mail_cancel(mail_job_t *job);
/** The result code for a finished SMTP transfer: curl's code and the server's last reply. */
const char *mail_error_code(CURLcode rc, long smtp_code);

/* ------------------------------------------------------------------ an HTTP request */

/** What to ask. Strings are copied by fetch_start. */
typedef struct fetch_opts {
	const char *method;         /* "GET", "POST", ... */
	const char *url;            /* http:// or https:// */
	const char *const *headers; /* "Name: value" lines, no CR or LF */
	int header_count;
	const char *body; /* or NULL */
	size_t body_len;
	long timeout_ms;  /* for the whole exchange */
	size_t max_body;  /* longer answers fail with "too_large" */
	int insecure;     /* skip certificate checks (tests only) */
	int deny_local;   /* refuse to connect to this machine and link-local, multicast or
	                     unspecified addresses (code "address"): the address curl is about to
	                     connect to is checked, so a name that resolves there is refused too */
	int deny_private; /* refuse private network addresses the same way (10/8, ...) */
} fetch_opts_t;

/** How a request ended. */
typedef struct fetch_result {
	const char *code; /* NULL when an answer came (any status), else "connect",
	                     "timeout", "tls", "too_large", "address" or "http" */
	long status;      /* HTTP status */
	const char *head; /* the final answer's header lines, each ending in '\n' */
	size_t head_len;
	const char *body;
	size_t body_len;
	char message[768]; /* what went wrong, for people */
} fetch_result_t;

/** A request in flight. */
typedef struct fetch_job fetch_job_t;

/** Called once when the request ends (never after fetch_cancel); the result's buffers and
 * the job are freed when this returns. */
typedef void (*fetch_done_fn)(const fetch_result_t *res, void *ud);

/** Whether sa (AF_INET or AF_INET6, IPv4-mapped included) is this machine (127.0.0.0/8, ::1),
 * link-local (169.254.0.0/16, fe80::/10: cloud metadata services live there), multicast,
 * broadcast or unspecified (0.0.0.0/8, ::). Private networks are not (see the next). */
int curl_uv_local_address(const struct sockaddr *sa);

/** Whether sa is on a private network: 10/8, 172.16/12, 192.168/16, the carrier-grade NAT's
 * 100.64/10, IPv6 unique local fc00::/7 and the old site-local fec0::/10 (IPv4-mapped included). */
int curl_uv_private_address(const struct sockaddr *sa);

/** What the IP address written in text is: "local" (curl_uv_local_address), "private",
 * "public", or NULL when text is not an IPv4 or IPv6 address (a name, say). */
const char *curl_uv_address_kind(const char *text);

/** Starts the request; NULL with err filled when the options are unusable. */
fetch_job_t *fetch_start(curl_uv_t *cu, const fetch_opts_t *o, fetch_done_fn done, void *ud, char *err,
                         size_t errlen);
/** Abandons the request and frees the job. */
void fetch_cancel(fetch_job_t *job);

#endif
