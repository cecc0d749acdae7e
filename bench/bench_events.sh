#!/bin/sh
# bench_events.sh: the event bus and the undo log (bench/events_bench.lua), in-process, on a
# generated company of 10,000 people:
#   rollback_10k_us   a failed transaction that changed one reporting line (the row, the
#                     permission evaluator's entry, a decision after the rollback), median, against
#                     plain_rollback_us: the same failing transaction touching no in-memory state
#                     (target ratio <= 3; a full reload of the evaluator, what a rollback cost
#                     before, goes to stderr for reference)
#   event_fire_ns     firing an event with 10 in-process handlers, against no_handlers_ns: one
#                     nobody hooks
# Prints only `bench ...` lines on stdout (bench/README.md).
set -u
. bench/lib.sh

data="$bench_tmp/events-data"
out="$bench_tmp/events.out"
"$BUILD/candor" run --app "${BENCH_APP:-$PWD/lua}" --data "$data" bench/events_bench.lua >"$out" 2>"$bench_tmp/events.err" ||
	{ cat "$bench_tmp/events.err" >&2; bench_fail "events_bench.lua failed"; }
val() { sed -n "s/^$1[[:space:]]*//p" "$out" | tail -n 1; }

echo "bench: a full reload of the evaluator (what a rollback cost before): $(val reload_ms) ms" >&2
bench_line rollback_10k_us "$(val rollback_us)" us plain_rollback_us "$(val plain_us)"
bench_line event_fire_ns "$(val fire10_ns)" ns no_handlers_ns "$(val fire0_ns)"
