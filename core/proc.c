/* Process names that are never reused (see proc.h). */
#include "proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The start time of pid (field 22 of /proc/PID/stat). Returns 1 and sets *start, 0 when there is
 * no such process, -1 when /proc cannot be read at all. */
static int start_time(pid_t pid, unsigned long long *start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f) {
		FILE *self = fopen("/proc/self/stat", "r");
		if (!self)
			return -1;
		fclose(self);
		return 0;
	}
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	/* the command name (field 2) is in parentheses and may hold spaces: start after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	p++;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -1;
	}
	char *end;
	errno = 0;
	*start = strtoull(p + 1, &end, 10);
	return errno == 0 && end != p + 1 ? 1 : -1;
}

int proc_name(pid_t pid, char *buf, size_t len)
{
	unsigned long long start = 0;
	int rc = start_time(pid, &start);
	if (rc == 0)
		return -1;
	if (rc < 0)
		start = 0;
	int n = snprintf(buf, len, "%ld.%llu", (long)pid, start);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

const char *proc_self(void)
{
	static char name[64];
	if (!name[0] && proc_name(getpid(), name, sizeof name) != 0)
		name[0] = 0;
	return name;
}

int proc_alive(const char *name)
{
	char *end;
	errno = 0;
	long pid = strtol(name, &end, 10);
	if (errno || end == name || *end != '.' || pid <= 0)
		return 0;
	const char *s = end + 1;
	unsigned long long want = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return 0;
	unsigned long long start = 0;
	int rc = start_time((pid_t)pid, &start);
	if (rc < 0) /* no /proc: the pid alone says a little */
		return kill((pid_t)pid, 0) == 0 || errno == EPERM ? -1 : 0;
	return rc == 1 && (want == 0 || start == want);
}
