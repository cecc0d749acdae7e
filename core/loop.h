/** The event loop's life cycle: signals and graceful shutdown. */
#ifndef CANDOR_LOOP_H
#define CANDOR_LOOP_H

/** SIGINT/SIGTERM start a graceful shutdown; SIGPIPE is ignored. */
void loop_watch_signals(void);
/** Stops accepting, lets requests in progress finish for up to grace_ms, checkpoints the
 * WAL, and lets the loop end. */
void loop_shutdown(unsigned grace_ms);

#endif
