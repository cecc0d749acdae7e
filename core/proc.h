/** Processes named so that a name is never reused: "PID.START", START being the process's start
 * time in clock ticks after boot (/proc/PID/stat). A job or a mail being sent records the process
 * that has it; whether that process still runs says whether the work was interrupted. */
#ifndef CANDOR_PROC_H
#define CANDOR_PROC_H

#include <stddef.h>
#include <sys/types.h>

/** Writes the name of process pid into buf ("PID.START"; START is 0 when /proc cannot tell).
 * Returns 0, or -1 when the process does not exist or buf is too small. */
int proc_name(pid_t pid, char *buf, size_t len);
/** The name of this process (computed once; "" if it cannot be had). */
const char *proc_self(void);
/** Whether the process called name runs: 1 yes, 0 no (gone, or its pid belongs to a newer
 * process, or name is malformed), -1 when this system cannot tell (no /proc). */
int proc_alive(const char *name);

#endif
