/* What the test servers of tests/tools share (fake_smtp.c, http_receiver.c): a folder that holds
 * everything they tell the test (DIR/port, DIR/pid, DIR/log), a listening socket on 127.0.0.1,
 * and the rule that they end with SIGTERM, when the test's process is gone, or after ten minutes.
 * Each program includes this once (static functions). */
#ifndef CANDOR_TEST_TOOL_H
#define CANDOR_TEST_TOOL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/** The folder given on the command line. */
static const char *dir;
/** Set by SIGTERM. */
static volatile sig_atomic_t stop;
/** The test's process (0: none), and when the tool started. */
static pid_t tool_parent;
static time_t tool_started;

/** SIGTERM/SIGINT handler. */
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/** Appends one line to DIR/log. */
static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/log", dir);
	FILE *f = fopen(path, "a");
	if (!f)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

/** Writes all of buf to fd (blocking sockets; answers are short). */
static void send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/** Writes text to DIR/name through a temporary file, so readers never see half of it. */
static int write_file(const char *name, const char *text)
{
	char tmp[4096], path[4096];
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	fputs(text, f);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

/** Reads "NAME DIR [PARENT_PID]", listens on 127.0.0.1 (a port the system picks, backlog) and
 * writes DIR/pid and DIR/port. Returns the listening socket, or -1 (a message said why). */
static int tool_start(int argc, char **argv, const char *name, int backlog)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [PARENT_PID]\n", name);
		return -1;
	}
	dir = argv[1];
	tool_parent = argc > 2 ? (pid_t)atoi(argv[2]) : 0;
	tool_started = time(NULL);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof sa;
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, backlog) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
		fprintf(stderr, "%s: cannot listen: %s\n", name, strerror(errno));
		return -1;
	}
	char num[32];
	snprintf(num, sizeof num, "%d\n", (int)getpid());
	if (write_file("pid", num) != 0)
		return -1;
	snprintf(num, sizeof num, "%d\n", ntohs(sa.sin_port));
	if (write_file("port", num) != 0)
		return -1;
	return lfd;
}

/** Whether the tool should end: SIGTERM, the test's process gone, or ten minutes passed. */
static int tool_done(void)
{
	if (stop)
		return 1;
	if (tool_parent > 0 && kill(tool_parent, 0) != 0 && errno == ESRCH)
		return 1;
	return time(NULL) - tool_started > 600;
}

#endif
