#!/bin/sh
# bench_objectives.sh: the alignment tree of an objective cycle of a 10,000-person company with
# 30,000 objectives (bench/objectives_bench.lua), server time of the page, median, in-process:
#   objectives_tree_10k_ms           the slower of the two below, against the 50 ms target
#   objectives_tree_10k_employee_ms  as an employee at the bottom of the chart
#   objectives_tree_10k_hr_admin_ms  as the HR Admin at the top
# Prints only `bench ...` lines on stdout (bench/README.md).
set -u
. bench/lib.sh

data="$bench_tmp/objectives-data"
out="$bench_tmp/objectives.out"
"$BUILD/candor" run --app "${BENCH_APP:-$PWD/lua}" --data "$data" bench/objectives_bench.lua >"$out" 2>"$bench_tmp/objectives.err" ||
	{ cat "$bench_tmp/objectives.err" >&2; bench_fail "objectives_bench.lua failed"; }
cat "$bench_tmp/objectives.err" >&2
val() { sed -n "s/^$1[[:space:]]*//p" "$out" | tail -n 1; }

employee=$(val employee_ms)
hr=$(val hr_ms)
[ -n "$employee" ] && [ -n "$hr" ] || bench_fail "no figures from objectives_bench.lua"
worst=$(bench_max "$employee" "$hr")
bench_line objectives_tree_10k_ms "$worst" ms budget_ms 50
bench_line objectives_tree_10k_employee_ms "$employee" ms budget_ms 50
bench_line objectives_tree_10k_hr_admin_ms "$hr" ms budget_ms 50
