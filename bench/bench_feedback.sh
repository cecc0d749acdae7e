#!/bin/sh
# bench_feedback.sh: 360 feedback on a generated company of 10,000 people (bench/feedback_bench.lua):
#   feedback_start_2k_ms     starting a 360 cycle of 2,000 reviewees (managers fixed, self and manager
#                            requests made, workflow pinned, timeline planned, 2,000 mails queued)
#   feedback_overview_2k_ms  median server time of the HR overview page of that cycle with 8 approved
#                            reviewers per reviewee (16,000 requests), against the 50 ms target
# Prints only `bench ...` lines on stdout (bench/README.md).
set -u
. bench/lib.sh

data="$bench_tmp/feedback-data"
out="$bench_tmp/feedback.out"
"$BUILD/candor" run --app "${BENCH_APP:-$PWD/lua}" --data "$data" bench/feedback_bench.lua >"$out" 2>"$bench_tmp/feedback.err" ||
	{ cat "$bench_tmp/feedback.err" >&2; bench_fail "feedback_bench.lua failed"; }
val() { sed -n "s/^$1[[:space:]]*//p" "$out" | tail -n 1; }

bench_line feedback_start_2k_ms "$(val start_ms)" ms budget_ms 1000
bench_line feedback_overview_2k_ms "$(val overview_ms)" ms budget_ms 50
