/* An HTTP receiver for the webhook and hook scenarios: records every request it gets and answers
 * as its rules say.
 *
 *   http_receiver DIR [PARENT_PID]
 *
 * Listens on 127.0.0.1 on a port the system picks and writes it to DIR/port (then DIR/pid).
 * Reads requests with a Content-Length body (no chunked bodies), many connections at once.
 * Every complete request is saved as DIR/req-N (the head as received) and DIR/body-N (the body),
 * with a line "REQ N METHOD TARGET" in DIR/log. Each answer closes its connection.
 *
 * DIR/rules is read again for every request. One rule per line, "<path> <answer...>", where path
 * is a prefix of the request target or "*"; the first matching rule gives the answer:
 *
 *   /hooks/a 500 it broke            status 500 with the body "it broke"
 *   /slow slow 800                   200 after 800 ms
 *   /never hang                      never answers (the connection stays open)
 *   /moved redirect http://x.test/   302 with that Location
 *   /big big 2000000                 200 with a body of that many bytes
 *
 * Without a matching rule the answer is 200 with the body "ok". The receiver exits on SIGTERM,
 * when PARENT_PID is gone (checked every 200 ms), or after ten minutes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

/** Most connections served at once. */
#define MAX_CLIENTS 512
/** Largest request kept (head and body). */
#define MAX_REQUEST (4 * 1024 * 1024)

/** One client connection. */
struct client {
	int fd;           /** socket, -1 when the slot is free */
	char *buf;        /** what it sent so far */
	size_t len, cap;  /** bytes in buf, allocated */
	int done;         /** its request was answered or is held ("hang") */
	long long due;    /** for "slow": when to answer (ms), 0 otherwise */
	char answer[256]; /** the answer line kept for "slow" */
};

/** Number of the last request saved. */
static int saved;

/** Milliseconds on a monotonic clock. */
static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/** Writes len bytes of p to DIR/name. */
static void save(const char *name, const char *p, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return;
	fwrite(p, 1, len, f);
	fclose(f);
}

/** Sends a whole answer with a body. */
static void respond(int fd, int status, const char *extra_head, const char *body, size_t body_len)
{
	char head[1024];
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.1 %d Answer\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s"
	                 "Connection: close\r\n\r\n",
	                 status, body_len, extra_head ? extra_head : "");
	send_all(fd, head, (size_t)n);
	send_all(fd, body, body_len);
}

/** The rule for target from DIR/rules, copied into out ("" when none). */
static void find_rule(const char *target, char *out, size_t out_len)
{
	out[0] = 0;
	char path[4096];
	snprintf(path, sizeof path, "%s/rules", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[1024];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = 0;
		char prefix[512];
		int off = 0;
		if (sscanf(line, "%511s %n", prefix, &off) != 1)
			continue;
		if (strcmp(prefix, "*") == 0 || strncmp(target, prefix, strlen(prefix)) == 0) {
			snprintf(out, out_len, "%s", line + off);
			break;
		}
	}
	fclose(f);
}

/** Answers c's request (complete in c->buf, body at body) as the rules say. */
static void answer(struct client *c, const char *target)
{
	char rule[512];
	find_rule(target, rule, sizeof rule);
	if (strncmp(rule, "hang", 4) == 0) {
		log_line("HANG %d", saved);
		c->done = 1;
		return;
	}
	if (strncmp(rule, "slow ", 5) == 0) {
		c->due = now_ms() + atol(rule + 5);
		c->done = 1;
		return;
	}
	if (strncmp(rule, "redirect ", 9) == 0) {
		char loc[600];
		snprintf(loc, sizeof loc, "Location: %s\r\n", rule + 9);
		respond(c->fd, 302, loc, "moved", 5);
	} else if (strncmp(rule, "big ", 4) == 0) {
		size_t n = (size_t)atol(rule + 4);
		char *body = malloc(n ? n : 1);
		if (body) {
			memset(body, 'x', n);
			respond(c->fd, 200, NULL, body, n);
			free(body);
		}
	} else if (rule[0]) {
		int status = atoi(rule);
		const char *text = strchr(rule, ' ');
		text = text ? text + 1 : "";
		respond(c->fd, status ? status : 200, NULL, text, strlen(text));
	} else {
		respond(c->fd, 200, NULL, "ok", 2);
	}
	c->done = 2; /* answered: close */
}

/** Looks at what c sent: once the head and its Content-Length of body are in, saves and answers. */
static void examine(struct client *c)
{
	char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
	if (!end)
		return;
	size_t head_len = (size_t)(end - c->buf) + 4;
	size_t body_len = 0;
	for (char *p = c->buf; p && p < end; p = strstr(p, "\r\n")) {
		p += p == c->buf ? 0 : 2;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			body_len = (size_t)atol(p + 15);
	}
	if (c->len < head_len + body_len)
		return;
	saved++;
	char name[64];
	snprintf(name, sizeof name, "req-%d", saved);
	save(name, c->buf, head_len);
	snprintf(name, sizeof name, "body-%d", saved);
	save(name, c->buf + head_len, body_len);
	char method[32] = "", target[2048] = "";
	sscanf(c->buf, "%31s %2047s", method, target);
	log_line("REQ %d %s %s", saved, method, target);
	answer(c, target);
}

/** Frees a connection's slot. */
static void drop(struct client *c)
{
	close(c->fd);
	free(c->buf);
	*c = (struct client){.fd = -1};
}

int main(int argc, char **argv)
{
	int lfd = tool_start(argc, argv, "http_receiver", 256);
	if (lfd < 0)
		return argc < 2 ? 2 : 1;

	static struct client clients[MAX_CLIENTS];
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i] = (struct client){.fd = -1};
	static struct pollfd pfd[MAX_CLIENTS + 1];
	static int map[MAX_CLIENTS + 1];
	while (!stop) {
		if (tool_done())
			break;
		int n = 0;
		pfd[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
		map[n++] = -1;
		for (int i = 0; i < MAX_CLIENTS; i++) {
			if (clients[i].fd >= 0) {
				pfd[n] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
				map[n++] = i;
			}
		}
		int rc = poll(pfd, (nfds_t)n, 20);
		long long now = now_ms();
		for (int i = 0; i < MAX_CLIENTS; i++) {
			struct client *c = &clients[i];
			if (c->fd >= 0 && c->due && now >= c->due) {
				respond(c->fd, 200, NULL, "ok", 2);
				drop(c);
			}
		}
		if (rc <= 0)
			continue;
		for (int k = 0; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			if (map[k] < 0) {
				int fd = accept(lfd, NULL, NULL);
				if (fd < 0)
					continue;
				int slot = -1;
				for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
					if (clients[i].fd < 0)
						slot = i;
				if (slot < 0) {
					close(fd);
					continue;
				}
				clients[slot] = (struct client){.fd = fd};
				continue;
			}
			struct client *c = &clients[map[k]];
			char buf[65536];
			ssize_t got = recv(c->fd, buf, sizeof buf, 0);
			if (got < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (got <= 0) {
				drop(c);
				continue;
			}
			if (c->done)
				continue; /* held or waiting: what comes after the request is ignored */
			if (c->len + (size_t)got > MAX_REQUEST) {
				respond(c->fd, 413, NULL, "too large", 9);
				drop(c);
				continue;
			}
			if (c->len + (size_t)got + 1 > c->cap) { /* room for a NUL after it */
				size_t cap = c->cap ? c->cap * 2 : 65536;
				while (cap < c->len + (size_t)got + 1)
					cap *= 2;
				char *p = realloc(c->buf, cap);
				if (!p) {
					drop(c);
					continue;
				}
				c->buf = p;
				c->cap = cap;
			}
			memcpy(c->buf + c->len, buf, (size_t)got);
			c->len += (size_t)got;
			c->buf[c->len] = 0;
			examine(c);
			if (c->done == 2)
				drop(c);
		}
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			drop(&clients[i]);
	close(lfd);
	return 0;
}
