/* Signals and graceful shutdown. */
#include "loop.h"

#include "host.h"
#include "log.h"

#include <signal.h>

static uv_signal_t sig_int, sig_term;
static uv_timer_t grace;
static int watching;

static void finish(void)
{
	static int finished;
	if (finished)
		return;
	finished = 1;
	uv_timer_stop(&grace);
	if (!uv_is_closing((uv_handle_t *)&grace))
		uv_close((uv_handle_t *)&grace, NULL);
	if (watching) {
		uv_close((uv_handle_t *)&sig_int, NULL);
		uv_close((uv_handle_t *)&sig_term, NULL);
		watching = 0;
	}
	if (H->db) {
		if (db_depth(H->db) == 0 && db_checkpoint(H->db) == 0)
			log_info("database checkpointed");
	}
	log_info("stopped");
	uv_stop(H->loop);
}

static void drained(void *ud)
{
	(void)ud;
	finish();
}

static void on_grace(uv_timer_t *t)
{
	(void)t;
	int conns = 0, busy = 0;
	http_server_counts(H->server, &conns, &busy);
	log_warn("%d request(s) still running after the grace period: closing them", busy);
	http_server_close_all(H->server);
	finish();
}

void loop_shutdown(unsigned grace_ms)
{
	if (H->stopping)
		return;
	H->stopping = 1;
	uv_timer_stop(&H->sched_timer);
	log_info("shutting down: no new connections, finishing requests in progress");
	uv_timer_init(H->loop, &grace);
	if (H->server) {
		uv_timer_start(&grace, on_grace, grace_ms, 0);
		http_server_stop(H->server, drained, NULL);
	} else {
		finish();
	}
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)s;
	if (H->stopping) {
		log_warn("second signal %d: stopping now", signum);
		if (H->server)
			http_server_close_all(H->server);
		finish();
		return;
	}
	loop_shutdown(5000);
}

void loop_watch_signals(void)
{
	signal(SIGPIPE, SIG_IGN);
	uv_signal_init(H->loop, &sig_int);
	uv_signal_init(H->loop, &sig_term);
	uv_signal_start(&sig_int, on_signal, SIGINT);
	uv_signal_start(&sig_term, on_signal, SIGTERM);
	uv_unref((uv_handle_t *)&sig_int);
	uv_unref((uv_handle_t *)&sig_term);
	watching = 1;
}
