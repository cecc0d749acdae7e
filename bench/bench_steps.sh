#!/bin/sh
# bench_steps.sh: a dated workflow step mailing 9,999 reviewees of a 10,000-person company
# (bench/steps_bench.lua), in-process:
#   step_10k_hold_ms    the longest the step holds the event loop (its longest transaction; it
#                       yields between slices), against the 5 ms that periodic work may take
#   step_10k_total_ms   the whole step, against a budget of 1 s
#   survey_round_10k_hold_ms   a pulse survey's round opening for 9,999 people and its invitations:
#                       the longest stretch, against the 5 ms
#   survey_round_10k_total_ms  both jobs, against a budget of 1 s
# Prints only `bench ...` lines on stdout (bench/README.md).
set -u
. bench/lib.sh

out="$bench_tmp/steps.out"
"$BUILD/candor" run --app "${BENCH_APP:-$PWD/lua}" --data "$bench_tmp/steps-data" bench/steps_bench.lua >"$out" \
	2>"$bench_tmp/steps.err" || { cat "$bench_tmp/steps.err" >&2; bench_fail "steps_bench.lua failed"; }
val() { sed -n "s/^$1[[:space:]]*//p" "$out" | tail -n 1; }
[ "$(val mails)" = 9999 ] || bench_fail "the step queued $(val mails) mails, not 9999"
echo "bench: the step made $(val slices) transactions" >&2
bench_line step_10k_hold_ms "$(val hold_ms)" ms budget_ms 5
bench_line step_10k_total_ms "$(val total_ms)" ms budget_ms 1000
[ "$(val survey_mails)" -ge 9999 ] || bench_fail "the survey queued $(val survey_mails) invitations, not 9999"
bench_line survey_round_10k_hold_ms "$(val survey_hold_ms)" ms budget_ms 5
bench_line survey_round_10k_total_ms "$(val survey_total_ms)" ms budget_ms 1000
