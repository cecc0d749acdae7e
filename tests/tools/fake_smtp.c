/* A fake SMTP server for the mail delivery scenarios (tests/scenarios/mail/).
 *
 *   fake_smtp DIR [PARENT_PID]
 *
 * Listens on 127.0.0.1 on a port the system picks and writes it to DIR/port (then DIR/pid).
 * Speaks enough ESMTP for libcurl: EHLO/HELO, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA, RSET,
 * NOOP, QUIT; several connections at once (poll). Every command is appended to DIR/log, and
 * every accepted message is saved as DIR/msg-N.eml (N = 1, 2, ...) with a "SAVED N <recipients>"
 * log line. Credentials are logged as "AUTH <user> <password>" so a test can check what the
 * client sent.
 *
 * DIR/rules is read again before each answer, so a test changes the server's behaviour by
 * rewriting it. One rule per line: "<command> <match> <code> <text...>", where command is
 * mail, rcpt, data or auth, and match is an address (for mail/rcpt, compared without case),
 * or "*" for anything. The first matching rule gives the answer, e.g.
 *
 *   rcpt bounce@example.com 550 5.1.1 <bounce@example.com>: Recipient address rejected
 *   rcpt * 451 4.7.1 Greylisted, try again later
 *   auth * 535 5.7.8 Authentication credentials invalid
 *
 * Two rules say what happens once a message was received and saved (the server has taken it),
 * matched against its first recipient: "end <match> drop" closes the connection without the
 * answer (as if the answer were lost), "end <match> hold" keeps the answer back until the file
 * DIR/release exists (a test kills the client meanwhile). Both log "SAVED" as usual first.
 *
 * The server exits on SIGTERM, when PARENT_PID is gone (checked every 200 ms), or after ten
 * minutes, so that a failed test run never leaves it behind.
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
#define MAX_CLIENTS 16
/** Longest command line kept; longer lines are answered with 500. */
#define LINE_MAX_LEN 4096
/** Most recipients of one message. */
#define MAX_RCPT 64

/** What a connection is waiting for. */
enum state { CMD, AUTH_PLAIN, AUTH_USER, AUTH_PASS, DATA };

/** One client connection. */
struct client {
	int fd;                 /** socket, -1 when the slot is free */
	enum state state;       /** what the next line is */
	char line[LINE_MAX_LEN];/** the command line being read */
	size_t len;             /** bytes in line */
	int overlong;           /** the current line was longer than LINE_MAX_LEN */
	char *data;             /** the message being received (DATA) */
	size_t data_len;        /** bytes in data */
	size_t data_cap;        /** bytes allocated for data */
	int rcpts;              /** accepted recipients of the current message */
	char rcpt[MAX_RCPT][256]; /** their addresses */
	int have_from;          /** MAIL FROM was accepted */
	char user[256];         /** AUTH LOGIN user name, while the password is asked */
	char held[128];         /** the answer kept back by an "end ... hold" rule, "" when none */
};

/** Number of the last saved message. */
static int saved;

/** Sends one reply line (CRLF added). */
static void reply(struct client *c, const char *text)
{
	char buf[1024];
	int n = snprintf(buf, sizeof buf, "%s\r\n", text);
	if (n > 0)
		send_all(c->fd, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/** Looks for a rule in DIR/rules for command and subject; copies "code text" into out. */
static int find_rule(const char *command, const char *subject, char *out, size_t out_len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/rules", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char line[1024];
	int found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = 0;
		char cmd[32], match[256];
		int off = 0;
		if (sscanf(line, "%31s %255s %n", cmd, match, &off) != 2)
			continue;
		if (strcasecmp(cmd, command) != 0)
			continue;
		if (strcmp(match, "*") != 0 && (!subject || strcasecmp(match, subject) != 0))
			continue;
		snprintf(out, out_len, "%s", line + off);
		found = 1;
	}
	fclose(f);
	return found;
}

/** Decodes base64 text into out (at most out_len - 1 bytes, NUL added); returns the length or -1. */
static int b64_decode(const char *in, char *out, size_t out_len)
{
	static const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned acc = 0;
	int bits = 0;
	size_t n = 0;
	for (; *in && *in != '='; in++) {
		const char *p = strchr(alphabet, *in);
		if (!p)
			return -1;
		acc = (acc << 6) | (unsigned)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= out_len)
				return -1;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = 0;
	return (int)n;
}

/** Extracts the address between < and > of a MAIL FROM / RCPT TO argument. */
static void address_of(const char *arg, char *out, size_t out_len)
{
	const char *lt = strchr(arg, '<');
	const char *gt = lt ? strchr(lt, '>') : NULL;
	if (!lt || !gt) {
		snprintf(out, out_len, "%s", arg);
		return;
	}
	size_t len = (size_t)(gt - lt - 1);
	if (len >= out_len)
		len = out_len - 1;
	memcpy(out, lt + 1, len);
	out[len] = 0;
}

/** Resets the message being built (RSET, after DATA). */
static void reset_message(struct client *c)
{
	c->rcpts = 0;
	c->have_from = 0;
	c->data_len = 0;
}

/** Logs AUTH PLAIN credentials ("\0user\0password") and answers. */
static void finish_plain(struct client *c, const char *b64)
{
	char raw[1024];
	int n = b64_decode(b64, raw, sizeof raw);
	if (n < 0) {
		reply(c, "501 5.5.2 Cannot decode the response");
		return;
	}
	const char *user = raw + strlen(raw) + 1;
	const char *pass = user < raw + n ? user + strlen(user) + 1 : "";
	if (user >= raw + n)
		user = "";
	if (pass > raw + n)
		pass = "";
	log_line("AUTH %s %s", user, pass);
	char rule[512];
	reply(c, find_rule("auth", user, rule, sizeof rule) ? rule : "235 2.7.0 Authentication successful");
}

/** Saves the received message and answers; returns -1 to close the connection. */
static int finish_data(struct client *c)
{
	char rule[512];
	if (find_rule("data", c->rcpts > 0 ? c->rcpt[0] : NULL, rule, sizeof rule)) {
		log_line("DATA refused: %s", rule);
		reply(c, rule);
		reset_message(c);
		return 0;
	}
	saved++;
	char path[4096];
	snprintf(path, sizeof path, "%s/msg-%d.eml", dir, saved);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(c->data, 1, c->data_len, f);
		fclose(f);
	}
	char rcpts[4096] = "";
	for (int i = 0; i < c->rcpts; i++) {
		size_t used = strlen(rcpts);
		snprintf(rcpts + used, sizeof rcpts - used, "%s%s", i ? "," : "", c->rcpt[i]);
	}
	log_line("SAVED %d %s", saved, rcpts);
	char ok[128];
	snprintf(ok, sizeof ok, "250 2.0.0 Ok: queued as FAKE%d", saved);
	int end = find_rule("end", c->rcpts > 0 ? c->rcpt[0] : NULL, rule, sizeof rule);
	reset_message(c);
	if (end && strncasecmp(rule, "drop", 4) == 0) {
		log_line("DROPPED %d", saved);
		return -1;
	}
	if (end && strncasecmp(rule, "hold", 4) == 0) {
		log_line("HELD %d", saved);
		snprintf(c->held, sizeof c->held, "%s", ok);
		return 0;
	}
	reply(c, ok);
	return 0;
}

/** Whether DIR/release exists (held answers may go). */
static int released(void)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/release", dir);
	return access(path, F_OK) == 0;
}

/** Appends one DATA line (without CRLF) to the message, undoing dot-stuffing. */
static int add_data_line(struct client *c, const char *line, size_t len)
{
	if (line[0] == '.' && len > 0) {
		line++;
		len--;
	}
	if (c->data_len + len + 2 > c->data_cap) {
		size_t cap = c->data_cap ? c->data_cap * 2 : 65536;
		while (cap < c->data_len + len + 2)
			cap *= 2;
		char *p = realloc(c->data, cap);
		if (!p)
			return -1;
		c->data = p;
		c->data_cap = cap;
	}
	memcpy(c->data + c->data_len, line, len);
	c->data_len += len;
	c->data[c->data_len++] = '\r';
	c->data[c->data_len++] = '\n';
	return 0;
}

/** Handles one complete line from a client; returns -1 to close the connection. */
static int handle_line(struct client *c, char *line, size_t len)
{
	char rule[512], addr[256];
	if (c->state == DATA) {
		if (len == 1 && line[0] == '.') {
			c->state = CMD;
			return finish_data(c);
		}
		return add_data_line(c, line, len);
	}
	if (c->state == AUTH_PLAIN) {
		c->state = CMD;
		finish_plain(c, line);
		return 0;
	}
	if (c->state == AUTH_USER) {
		if (b64_decode(line, c->user, sizeof c->user) < 0)
			c->user[0] = 0;
		c->state = AUTH_PASS;
		reply(c, "334 UGFzc3dvcmQ6");
		return 0;
	}
	if (c->state == AUTH_PASS) {
		char pass[512];
		if (b64_decode(line, pass, sizeof pass) < 0)
			pass[0] = 0;
		c->state = CMD;
		log_line("AUTH %s %s", c->user, pass);
		reply(c, find_rule("auth", c->user, rule, sizeof rule) ? rule : "235 2.7.0 Authentication successful");
		return 0;
	}
	log_line("%.*s", (int)(len > 200 ? 200 : len), line);
	if (!strncasecmp(line, "EHLO", 4)) {
		reset_message(c);
		static const char ehlo[] = "250-fake.test\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n";
		send_all(c->fd, ehlo, sizeof ehlo - 1);
	} else if (!strncasecmp(line, "HELO", 4)) {
		reset_message(c);
		reply(c, "250 fake.test");
	} else if (!strncasecmp(line, "AUTH PLAIN", 10)) {
		if (len > 11) {
			finish_plain(c, line + 11);
		} else {
			c->state = AUTH_PLAIN;
			reply(c, "334 ");
		}
	} else if (!strncasecmp(line, "AUTH LOGIN", 10)) {
		if (len > 11) {
			if (b64_decode(line + 11, c->user, sizeof c->user) < 0)
				c->user[0] = 0;
			c->state = AUTH_PASS;
			reply(c, "334 UGFzc3dvcmQ6");
		} else {
			c->state = AUTH_USER;
			reply(c, "334 VXNlcm5hbWU6");
		}
	} else if (!strncasecmp(line, "MAIL FROM:", 10)) {
		address_of(line + 10, addr, sizeof addr);
		reset_message(c);
		if (find_rule("mail", addr, rule, sizeof rule)) {
			reply(c, rule);
		} else {
			c->have_from = 1;
			reply(c, "250 2.1.0 Ok");
		}
	} else if (!strncasecmp(line, "RCPT TO:", 8)) {
		address_of(line + 8, addr, sizeof addr);
		if (!c->have_from) {
			reply(c, "503 5.5.1 Error: need MAIL command");
		} else if (find_rule("rcpt", addr, rule, sizeof rule)) {
			log_line("RCPT refused: %s", rule);
			reply(c, rule);
		} else if (c->rcpts >= MAX_RCPT) {
			reply(c, "452 4.5.3 Too many recipients");
		} else {
			snprintf(c->rcpt[c->rcpts++], sizeof c->rcpt[0], "%s", addr);
			reply(c, "250 2.1.5 Ok");
		}
	} else if (!strncasecmp(line, "DATA", 4)) {
		if (c->rcpts == 0) {
			reply(c, "554 5.5.1 Error: no valid recipients");
		} else {
			c->state = DATA;
			c->data_len = 0;
			reply(c, "354 End data with <CR><LF>.<CR><LF>");
		}
	} else if (!strncasecmp(line, "RSET", 4)) {
		reset_message(c);
		reply(c, "250 2.0.0 Ok");
	} else if (!strncasecmp(line, "NOOP", 4)) {
		reply(c, "250 2.0.0 Ok");
	} else if (!strncasecmp(line, "QUIT", 4)) {
		reply(c, "221 2.0.0 Bye");
		return -1;
	} else {
		reply(c, "502 5.5.2 Error: command not recognized");
	}
	return 0;
}

/** Reads what a client sent and handles every complete line; returns -1 to close. */
static int on_readable(struct client *c)
{
	char buf[16384];
	ssize_t n = recv(c->fd, buf, sizeof buf, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	for (ssize_t i = 0; i < n; i++) {
		char ch = buf[i];
		if (ch == '\n') {
			size_t len = c->len;
			if (len > 0 && c->line[len - 1] == '\r')
				len--;
			c->line[len] = 0;
			int rc = 0;
			if (c->overlong && c->state != DATA)
				reply(c, "500 5.5.6 Line too long");
			else
				rc = handle_line(c, c->line, len);
			c->len = 0;
			c->overlong = 0;
			if (rc != 0)
				return -1;
		} else if (c->len < sizeof c->line - 1) {
			c->line[c->len++] = ch;
		} else {
			c->overlong = 1;
		}
	}
	return 0;
}

/** Frees a connection's slot. */
static void drop(struct client *c)
{
	close(c->fd);
	c->fd = -1;
	free(c->data);
	c->data = NULL;
	c->data_cap = 0;
	reset_message(c);
	log_line("CLOSED");
}

int main(int argc, char **argv)
{
	int lfd = tool_start(argc, argv, "fake_smtp", 16);
	if (lfd < 0)
		return argc < 2 ? 2 : 1;

	struct client clients[MAX_CLIENTS];
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i] = (struct client){.fd = -1};
	while (!stop) {
		if (tool_done())
			break;
		struct pollfd pfd[MAX_CLIENTS + 1];
		int map[MAX_CLIENTS + 1];
		int n = 0;
		pfd[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
		map[n++] = -1;
		for (int i = 0; i < MAX_CLIENTS; i++) {
			if (clients[i].fd >= 0) {
				pfd[n] = (struct pollfd){.fd = clients[i].fd, .events = POLLIN};
				map[n++] = i;
			}
		}
		int rc = poll(pfd, (nfds_t)n, 200);
		if (released()) {
			for (int i = 0; i < MAX_CLIENTS; i++) {
				if (clients[i].fd >= 0 && clients[i].held[0]) {
					reply(&clients[i], clients[i].held);
					log_line("RELEASED");
					clients[i].held[0] = 0;
				}
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
					static const char busy[] = "421 4.3.2 Too many connections\r\n";
					send_all(fd, busy, sizeof busy - 1);
					close(fd);
					continue;
				}
				clients[slot] = (struct client){.fd = fd, .state = CMD};
				log_line("CONNECT");
				reply(&clients[slot], "220 fake.test ESMTP ready");
			} else if (on_readable(&clients[map[k]]) != 0) {
				drop(&clients[map[k]]);
			}
		}
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			drop(&clients[i]);
	close(lfd);
	return 0;
}
