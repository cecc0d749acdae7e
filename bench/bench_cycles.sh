#!/bin/sh
# bench_cycles.sh: review cycles on a generated company of 10,000 people (bench/cycles_bench.lua):
#   cycle_start_10k_ms    starting a cycle for 10,000 reviewees (managers fixed, workflow pinned,
#                         timeline planned, the invitations' jobs planned), against the 150 ms
#                         target; also against inserting 10,000 plain rows on the same database
#   cycle_start_10k_invitations_ms   those jobs, run right after the start: 9,999 invitations and
#                         the managers' mails queued in 5 ms slices, against a budget of 1 s
#   cycle_start_10k_invitations_hold_ms   their longest transaction, against 5 ms
#   cycle_overview_2k_ms  median server time of the overview page of a 2,000-reviewee cycle
#                         (statuses, progress, the rating chart decrypting 1,000 ratings) vs 50 ms
#   cycle_overview_rps    that page under wrk (HR Admin API token) vs the floor server
# Prints only `bench ...` lines on stdout (bench/README.md).
set -u
. bench/lib.sh

data="$bench_tmp/cycles-data"
out="$bench_tmp/cycles.out"
"$BUILD/candor" run --app "${BENCH_APP:-$PWD/lua}" --data "$data" bench/cycles_bench.lua >"$out" 2>"$bench_tmp/cycles.err" ||
	{ cat "$bench_tmp/cycles.err" >&2; bench_fail "cycles_bench.lua failed"; }
val() { sed -n "s/^$1[[:space:]]*//p" "$out" | tail -n 1; }

bench_line cycle_start_10k_ms "$(val start_ms)" ms budget_ms 150
bench_line cycle_start_10k_vs_inserts_ms "$(val start_ms)" ms plain_inserts_10k_ms "$(val insert_ms)"
[ "$(val invite_mails)" -ge 9999 ] || bench_fail "the start's jobs queued $(val invite_mails) mails, not 9,999 and more"
bench_line cycle_start_10k_invitations_ms "$(val invite_ms)" ms budget_ms 1000
bench_line cycle_start_10k_invitations_hold_ms "$(val invite_hold_ms)" ms budget_ms 5
bench_line cycle_overview_2k_ms "$(val overview_ms)" ms budget_ms 50

cycle=$(val cycle)
token=$(val token)
[ -n "$cycle" ] && [ -n "$token" ] || bench_fail "no cycle or token from cycles_bench.lua"

bench_start floor "$BUILD/bench/floor"
floor_url=$BENCH_URL
bench_start cycles "$BUILD/candor" serve --app "${BENCH_APP:-$PWD/lua}" --data "$data" --listen 127.0.0.1:0
url="$BENCH_URL/cycles/$cycle"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$url")
[ "$code" = 200 ] || bench_fail "GET $url answered $code"
rps=$(bench_wrk "$url" -H "Authorization: Bearer $token") || exit 1
floor=$(bench_wrk "$floor_url/") || exit 1
bench_line cycle_overview_rps "$rps" req/s floor_rps "$floor"
