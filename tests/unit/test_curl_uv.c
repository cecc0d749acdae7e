/* curl_uv: mail over SMTP and HTTP requests driven by a libuv loop, against a fake SMTP server
 * running in a thread of this process (it records the conversation), a listener that never
 * answers, and a port where nothing listens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "curl_uv.h"
#include "host.h"

#include <lauxlib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ports of this test (the hC range) */
#define PORT_SMTP 18310
#define PORT_SILENT 18320
#define PORT_CLOSED 18329

/** A fake SMTP server: accepts one connection, answers by a fixed script, records what it got. */
struct fake_smtp {
	int port;
	int listen_fd;
	int reject_rcpt;     /* answer RCPT TO with 550 */
	int offer_auth;      /* advertise AUTH PLAIN LOGIN and refuse it with 535 */
	int after_data;      /* after the message: 0 accept (250), 1 close without an answer, 2 answer 451 */
	char commands[8192]; /* command lines received, each ending in '\n' */
	char data[65536];    /* the message as received after DATA (dot-stuffing undone) */
	size_t data_len;
	int quit; /* QUIT seen */
	pthread_t thread;
};

/** Line reader over a blocking socket. */
struct reader {
	int fd;
	char buf[8192];
	size_t len;
};

/* Reads one line (CRLF removed) into out; -1 at EOF or after 10 s of silence. */
static int read_line(struct reader *r, char *out, size_t cap)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		if (nl) {
			size_t n = (size_t)(nl - r->buf);
			size_t m = n > 0 && r->buf[n - 1] == '\r' ? n - 1 : n;
			if (m >= cap)
				m = cap - 1;
			memcpy(out, r->buf, m);
			out[m] = 0;
			memmove(r->buf, nl + 1, r->len - n - 1);
			r->len -= n + 1;
			return 0;
		}
		struct pollfd p = {.fd = r->fd, .events = POLLIN};
		if (poll(&p, 1, 10000) <= 0 || r->len == sizeof r->buf)
			return -1;
		ssize_t got = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
		if (got <= 0)
			return -1;
		r->len += (size_t)got;
	}
}

static void say(int fd, const char *s)
{
	ssize_t n = write(fd, s, strlen(s));
	(void)n;
}

static int starts(const char *line, const char *prefix)
{
	return strncasecmp(line, prefix, strlen(prefix)) == 0;
}

static void *smtp_main(void *arg)
{
	struct fake_smtp *f = arg;
	struct pollfd p = {.fd = f->listen_fd, .events = POLLIN};
	if (poll(&p, 1, 10000) <= 0)
		return NULL;
	int fd = accept(f->listen_fd, NULL, NULL);
	if (fd < 0)
		return NULL;
	struct reader r = {.fd = fd};
	char line[2048];
	say(fd, "220 fake.test ESMTP ready\r\n");
	while (read_line(&r, line, sizeof line) == 0) {
		size_t used = strlen(f->commands);
		snprintf(f->commands + used, sizeof f->commands - used, "%s\n", line);
		if (starts(line, "EHLO")) {
			say(fd, f->offer_auth ? "250-fake.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
			                      : "250-fake.test\r\n250 8BITMIME\r\n");
		} else if (starts(line, "HELO")) {
			say(fd, "250 fake.test\r\n");
		} else if (starts(line, "AUTH")) {
			say(fd, "535 5.7.8 Error: authentication failed\r\n");
		} else if (starts(line, "MAIL FROM:")) {
			say(fd, "250 2.1.0 Ok\r\n");
		} else if (starts(line, "RCPT TO:")) {
			say(fd, f->reject_rcpt ? "550 5.1.1 <nobody@example.com>: Recipient address "
			                         "rejected: User unknown\r\n"
			                       : "250 2.1.5 Ok\r\n");
		} else if (starts(line, "DATA")) {
			say(fd, "354 End data with <CR><LF>.<CR><LF>\r\n");
			while (read_line(&r, line, sizeof line) == 0 && strcmp(line, ".") != 0) {
				const char *l = line[0] == '.' ? line + 1 : line; /* undo dot-stuffing */
				size_t n = strlen(l);
				if (f->data_len + n + 2 < sizeof f->data) {
					memcpy(f->data + f->data_len, l, n);
					memcpy(f->data + f->data_len + n, "\r\n", 2);
					f->data_len += n + 2;
				}
			}
			if (f->after_data == 1)
				break;
			say(fd, f->after_data == 2 ? "451 4.3.0 Try again later\r\n"
			                           : "250 2.0.0 Ok: queued as 42\r\n");
		} else if (starts(line, "RSET") || starts(line, "NOOP")) {
			say(fd, "250 2.0.0 Ok\r\n");
		} else if (starts(line, "QUIT")) {
			f->quit = 1;
			say(fd, "221 2.0.0 Bye\r\n");
			break;
		} else {
			say(fd, "502 5.5.2 Error: command not recognized\r\n");
		}
	}
	close(fd);
	return NULL;
}

static int listen_on(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct fake_smtp *fake_start(int port)
{
	struct fake_smtp *f = calloc(1, sizeof *f);
	f->port = port;
	f->listen_fd = listen_on(port);
	assert_true(f->listen_fd >= 0);
	return f;
}

static void fake_run(struct fake_smtp *f)
{
	assert_int_equal(pthread_create(&f->thread, NULL, smtp_main, f), 0);
}

static void fake_stop(struct fake_smtp *f)
{
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
	free(f);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/** What a test saw of one transfer. */
struct outcome {
	int done; /* the done function ran (how many times) */
	mail_result_t mail;
	char fetch_code[32];
	long status;
	double ended_ms;
};

static void on_mail(const mail_result_t *res, void *ud)
{
	struct outcome *o = ud;
	o->done++;
	o->mail = *res;
	o->ended_ms = now_ms();
}

static void on_fetch(const fetch_result_t *res, void *ud)
{
	struct outcome *o = ud;
	o->done++;
	snprintf(o->fetch_code, sizeof o->fetch_code, "%s", res->code ? res->code : "");
	o->status = res->status;
	o->ended_ms = now_ms();
}

/* Runs the loop until o->done or limit_ms passed. */
static void run_until(uv_loop_t *loop, struct outcome *o, double limit_ms)
{
	double end = now_ms() + limit_ms;
	while (!o->done && now_ms() < end)
		uv_run(loop, UV_RUN_ONCE);
}

/* Frees the driver and checks that the loop then has nothing left open. */
static void finish(uv_loop_t *loop, curl_uv_t *cu)
{
	curl_uv_free(cu);
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(loop), 0);
}

static const char MESSAGE[] = "From: Candor <candor@example.com>\r\n"
                              "To: Ana <ana@example.com>\r\n"
                              "Subject: =?UTF-8?B?UsOpdmlzaW9u?=\r\n"
                              "\r\n"
                              "Hello Ana,\r\n"
                              ".a line that starts with a dot\r\n"
                              "..and one with two\r\n"
                              ".\r\n"
                              "Caf\xc3\xa9 =E2=9C=93\r\n";

static mail_opts_t mail_opts(int port, const char *const *to, int nto)
{
	static char url[64];
	snprintf(url, sizeof url, "smtp://127.0.0.1:%d", port);
	mail_opts_t o = {
	    .url = url,
	    .from = "candor@example.com",
	    .to = to,
	    .to_count = nto,
	    .message = MESSAGE,
	    .message_len = sizeof MESSAGE - 1,
	    .timeout_ms = 5000,
	};
	return o;
}

static void test_mail_delivered(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	curl_uv_t *cu = curl_uv_new(&loop);
	struct fake_smtp *f = fake_start(PORT_SMTP);
	fake_run(f);
	const char *to[] = {"ana@example.com", "ben@example.com"};
	mail_opts_t o = mail_opts(PORT_SMTP, to, 2);
	struct outcome out = {0};
	char err[256];
	mail_job_t *job = mail_start(cu, &o, on_mail, &out, err, sizeof err);
	assert_non_null(job);
	assert_int_equal(curl_uv_pending(cu), 1);
	run_until(&loop, &out, 10000);
	assert_int_equal(out.done, 1);
	assert_null(out.mail.code);
	assert_int_equal(out.mail.smtp_code, 250);
	assert_string_equal(out.mail.response, "250 2.0.0 Ok: queued as 42");
	assert_false(out.mail.unsure);
	assert_int_equal(curl_uv_pending(cu), 0);
	finish(&loop, cu); /* closes the kept connection: QUIT */
	assert_non_null(strstr(f->commands, "EHLO "));
	assert_non_null(strstr(f->commands, "MAIL FROM:<candor@example.com>"));
	assert_non_null(strstr(f->commands, "RCPT TO:<ana@example.com>\n"));
	assert_non_null(strstr(f->commands, "RCPT TO:<ben@example.com>\n"));
	assert_non_null(strstr(f->commands, "DATA\n"));
	assert_int_equal(f->data_len, sizeof MESSAGE - 1);
	assert_memory_equal(f->data, MESSAGE, sizeof MESSAGE - 1);
	assert_true(f->quit);
	fake_stop(f);
}

/* Sends MESSAGE to a fake server that ends the conversation after the message as after_data says. */
static void send_with_end(int port, int after_data, struct outcome *out)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	curl_uv_t *cu = curl_uv_new(&loop);
	struct fake_smtp *f = fake_start(port);
	f->after_data = after_data;
	fake_run(f);
	const char *to[] = {"ana@example.com"};
	mail_opts_t o = mail_opts(port, to, 1);
	char err[256];
	assert_non_null(mail_start(cu, &o, on_mail, out, err, sizeof err));
	run_until(&loop, out, 10000);
	finish(&loop, cu);
	assert_int_equal(f->data_len, sizeof MESSAGE - 1); /* the server had all of it */
	fake_stop(f);
}

static void test_mail_unanswered_after_the_message_is_unsure(void **state)
{
	(void)state;
	struct outcome out = {0};
	send_with_end(PORT_SMTP + 5, 1, &out);
	assert_int_equal(out.done, 1);
	assert_non_null(out.mail.code);
	assert_true(out.mail.unsure);
}

static void test_mail_refused_after_the_message_is_not_unsure(void **state)
{
	(void)state;
	struct outcome out = {0};
	send_with_end(PORT_SMTP + 6, 2, &out);
	assert_int_equal(out.done, 1);
	assert_string_equal(out.mail.code, "rejected");
	assert_int_equal(out.mail.smtp_code, 451);
	assert_true(out.mail.temporary);
	assert_false(out.mail.unsure);
}

static void test_mail_rejected(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	curl_uv_t *cu = curl_uv_new(&loop);
	struct fake_smtp *f = fake_start(PORT_SMTP + 1);
	f->reject_rcpt = 1;
	fake_run(f);
	const char *to[] = {"nobody@example.com"};
	mail_opts_t o = mail_opts(PORT_SMTP + 1, to, 1);
	struct outcome out = {0};
	char err[256];
	assert_non_null(mail_start(cu, &o, on_mail, &out, err, sizeof err));
	run_until(&loop, &out, 10000);
	assert_int_equal(out.done, 1);
	assert_string_equal(out.mail.code, "rejected");
	assert_int_equal(out.mail.smtp_code, 550);
	assert_false(out.mail.temporary);
	assert_non_null(strstr(out.mail.message, "User unknown"));
	assert_false(out.mail.unsure); /* refused before the message was sent */
	finish(&loop, cu);
	assert_null(strstr(f->commands, "DATA"));
	assert_int_equal(f->data_len, 0);
	fake_stop(f);
}

static void test_mail_auth_refused(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	curl_uv_t *cu = curl_uv_new(&loop);
	struct fake_smtp *f = fake_start(PORT_SMTP + 2);
	f->offer_auth = 1;
	fake_run(f);
	const char *to[] = {"ana@example.com"};
	mail_opts_t o = mail_opts(PORT_SMTP + 2, to, 1);
	o.username = "candor";
	o.password = "s3cret-Pa55";
	struct outcome out = {0};
	char err[256];
	assert_non_null(mail_start(cu, &o, on_mail, &out, err, sizeof err));
	run_until(&loop, &out, 10000);
	assert_int_equal(out.done, 1);
	assert_string_equal(out.mail.code, "auth");
	assert_int_equal(out.mail.smtp_code, 535);
	assert_null(strstr(out.mail.message, "s3cret"));
	assert_null(strstr(out.mail.response, "s3cret"));
	finish(&loop, cu);
	assert_non_null(strstr(f->commands, "AUTH "));
	assert_null(strstr(f->commands, "MAIL FROM"));
	fake_stop(f);
}

static void test_mail_connect_refused(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	curl_uv_t *cu = curl_uv_new(&loop);
	const char *to[] = {"ana@example.com"};
	mail_opts_t o = mail_opts(PORT_CLOSED, to, 1);
	struct outcome out = {0};
	char err[256];
	assert_non_null(mail_start(cu, &o, on_mail, &out, err, sizeof err));
	run_until(&loop, &out, 10000);
	assert_int_equal(out.done, 1);
	assert_string_equal(out.mail.code, "connect");
	assert_true(out.mail.temporary);
	assert_int_equal(out.mail.smtp_code, 0);
	finish(&loop, cu);
}

static void test_mail_silent_server_times_out(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	curl_uv_t *cu = curl_uv_new(&loop);
	int lfd = listen_on(PORT_SILENT); /* the kernel accepts; nobody ever speaks */
	assert_true(lfd >= 0);
	const char *to[] = {"ana@example.com"};
	mail_opts_t o = mail_opts(PORT_SILENT, to, 1);
	o.timeout_ms = 600;
	struct outcome out = {0};
	char err[256];
	double started = now_ms();
	assert_non_null(mail_start(cu, &o, on_mail, &out, err, sizeof err));
	run_until(&loop, &out, 10000);
	assert_int_equal(out.done, 1);
	assert_string_equal(out.mail.code, "timeout");
	double took = out.ended_ms - started;
	assert_true(took >= 550);
	assert_true(took < 2000);
	assert_non_null(strstr(out.mail.message, "600 ms"));
	finish(&loop, cu);
	close(lfd);
}

static void test_mail_bad_options(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	curl_uv_t *cu = curl_uv_new(&loop);
	const char *to[] = {"ana@example.com"};
	const char *evil[] = {"ana@example.com>\r\nRCPT TO:<x@y.z"};
	struct outcome out = {0};
	char err[256];
	mail_opts_t o = mail_opts(PORT_SMTP, to, 1);
	o.url = "http://127.0.0.1:1";
	assert_null(mail_start(cu, &o, on_mail, &out, err, sizeof err));
	assert_non_null(strstr(err, "smtp"));
	o.url = "smtp://user:pw@127.0.0.1:25";
	assert_null(mail_start(cu, &o, on_mail, &out, err, sizeof err));
	assert_non_null(strstr(err, "credentials"));
	o = mail_opts(PORT_SMTP, evil, 1);
	assert_null(mail_start(cu, &o, on_mail, &out, err, sizeof err));
	o = mail_opts(PORT_SMTP, to, 0);
	assert_null(mail_start(cu, &o, on_mail, &out, err, sizeof err));
	assert_int_equal(curl_uv_pending(cu), 0);
	assert_int_equal(out.done, 0);
	finish(&loop, cu);
}

static void test_error_codes(void **state)
{
	(void)state;
	assert_null(mail_error_code(CURLE_OK, 250));
	assert_string_equal(mail_error_code(CURLE_COULDNT_CONNECT, 0), "connect");
	assert_string_equal(mail_error_code(CURLE_COULDNT_RESOLVE_HOST, 0), "connect");
	assert_string_equal(mail_error_code(CURLE_OPERATION_TIMEDOUT, 0), "timeout");
	assert_string_equal(mail_error_code(CURLE_USE_SSL_FAILED, 250), "tls");
	assert_string_equal(mail_error_code(CURLE_PEER_FAILED_VERIFICATION, 0), "tls");
	assert_string_equal(mail_error_code(CURLE_LOGIN_DENIED, 535), "auth");
	assert_string_equal(mail_error_code(CURLE_SEND_ERROR, 550), "rejected");
	assert_string_equal(mail_error_code(CURLE_SEND_ERROR, 452), "rejected");
	assert_string_equal(mail_error_code(CURLE_WEIRD_SERVER_REPLY, 554), "rejected");
	assert_string_equal(mail_error_code(CURLE_RECV_ERROR, 0), "smtp");
}

static void test_fetch_silent_server_times_out(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	curl_uv_t *cu = curl_uv_new(&loop);
	int lfd = listen_on(PORT_SILENT + 1);
	assert_true(lfd >= 0);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", PORT_SILENT + 1);
	fetch_opts_t o = {
	    .method = "POST", .url = url, .body = "{}", .body_len = 2, .timeout_ms = 400, .max_body = 1024};
	struct outcome out = {0};
	char err[256];
	double started = now_ms();
	assert_non_null(fetch_start(cu, &o, on_fetch, &out, err, sizeof err));
	run_until(&loop, &out, 10000);
	assert_int_equal(out.done, 1);
	assert_string_equal(out.fetch_code, "timeout");
	assert_true(out.ended_ms - started >= 350);
	assert_true(out.ended_ms - started < 2000);
	finish(&loop, cu);
	close(lfd);
}

/* A sockaddr for text (IPv4 or IPv6). */
static struct sockaddr_storage addr_of(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &v6->sin6_addr), 1);
		v6->sin6_family = AF_INET6;
	}
	return ss;
}

static void test_local_addresses(void **state)
{
	(void)state;
	const char *local[] = {"127.0.0.1",
	                       "127.255.0.9",
	                       "0.0.0.0",
	                       "169.254.169.254",
	                       "224.0.0.1",
	                       "255.255.255.255",
	                       "::1",
	                       "::",
	                       "fe80::1",
	                       "ff02::1",
	                       "::ffff:127.0.0.1",
	                       "::ffff:169.254.169.254",
	                       "64:ff9b::127.0.0.1",
	                       "64:ff9b::a9fe:a9fe",
	                       "2002:7f00:1::1",
	                       "::127.0.0.1"};
	const char *private[] = {
	    "10.0.0.5",           "172.16.3.4",        "172.31.255.1", "192.168.1.1",      "100.64.0.1",
	    "100.127.1.1",        "fc00::1",           "fd12:3456::1", "fec0::1",          "::ffff:10.1.2.3",
	    "::ffff:192.168.0.1", "64:ff9b::10.0.0.1", "64:ff9b:1::a", "2002:c0a8:101::1", "::10.0.0.1"};
	const char *public[] = {"8.8.8.8",      "172.15.0.1",  "172.32.0.1",       "192.169.0.1",
	                        "100.63.0.1",   "100.128.0.1", "11.0.0.1",         "2001:db8::1",
	                        "2a00:1450::1", "128.0.0.1",   "64:ff9b::8.8.8.8", "2002:808:808::1"};
	for (size_t i = 0; i < sizeof local / sizeof *local; i++) {
		struct sockaddr_storage ss = addr_of(local[i]);
		if (!curl_uv_local_address((struct sockaddr *)&ss))
			fail_msg("%s should be local", local[i]);
		assert_string_equal(curl_uv_address_kind(local[i]), "local");
	}
	for (size_t i = 0; i < sizeof private / sizeof *private; i++) {
		struct sockaddr_storage ss = addr_of(private[i]);
		if (curl_uv_local_address((struct sockaddr *)&ss) ||
		    !curl_uv_private_address((struct sockaddr *)&ss))
			fail_msg("%s should be private, not local", private[i]);
		assert_string_equal(curl_uv_address_kind(private[i]), "private");
	}
	for (size_t i = 0; i < sizeof public / sizeof *public; i++) {
		struct sockaddr_storage ss = addr_of(public[i]);
		if (curl_uv_local_address((struct sockaddr *)&ss) ||
		    curl_uv_private_address((struct sockaddr *)&ss))
			fail_msg("%s should be neither local nor private", public[i]);
		assert_string_equal(curl_uv_address_kind(public[i]), "public");
	}
	assert_null(curl_uv_address_kind("example.com"));
	assert_null(curl_uv_address_kind("10.0.0"));
	assert_null(curl_uv_address_kind(""));
}

/* A private address is refused before anything is sent when the job says so (nothing needs to
 * listen there: without the check curl would try to connect and time out or be refused). */
static void test_fetch_refuses_a_private_address(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	curl_uv_t *cu = curl_uv_new(&loop);
	fetch_opts_t o = {
	    .url = "http://10.255.255.1:81/", .timeout_ms = 5000, .max_body = 1024, .deny_private = 1};
	struct outcome out = {0};
	char err[256];
	assert_non_null(fetch_start(cu, &o, on_fetch, &out, err, sizeof err));
	run_until(&loop, &out, 10000);
	assert_int_equal(out.done, 1);
	assert_string_equal(out.fetch_code, "address");
	finish(&loop, cu);
}

static void test_fetch_refuses_a_local_address(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	curl_uv_t *cu = curl_uv_new(&loop);
	/* something listens there: without the check the request would be answered or refused */
	int fd = listen_on(PORT_CLOSED - 1);
	assert_true(fd >= 0);
	char urls[2][64];
	snprintf(urls[0], sizeof urls[0], "http://127.0.0.1:%d/", PORT_CLOSED - 1);
	snprintf(urls[1], sizeof urls[1], "http://localhost:%d/", PORT_CLOSED - 1);
	for (int i = 0; i < 2; i++) {
		fetch_opts_t o = {.url = urls[i], .timeout_ms = 5000, .max_body = 1024, .deny_local = 1};
		struct outcome out = {0};
		char err[256];
		assert_non_null(fetch_start(cu, &o, on_fetch, &out, err, sizeof err));
		run_until(&loop, &out, 10000);
		assert_int_equal(out.done, 1);
		assert_string_equal(out.fetch_code, "address");
	}
	close(fd);
	finish(&loop, cu);
}

static void test_fetch_connect_refused(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	curl_uv_t *cu = curl_uv_new(&loop);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", PORT_CLOSED);
	fetch_opts_t o = {.url = url, .timeout_ms = 5000, .max_body = 1024};
	struct outcome out = {0};
	char err[256];
	assert_non_null(fetch_start(cu, &o, on_fetch, &out, err, sizeof err));
	run_until(&loop, &out, 10000);
	assert_int_equal(out.done, 1);
	assert_string_equal(out.fetch_code, "connect");
	finish(&loop, cu);
}

static void test_cancel_frees_without_callback(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	curl_uv_t *cu = curl_uv_new(&loop);
	int lfd = listen_on(PORT_SILENT + 2);
	assert_true(lfd >= 0);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", PORT_SILENT + 2);
	fetch_opts_t o = {.url = url, .timeout_ms = 5000, .max_body = 1024};
	struct outcome a = {0}, b = {0};
	char err[256];
	fetch_job_t *fa = fetch_start(cu, &o, on_fetch, &a, err, sizeof err);
	const char *to[] = {"ana@example.com"};
	mail_opts_t mo = mail_opts(PORT_SILENT + 2, to, 1);
	mail_job_t *mb = mail_start(cu, &mo, on_mail, &b, err, sizeof err);
	assert_non_null(fa);
	assert_non_null(mb);
	assert_int_equal(curl_uv_pending(cu), 2);
	for (int i = 0; i < 20; i++) /* let both connect */
		uv_run(&loop, UV_RUN_NOWAIT);
	double t0 = now_ms();
	fetch_cancel(fa);
	mail_cancel(mb); /* must not wait for the silent server's answer to QUIT */
	assert_true(now_ms() - t0 < 300);
	assert_int_equal(curl_uv_pending(cu), 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(a.done, 0);
	assert_int_equal(b.done, 0);
	finish(&loop, cu);
	close(lfd);
}

static int host_task_ended;

static void host_task_done(task_t *t, int ok, int nres, const char *msg)
{
	(void)t;
	(void)ok;
	(void)nres;
	(void)msg;
	host_task_ended++;
}

/* core.mail and core.fetch through a real host: tasks wait in mail.send and fetch.request on
 * a listener that never answers; host_close (lua_close) must cancel both transfers, never
 * resume the tasks, and leave no handle open on the loop (the asan run checks for leaks). */
static void test_host_close_cancels_transfers(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	int lfd = listen_on(PORT_SILENT + 3);
	assert_true(lfd >= 0);
	assert_int_equal(host_init(&loop, "lua"), 0);
	lua_State *L = H->L;
	host_task_ended = 0;
	static const char *const scripts[] = {
	    "return require('core.fetch').request{ url = 'http://127.0.0.1:18323/', timeout_ms = 60000 }",
	    "return require('core.mail').send{ url = 'smtp://127.0.0.1:18323', from = 'a@example.com',"
	    " to = 'b@example.com', message = 'Subject: x\\r\\n\\r\\nx\\r\\n', timeout_ms = 60000 }",
	};
	for (int i = 0; i < 2; i++) {
		assert_int_equal(luaL_loadstring(L, scripts[i]), LUA_OK);
		assert_non_null(task_start(0, host_task_done, NULL, 0)); /* it waits */
	}
	for (int i = 0; i < 20; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(
	    luaL_dostring(L, "return require('core.fetch').pending() + require('core.mail').pending()"),
	    LUA_OK);
	assert_int_equal(lua_tointeger(L, -1), 2);
	lua_pop(L, 1);
	assert_int_equal(H->tasks, 2);
	double t0 = now_ms();
	host_close();
	assert_true(now_ms() - t0 < 1000); /* no waiting for the silent server */
	assert_int_equal(host_task_ended, 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mail_delivered),
	    cmocka_unit_test(test_mail_rejected),
	    cmocka_unit_test(test_mail_unanswered_after_the_message_is_unsure),
	    cmocka_unit_test(test_mail_refused_after_the_message_is_not_unsure),
	    cmocka_unit_test(test_mail_auth_refused),
	    cmocka_unit_test(test_mail_connect_refused),
	    cmocka_unit_test(test_mail_silent_server_times_out),
	    cmocka_unit_test(test_mail_bad_options),
	    cmocka_unit_test(test_error_codes),
	    cmocka_unit_test(test_fetch_silent_server_times_out),
	    cmocka_unit_test(test_fetch_connect_refused),
	    cmocka_unit_test(test_local_addresses),
	    cmocka_unit_test(test_fetch_refuses_a_local_address),
	    cmocka_unit_test(test_fetch_refuses_a_private_address),
	    cmocka_unit_test(test_cancel_frees_without_callback),
	    cmocka_unit_test(test_host_close_cancels_transfers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
