/* Outbound calls through libcurl's multi socket interface on the libuv loop. */
#include "curl_uv.h"

#include "buf.h"
#include "list.h"

#include "version.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* ------------------------------------------------------------------ the driver */

/** A socket curl asked us to watch. */
struct cu_sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct curl_uv *cu;
	struct cu_sock *prev, *next; /* in the driver's list while open */
};

/** A started transfer's completion, and the socket it last used (to drop it on cancel). */
struct cu_xfer {
	curl_uv_done_fn done;
	void *ud;
	curl_socket_t fd;
};

struct curl_uv {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;      /* curl's timeout */
	uv_prepare_t keep;     /* active while transfers run: keeps the loop alive */
	struct cu_sock *socks; /* open sockets (their polls are unref'd) */
	int pending;           /* started, not done nor cancelled */
	int closing;           /* curl_uv_free was called */
	int open_handles;      /* timer and keep, until their close callbacks */
};

static void check_done(curl_uv_t *cu);

static void sock_closed(uv_handle_t *h)
{
	free(h->data);
}

static void sock_close(curl_uv_t *cu, struct cu_sock *cs)
{
	LIST_UNLINK(cu->socks, cs);
	uv_poll_stop(&cs->poll);
	uv_close((uv_handle_t *)&cs->poll, sock_closed);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct cu_sock *cs = h->data;
	curl_uv_t *cu = cs->cu;
	int flags = 0, running = 0;
	if (status < 0) {
		flags = CURL_CSELECT_ERR;
	} else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	/* cs may be closed inside (its memory lives until the close callback) */
	curl_multi_socket_action(cu->multi, cs->fd, flags, &running);
	check_done(cu);
}

/* CURLMOPT_SOCKETFUNCTION: start, change or stop watching a socket. */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	curl_uv_t *cu = userp;
	struct cu_sock *cs = socketp;
	struct cu_xfer *x = NULL;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	if (x)
		x->fd = what == CURL_POLL_REMOVE ? CURL_SOCKET_BAD : s;
	if (what == CURL_POLL_REMOVE) {
		if (cs) {
			curl_multi_assign(cu->multi, s, NULL);
			sock_close(cu, cs);
		}
		return 0;
	}
	if (!cs) {
		cs = calloc(1, sizeof *cs);
		if (!cs)
			return -1;
		if (uv_poll_init_socket(cu->loop, &cs->poll, s) != 0) {
			free(cs);
			return -1;
		}
		uv_unref((uv_handle_t *)&cs->poll); /* an idle kept-alive connection keeps nothing running */
		cs->poll.data = cs;
		cs->fd = s;
		cs->cu = cu;
		LIST_PUSH(cu->socks, cs);
		curl_multi_assign(cu->multi, s, cs);
	}
	int events = 0;
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&cs->poll, events, on_poll);
	return 0;
}

static void on_timer(uv_timer_t *t)
{
	curl_uv_t *cu = t->data;
	int running = 0;
	curl_multi_socket_action(cu->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(cu);
}

/* CURLMOPT_TIMERFUNCTION: curl's next timeout (never act from inside this callback). */
static int on_timeout_change(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	curl_uv_t *cu = userp;
	if (cu->closing)
		return 0;
	if (timeout_ms < 0)
		uv_timer_stop(&cu->timer);
	else
		uv_timer_start(&cu->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

static void on_keep(uv_prepare_t *p)
{
	(void)p;
}

static void pending_changed(curl_uv_t *cu, int delta)
{
	cu->pending += delta;
	if (cu->closing)
		return;
	if (cu->pending > 0 && !uv_is_active((uv_handle_t *)&cu->keep))
		uv_prepare_start(&cu->keep, on_keep);
	else if (cu->pending == 0)
		uv_prepare_stop(&cu->keep);
}

static void check_done(curl_uv_t *cu)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(cu->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *easy = m->easy_handle;
		CURLcode rc = m->data.result;
		struct cu_xfer *x = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(cu->multi, easy);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		pending_changed(cu, -1);
		if (x) {
			curl_uv_done_fn done = x->done;
			void *ud = x->ud;
			free(x);
			done(easy, rc, ud);
		}
	}
}

curl_uv_t *curl_uv_new(uv_loop_t *loop)
{
	static int curl_ready;
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		curl_ready = 1;
	}
	curl_uv_t *cu = calloc(1, sizeof *cu);
	if (!cu)
		return NULL;
	cu->loop = loop;
	cu->multi = curl_multi_init();
	if (!cu->multi) {
		free(cu);
		return NULL;
	}
	curl_multi_setopt(cu->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(cu->multi, CURLMOPT_SOCKETDATA, cu);
	curl_multi_setopt(cu->multi, CURLMOPT_TIMERFUNCTION, on_timeout_change);
	curl_multi_setopt(cu->multi, CURLMOPT_TIMERDATA, cu);
	uv_timer_init(loop, &cu->timer);
	cu->timer.data = cu;
	uv_prepare_init(loop, &cu->keep);
	cu->keep.data = cu;
	cu->open_handles = 2;
	return cu;
}

int curl_uv_start(curl_uv_t *cu, CURL *easy, curl_uv_done_fn done, void *ud)
{
	struct cu_xfer *x = malloc(sizeof *x);
	if (!x || cu->closing)
		goto fail;
	x->done = done;
	x->ud = ud;
	x->fd = CURL_SOCKET_BAD;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)x);
	if (curl_multi_add_handle(cu->multi, easy) != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		goto fail;
	}
	pending_changed(cu, +1);
	return 0;
fail:
	free(x);
	return -1;
}

void curl_uv_cancel(curl_uv_t *cu, CURL *easy, int drop_connection)
{
	struct cu_xfer *x = NULL;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	if (!x)
		return; /* not started, or already done */
	/* curl would say goodbye on the connection (SMTP QUIT) and wait for the answer, blocking
	 * the loop; with the socket shut down that send fails at once (curl still closes it) */
	if (drop_connection && x->fd != CURL_SOCKET_BAD)
		shutdown(x->fd, SHUT_RDWR);
	curl_multi_remove_handle(cu->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	free(x);
	pending_changed(cu, -1);
}

int curl_uv_pending(const curl_uv_t *cu)
{
	return cu->pending;
}

static void driver_closed(uv_handle_t *h)
{
	curl_uv_t *cu = h->data;
	if (--cu->open_handles == 0)
		free(cu);
}

void curl_uv_free(curl_uv_t *cu)
{
	if (!cu)
		return;
	cu->closing = 1;
	curl_multi_cleanup(cu->multi); /* closes kept connections (REMOVE for their sockets) */
	cu->multi = NULL;
	while (cu->socks)
		sock_close(cu, cu->socks);
	uv_timer_stop(&cu->timer);
	uv_prepare_stop(&cu->keep);
	uv_close((uv_handle_t *)&cu->timer, driver_closed);
	uv_close((uv_handle_t *)&cu->keep, driver_closed);
}

/* ------------------------------------------------------------------ shared helpers */

static void set_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static int has_ctl(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return 1;
	return 0;
}

/* Checks url: parses, has one of the schemes (comma-separated), no user or password. */
static int check_url(const char *url, const char *schemes, char *err, size_t errlen)
{
	int ok = 0;
	char *scheme = NULL, *user = NULL, *host = NULL;
	CURLU *u = curl_url();
	if (!u) {
		set_err(err, errlen, "out of memory");
		return 0;
	}
	if (has_ctl(url) || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
		set_err(err, errlen, "not a valid URL: %.200s", url);
		goto done;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		set_err(err, errlen, "the URL has no scheme");
		goto done;
	}
	size_t n = strlen(scheme);
	const char *p = schemes;
	int found = 0;
	while (*p) {
		size_t m = strcspn(p, ",");
		if (m == n && strncmp(p, scheme, n) == 0)
			found = 1;
		p += m + (p[m] == ',');
	}
	if (!found) {
		set_err(err, errlen, "the URL must start with %s://", schemes);
		goto done;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		set_err(err, errlen, "put credentials in username and password, not in the URL");
		goto done;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
		set_err(err, errlen, "the URL has no host");
		goto done;
	}
	ok = 1;
done:
	curl_free(scheme);
	curl_free(user);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

static int is_tls_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		return 1;
	default:
		return 0;
	}
}

static int is_connect_error(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	       rc == CURLE_COULDNT_RESOLVE_PROXY;
}

/* Options every transfer gets. */
static void common_opts(CURL *e, long timeout_ms, int insecure, char *errbuf)
{
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	if (insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

/* The best text for a failure: curl's error buffer, else its generic text. */
static const char *curl_text(CURLcode rc, const char *errbuf)
{
	return errbuf[0] ? errbuf : curl_easy_strerror(rc);
}

/* ------------------------------------------------------------------ mail */

struct mail_job {
	curl_uv_t *cu;
	CURL *easy;
	struct curl_slist *rcpt;
	char *msg; /* owned copy of the message */
	size_t msg_len, msg_pos;
	int handed_over; /* curl has read the whole message */
	long timeout_ms;
	mail_done_fn done;
	void *ud;
	char last[512]; /* the server's last reply line */
	char errbuf[CURL_ERROR_SIZE];
};

static void mail_free(mail_job_t *job)
{
	if (!job)
		return;
	if (job->easy)
		curl_easy_cleanup(job->easy);
	curl_slist_free_all(job->rcpt);
	free(job->msg);
	free(job);
}

static size_t mail_read(char *buf, size_t size, size_t nitems, void *ud)
{
	mail_job_t *job = ud;
	size_t n = size * nitems, left = job->msg_len - job->msg_pos;
	if (n > left)
		n = left;
	memcpy(buf, job->msg + job->msg_pos, n);
	job->msg_pos += n;
	if (job->msg_pos == job->msg_len)
		job->handed_over = 1;
	return n;
}

/* The server's replies arrive here, a line at a time. The answer to QUIT (221), which curl
 * sends after a failure too, is not the reply worth reporting. */
static size_t mail_reply(char *buf, size_t size, size_t nitems, void *ud)
{
	mail_job_t *job = ud;
	size_t n = size * nitems, m = n;
	if (n >= 3 && memcmp(buf, "221", 3) == 0)
		return n;
	while (m > 0 && (buf[m - 1] == '\n' || buf[m - 1] == '\r'))
		m--;
	if (m >= sizeof job->last)
		m = sizeof job->last - 1;
	memcpy(job->last, buf, m);
	job->last[m] = 0;
	return n;
}

const char *mail_error_code(CURLcode rc, long smtp_code)
{
	if (rc == CURLE_OK)
		return NULL;
	if (is_connect_error(rc))
		return "connect";
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return "timeout";
	if (is_tls_error(rc))
		return "tls";
	if (rc == CURLE_LOGIN_DENIED || smtp_code == 530 || smtp_code == 534 || smtp_code == 535 ||
	    smtp_code == 538)
		return "auth";
	if (smtp_code >= 400 && smtp_code < 600)
		return "rejected";
	return "smtp";
}

static void mail_finished(CURL *easy, CURLcode rc, void *ud)
{
	mail_job_t *job = ud;
	mail_result_t res;
	memset(&res, 0, sizeof res);
	long code = 0;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	res.smtp_code = code;
	snprintf(res.response, sizeof res.response, "%s", job->last);
	res.code = mail_error_code(rc, code);
	if (!res.code) {
		snprintf(res.message, sizeof res.message, "the mail server accepted the mail");
	} else if (strcmp(res.code, "connect") == 0) {
		snprintf(res.message, sizeof res.message, "cannot reach the mail server: %s",
		         curl_text(rc, job->errbuf));
		res.temporary = 1;
	} else if (strcmp(res.code, "timeout") == 0) {
		snprintf(res.message, sizeof res.message, "the mail server did not finish within %ld ms",
		         job->timeout_ms);
		res.temporary = 1;
	} else if (strcmp(res.code, "tls") == 0) {
		snprintf(res.message, sizeof res.message,
		         "the secure connection (TLS) to the mail server failed: %s",
		         curl_text(rc, job->errbuf));
	} else if (strcmp(res.code, "auth") == 0) {
		snprintf(res.message, sizeof res.message, "the mail server refused the sign-in%s%s",
		         job->last[0] ? ": " : "", job->last);
	} else if (strcmp(res.code, "rejected") == 0) {
		snprintf(res.message, sizeof res.message, "the mail server refused the mail: %s",
		         job->last[0] ? job->last : curl_text(rc, job->errbuf));
	} else {
		snprintf(res.message, sizeof res.message, "the mail conversation failed: %s",
		         curl_text(rc, job->errbuf));
	}
	if (code >= 400 && code < 500)
		res.temporary = 1;
	/* a 4xx or 5xx answer refused the message for sure; anything else after it was handed over
	 * (a lost answer, a closed connection, a timeout) leaves it unknown whether it was taken */
	if (res.code && job->handed_over && !(code >= 400 && code < 600))
		res.unsure = 1;
	job->done(&res, job->ud);
	mail_free(job);
}

mail_job_t *mail_start(curl_uv_t *cu, const mail_opts_t *o, mail_done_fn done, void *ud, char *err,
                       size_t errlen)
{
	mail_job_t *job = NULL;
	if (!check_url(o->url, "smtp,smtps", err, errlen))
		goto fail;
	if (!o->from || has_ctl(o->from) || strchr(o->from, '<') || strchr(o->from, '>')) {
		set_err(err, errlen, "from: not a usable address");
		goto fail;
	}
	if (o->to_count < 1) {
		set_err(err, errlen, "to: no recipient");
		goto fail;
	}
	if ((o->username && has_ctl(o->username)) || (o->password && has_ctl(o->password))) {
		set_err(err, errlen, "the credentials contain CR or LF");
		goto fail;
	}
	job = calloc(1, sizeof *job);
	if (!job)
		goto oom;
	job->cu = cu;
	job->done = done;
	job->ud = ud;
	job->timeout_ms = o->timeout_ms;
	for (int i = 0; i < o->to_count; i++) {
		const char *a = o->to[i];
		if (!a || !a[0] || has_ctl(a) || strchr(a, '<') || strchr(a, '>')) {
			set_err(err, errlen, "to[%d]: not a usable address", i + 1);
			goto fail;
		}
		struct curl_slist *l = curl_slist_append(job->rcpt, a);
		if (!l)
			goto oom;
		job->rcpt = l;
	}
	job->msg = malloc(o->message_len ? o->message_len : 1);
	if (!job->msg)
		goto oom;
	memcpy(job->msg, o->message, o->message_len);
	job->msg_len = o->message_len;
	job->easy = curl_easy_init();
	if (!job->easy)
		goto oom;
	CURL *e = job->easy;
	common_opts(e, o->timeout_ms, o->insecure, job->errbuf);
	curl_easy_setopt(e, CURLOPT_URL, o->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(e, CURLOPT_SERVER_RESPONSE_TIMEOUT, (o->timeout_ms + 999) / 1000);
	curl_easy_setopt(e, CURLOPT_USE_SSL, o->starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
	if (o->username)
		curl_easy_setopt(e, CURLOPT_USERNAME, o->username);
	if (o->password)
		curl_easy_setopt(e, CURLOPT_PASSWORD, o->password);
	curl_easy_setopt(e, CURLOPT_MAIL_FROM, o->from);
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, job->rcpt);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, mail_read);
	curl_easy_setopt(e, CURLOPT_READDATA, job);
	curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)job->msg_len);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, mail_reply);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, job);
	if (curl_uv_start(cu, e, mail_finished, job) != 0)
		goto oom;
	return job;
oom:
	set_err(err, errlen, "out of memory");
fail:
	mail_free(job);
	return NULL;
}

void mail_cancel(mail_job_t *job)
{
	curl_uv_cancel(job->cu, job->easy, 1);
	mail_free(job);
}

/* ------------------------------------------------------------------ HTTP */

#define FETCH_MAX_HEAD (256 * 1024) /* all header lines of one answer */

struct fetch_job {
	curl_uv_t *cu;
	CURL *easy;
	struct curl_slist *headers;
	char *body;       /* owned copy of the request body */
	buf_t head, resp; /* the answer */
	size_t max_body;
	long timeout_ms;
	int too_large; /* the answer was cut off */
	int oom;
	int deny_local;          /* see fetch_opts_t */
	int deny_private;        /* see fetch_opts_t */
	char refused[64];        /* the address refused, "" when none */
	const char *refused_why; /* what kind of address it is, for the message */
	fetch_done_fn done;
	void *ud;
	char errbuf[CURL_ERROR_SIZE];
};

static void fetch_free(fetch_job_t *job)
{
	if (!job)
		return;
	if (job->easy)
		curl_easy_cleanup(job->easy);
	curl_slist_free_all(job->headers);
	free(job->body);
	buf_free(&job->head);
	buf_free(&job->resp);
	free(job);
}

static size_t fetch_write(char *data, size_t size, size_t nmemb, void *ud)
{
	fetch_job_t *job = ud;
	size_t n = size * nmemb;
	if (job->resp.len + n > job->max_body) {
		job->too_large = 1;
		return 0;
	}
	buf_add(&job->resp, data, n);
	if (job->resp.oom) {
		job->oom = 1;
		return 0;
	}
	return n;
}

static size_t fetch_header(char *data, size_t size, size_t nitems, void *ud)
{
	fetch_job_t *job = ud;
	size_t n = size * nitems, m = n;
	if (m >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		buf_reset(&job->head); /* a new answer (after 1xx): keep the last one only */
		return n;
	}
	while (m > 0 && (data[m - 1] == '\n' || data[m - 1] == '\r'))
		m--;
	if (m == 0)
		return n;
	if (job->head.len + m + 1 > FETCH_MAX_HEAD) {
		job->too_large = 1;
		return 0;
	}
	buf_add(&job->head, data, m);
	buf_addc(&job->head, '\n');
	if (job->head.oom) {
		job->oom = 1;
		return 0;
	}
	return n;
}

static void fetch_finished(CURL *easy, CURLcode rc, void *ud)
{
	fetch_job_t *job = ud;
	fetch_result_t res;
	memset(&res, 0, sizeof res);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &res.status);
	if (rc == CURLE_OK) {
		res.code = NULL;
	} else if (job->refused[0]) {
		res.code = "address";
		snprintf(res.message, sizeof res.message, "refused to connect to %s: %s", job->refused,
		         job->refused_why);
	} else if (job->too_large) {
		res.code = "too_large";
		snprintf(res.message, sizeof res.message, "the answer is larger than %zu bytes",
		         job->max_body);
	} else if (is_connect_error(rc)) {
		res.code = "connect";
		snprintf(res.message, sizeof res.message, "cannot connect: %s", curl_text(rc, job->errbuf));
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		res.code = "timeout";
		snprintf(res.message, sizeof res.message, "no complete answer within %ld ms",
		         job->timeout_ms);
	} else if (is_tls_error(rc)) {
		res.code = "tls";
		snprintf(res.message, sizeof res.message, "the secure connection (TLS) failed: %s",
		         curl_text(rc, job->errbuf));
	} else {
		res.code = "http";
		snprintf(res.message, sizeof res.message, "%s",
		         job->oom ? "out of memory" : curl_text(rc, job->errbuf));
	}
	res.head = job->head.p ? job->head.p : "";
	res.head_len = job->head.len;
	res.body = job->resp.p ? job->resp.p : "";
	res.body_len = job->resp.len;
	job->done(&res, job->ud);
	fetch_free(job);
}

/* The 4 bytes of the IPv4 address sa reaches, or NULL; *v6 is set to the 16 bytes of any other
 * IPv6 address. An IPv6 address that carries an IPv4 one counts as that IPv4 address: mapped
 * (::ffff:a.b.c.d), compatible (::a.b.c.d, so :: and ::1 too), NAT64 (64:ff9b::a.b.c.d) and
 * 6to4 (2002:aabb:ccdd::) — a gateway may deliver them to the IPv4 address they name. */
static const unsigned char *ipv4_bytes(const struct sockaddr *sa, const unsigned char **v6)
{
	*v6 = NULL;
	if (sa->sa_family == AF_INET)
		return (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)
		    ->sin_addr.s_addr;
	if (sa->sa_family != AF_INET6)
		return NULL;
	const unsigned char *b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char compatible[12] = {0};
	static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, compatible, 12) == 0 || memcmp(b, nat64, 12) == 0)
		return b + 12;
	if (b[0] == 0x20 && b[1] == 0x02)
		return b + 2;
	*v6 = b;
	return NULL;
}

int curl_uv_local_address(const struct sockaddr *sa)
{
	const unsigned char *v6, *b = ipv4_bytes(sa, &v6);
	if (v6)
		return v6[0] == 0xff || (v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80); /* multicast, link-local */
	if (!b)
		return 1; /* neither: not a place to send anything */
	return b[0] == 127 || b[0] == 0 || (b[0] == 169 && b[1] == 254) || b[0] >= 224;
}

int curl_uv_private_address(const struct sockaddr *sa)
{
	const unsigned char *v6, *b = ipv4_bytes(sa, &v6);
	static const unsigned char nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1};
	if (v6) /* unique local, site-local, and the NAT64 prefix for local use (64:ff9b:1::/48) */
		return (v6[0] & 0xfe) == 0xfc || (v6[0] == 0xfe && (v6[1] & 0xc0) == 0xc0) ||
		       memcmp(v6, nat64_local, 6) == 0;
	if (!b)
		return 0;
	return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
	       (b[0] == 100 && (b[1] & 0xc0) == 64);
}

const char *curl_uv_address_kind(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)(void *)&ss;
	if (inet_pton(AF_INET, text, &v4->sin_addr) == 1)
		v4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1)
		v6->sin6_family = AF_INET6;
	else
		return NULL;
	const struct sockaddr *sa = (const struct sockaddr *)(const void *)&ss;
	if (curl_uv_local_address(sa))
		return "local";
	return curl_uv_private_address(sa) ? "private" : "public";
}

/* curl asks for a socket to connect to a: refused for a local or private address when the job
 * says so. */
static curl_socket_t fetch_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	fetch_job_t *job = ud;
	(void)purpose;
	const struct sockaddr *sa = &a->addr;
	const char *why = NULL;
	if (job->deny_local && curl_uv_local_address(sa))
		why = "a local address (this machine, link-local or multicast)";
	else if (job->deny_private && curl_uv_private_address(sa))
		why = "a private network address (not allowed by the company's settings)";
	if (why) {
		job->refused_why = why;
		char host[INET6_ADDRSTRLEN] = "?";
		const void *src = a->family == AF_INET6
		                      ? (const void *)&((struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr
		                      : (const void *)&((struct sockaddr_in *)(void *)&a->addr)->sin_addr;
		inet_ntop(a->family, src, host, sizeof host);
		snprintf(job->refused, sizeof job->refused, "%s", host);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

/* A method is an HTTP token in capitals (GET, POST, PROPFIND...). */
static int valid_method(const char *m)
{
	if (!m[0] || strlen(m) > 20)
		return 0;
	for (; *m; m++)
		if (!(*m >= 'A' && *m <= 'Z'))
			return 0;
	return 1;
}

/* "Name: value" with a token name and no control characters. */
static int valid_header_line(const char *h)
{
	const char *colon = strchr(h, ':');
	if (!colon || colon == h)
		return 0;
	for (const char *p = h; p < colon; p++)
		if (!(isalnum((unsigned char)*p) || strchr("!#$%&'*+-.^_`|~", *p)))
			return 0;
	for (const char *p = colon; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			return 0;
	return 1;
}

static int has_header(const fetch_opts_t *o, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < o->header_count; i++)
		if (strncasecmp(o->headers[i], name, n) == 0 && o->headers[i][n] == ':')
			return 1;
	return 0;
}

fetch_job_t *fetch_start(curl_uv_t *cu, const fetch_opts_t *o, fetch_done_fn done, void *ud, char *err,
                         size_t errlen)
{
	fetch_job_t *job = NULL;
	const char *method = o->method ? o->method : "GET";
	if (!valid_method(method)) {
		set_err(err, errlen, "method: not an HTTP method: %.40s", method);
		goto fail;
	}
	if (!check_url(o->url, "http,https", err, errlen))
		goto fail;
	job = calloc(1, sizeof *job);
	if (!job)
		goto oom;
	job->cu = cu;
	job->done = done;
	job->ud = ud;
	job->max_body = o->max_body;
	job->timeout_ms = o->timeout_ms;
	job->deny_local = o->deny_local;
	job->deny_private = o->deny_private;
	for (int i = 0; i < o->header_count; i++) {
		if (!valid_header_line(o->headers[i])) {
			set_err(err, errlen, "headers: not a valid header line: %.80s", o->headers[i]);
			goto fail;
		}
		struct curl_slist *l = curl_slist_append(job->headers, o->headers[i]);
		if (!l)
			goto oom;
		job->headers = l;
	}
	/* no "Expect: 100-continue" round trip; no form content type made up by curl */
	static const char *const extra[] = {"Expect:", "Content-Type:"};
	for (int i = 0; i < 2; i++) {
		if (i == 1 && has_header(o, "content-type"))
			continue;
		struct curl_slist *l = curl_slist_append(job->headers, extra[i]);
		if (!l)
			goto oom;
		job->headers = l;
	}
	job->easy = curl_easy_init();
	if (!job->easy)
		goto oom;
	CURL *e = job->easy;
	common_opts(e, o->timeout_ms, o->insecure, job->errbuf);
	curl_easy_setopt(e, CURLOPT_URL, o->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "Candor/" CANDOR_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, job->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fetch_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, job);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, fetch_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, job);
	if (o->deny_local || o->deny_private) {
		/* every connection is checked when it is opened: never one kept from another request */
		curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, fetch_open_socket);
		curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, job);
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	}
	int with_body = o->body_len > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	                strcmp(method, "PATCH") == 0;
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (with_body) {
		job->body = malloc(o->body_len ? o->body_len : 1);
		if (!job->body)
			goto oom;
		if (o->body_len)
			memcpy(job->body, o->body, o->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, job->body);
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	}
	if (curl_uv_start(cu, e, fetch_finished, job) != 0)
		goto oom;
	return job;
oom:
	set_err(err, errlen, "out of memory");
fail:
	fetch_free(job);
	return NULL;
}

void fetch_cancel(fetch_job_t *job)
{
	curl_uv_cancel(job->cu, job->easy, 0); /* an HTTP/2 connection may carry other requests */
	fetch_free(job);
}
