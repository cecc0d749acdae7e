/** The event loop's life cycle: signals and graceful shutdown. Plain C on libuv: what shutting
 * down means for the program around it (stop the server, checkpoint the database) comes in as
 * hooks. */
#ifndef CANDOR_LOOP_H
#define CANDOR_LOOP_H

#include <uv.h>

/** What the loop asks of the program while it shuts down; each hook may be NULL. */
typedef struct loop_hooks {
	/** Stop starting new work (the scheduler). */
	void (*stopping)(void *ud);
	/** Stop accepting and call drained(arg) once no request is in progress. Returns 0, or -1 when
	 * there is nothing serving (drained is not called then). */
	int (*stop_serving)(void *ud, void (*drained)(void *arg), void *arg);
	/** Requests still in progress (for the log). */
	int (*busy)(void *ud);
	/** Closes every connection at once. */
	void (*close_all)(void *ud);
	/** The last thing before the loop stops (checkpoint the database). */
	void (*finished)(void *ud);
	void *ud; /* given to every hook */
} loop_hooks_t;

/** Sets the loop to stop and what to ask on the way (hooks is copied). Call once per loop. */
void loop_init(uv_loop_t *loop, const loop_hooks_t *hooks);
/** SIGINT/SIGTERM start a graceful shutdown (a second one stops at once); SIGPIPE is ignored. */
void loop_watch_signals(void);
/** Stops accepting, lets requests in progress finish for up to grace_ms, then runs the finished
 * hook and stops the loop. A second call does nothing. */
void loop_shutdown(unsigned grace_ms);

#endif
