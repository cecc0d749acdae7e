#!/bin/sh
# make bench: Candor against a floor, on 127.0.0.1, with wrk.
#
# 1. Builds $BUILD/candor and $BUILD/bench/floor (a bare libuv + llhttp server that answers
#    {"status":"ok"} to everything: the most a server on this machine can do).
# 2. Starts the floor and `candor serve` (fresh data folder, no demo) on free ports, servers
#    pinned to CPU 0 and wrk to the others (taskset, when there are 2+ CPUs), and drives each
#    with wrk for the same time and connections: a warm-up run each, then BENCH_ROUNDS rounds
#    of BENCH_DURATION s per URL, in turns, the best run counting (about 25 s in all with the
#    defaults; see bench/lib.sh for the settings).
# 3. Prints one line per figure, always in this form (other tools read it):
#        bench NAME VALUE UNIT vs ANCHOR ANCHOR_VALUE ratio R
#    e.g. bench healthz_rps 81234 req/s vs floor_rps 120000 ratio 0.68
# 4. Runs every bench/bench_*.sh in name order. The contract for those scripts:
#    - they run from the repository root with /bin/sh, and source bench/lib.sh for its helpers
#      (bench_start_candor, bench_wrk, bench_check, bench_line; servers they start are killed
#      when they exit);
#    - they get BUILD, BENCH_DURATION, BENCH_ROUNDS, BENCH_WARMUP, BENCH_CONNECTIONS,
#      BENCH_THREADS, and the floor's figure BENCH_FLOOR_RPS and address BENCH_FLOOR_URL (the
#      floor is still running) in the environment;
#    - they print only `bench ...` lines on stdout (anything else to stderr), and exit non-zero
#      when they could not measure.
# Every server this script started is killed on exit, failure included. Exit status: 0 when
# every figure was measured, 1 otherwise. No figure is asserted against its target here.
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh

command -v wrk >/dev/null 2>&1 || bench_fail "wrk is missing (make deps-bench installs it)"
command -v curl >/dev/null 2>&1 || bench_fail "curl is missing"
make --no-print-directory -s BUILD="$BUILD" "$BUILD/candor" "$BUILD/bench/floor" >&2 ||
	bench_fail "build failed"

echo "bench: best of $BENCH_ROUNDS runs of ${BENCH_DURATION}s after ${BENCH_WARMUP}s of warm-up," \
	"$BENCH_CONNECTIONS connections, $BENCH_THREADS wrk thread(s); servers pinned: ${BENCH_SERVER_PIN:-no}" >&2

bench_start floor "$BUILD/bench/floor" 127.0.0.1 0
floor_url=$BENCH_URL
bench_check "$floor_url/healthz" '"status":"ok"'
bench_start_candor candor
candor_url=$BENCH_URL
candor_pid=$BENCH_PID
bench_check "$candor_url/healthz" '"status":"ok"'
# a static file: served by the C layer alone (no Lua), the floor's work plus a lookup
bench_check "$candor_url/static/favicon.svg" '<svg'

# the figures, measured in turns so that other work on the machine hits them alike; the best
# run of each counts
set -- "$floor_url/healthz" "$candor_url/healthz" "$candor_url/static/favicon.svg"
for url in "$@"; do
	bench_warm "$url"
done
floor_rps=0 healthz_rps=0 static_rps=0
round=0
while [ $round -lt "$BENCH_ROUNDS" ]; do
	v=$(bench_measure "$1") || exit 1
	floor_rps=$(bench_max "$floor_rps" "$v")
	v=$(bench_measure "$2") || exit 1
	healthz_rps=$(bench_max "$healthz_rps" "$v")
	v=$(bench_measure "$3") || exit 1
	static_rps=$(bench_max "$static_rps" "$v")
	round=$((round + 1))
done
bench_line healthz_rps "$healthz_rps" req/s floor_rps "$floor_rps"
bench_line static_rps "$static_rps" req/s floor_rps "$floor_rps"

# stop Candor before the other scripts start theirs (the floor stays up for them)
bench_stop "$candor_pid"

BENCH_FLOOR_RPS=$floor_rps
BENCH_FLOOR_URL=$floor_url
export BENCH_FLOOR_RPS BENCH_FLOOR_URL
status=0
for script in bench/bench_*.sh; do
	[ -f "$script" ] || continue
	if ! sh "$script"; then
		echo "bench: $script failed" >&2
		status=1
	fi
done
exit $status
