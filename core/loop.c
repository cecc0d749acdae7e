/* Signals and graceful shutdown (see loop.h). */
#include "loop.h"

#include "log.h"

#include <signal.h>

/** The one loop this file stops, and its state. */
static struct {
	uv_loop_t *loop;
	loop_hooks_t hooks;
	uv_signal_t sig_int, sig_term;
	uv_timer_t grace;
	int grace_started; /* grace is initialised */
	int watching;      /* the signal handles are initialised */
	int stopping;      /* loop_shutdown was called */
	int finished;      /* finish ran */
} S;

void loop_init(uv_loop_t *loop, const loop_hooks_t *hooks)
{
	S.loop = loop;
	S.hooks = *hooks;
	S.grace_started = S.watching = S.stopping = S.finished = 0;
}

static void finish(void)
{
	if (S.finished)
		return;
	S.finished = 1;
	if (S.grace_started) {
		uv_timer_stop(&S.grace);
		if (!uv_is_closing((uv_handle_t *)&S.grace))
			uv_close((uv_handle_t *)&S.grace, NULL);
	}
	if (S.watching) {
		uv_close((uv_handle_t *)&S.sig_int, NULL);
		uv_close((uv_handle_t *)&S.sig_term, NULL);
		S.watching = 0;
	}
	if (S.hooks.finished)
		S.hooks.finished(S.hooks.ud);
	log_info("stopped");
	uv_stop(S.loop);
}

static void drained(void *arg)
{
	(void)arg;
	finish();
}

static void on_grace(uv_timer_t *t)
{
	(void)t;
	int busy = S.hooks.busy ? S.hooks.busy(S.hooks.ud) : 0;
	log_warn("%d request(s) still running after the grace period: closing them", busy);
	if (S.hooks.close_all)
		S.hooks.close_all(S.hooks.ud);
	finish();
}

void loop_shutdown(unsigned grace_ms)
{
	if (S.stopping || !S.loop)
		return;
	S.stopping = 1;
	if (S.hooks.stopping)
		S.hooks.stopping(S.hooks.ud);
	log_info("shutting down: no new connections, finishing requests in progress");
	uv_timer_init(S.loop, &S.grace);
	S.grace_started = 1;
	if (S.hooks.stop_serving) {
		uv_timer_start(&S.grace, on_grace, grace_ms, 0);
		if (S.hooks.stop_serving(S.hooks.ud, drained, NULL) == 0)
			return;
	}
	finish();
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)s;
	if (S.stopping) {
		log_warn("second signal %d: stopping now", signum);
		if (S.hooks.close_all)
			S.hooks.close_all(S.hooks.ud);
		finish();
		return;
	}
	loop_shutdown(5000);
}

void loop_watch_signals(void)
{
	signal(SIGPIPE, SIG_IGN);
	uv_signal_init(S.loop, &S.sig_int);
	uv_signal_init(S.loop, &S.sig_term);
	uv_signal_start(&S.sig_int, on_signal, SIGINT);
	uv_signal_start(&S.sig_term, on_signal, SIGTERM);
	uv_unref((uv_handle_t *)&S.sig_int);
	uv_unref((uv_handle_t *)&S.sig_term);
	S.watching = 1;
}
