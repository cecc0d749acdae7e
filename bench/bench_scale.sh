#!/bin/sh
# bench_scale.sh: the same signed-in pages on a small and a big company (bench/scale_company.lua:
# N people and a year of data of every module):
#   scale_p99_ratio   p99 of the home page, team page, a review, the directory and the cycle
#                     overview in turns (bench/scale_pages.lua), 32 connections, signed in as the
#                     HR Admin who manages eight, on 10,000 people, against the same on 100
#                     (target ratio <= 2)
#   rss_10k_mb        resident memory of the 10,000-person server after that run, against a 64 MB
#                     budget (target ratio <= 1)
# Prints only `bench ...` lines on stdout (bench/README.md).
# Settings: BENCH_SCALE_SMALL (100), BENCH_SCALE_BIG (10000), and those of bench/lib.sh.
set -u
. bench/lib.sh

small=${BENCH_SCALE_SMALL:-100}
big=${BENCH_SCALE_BIG:-10000}
app=${BENCH_APP:-$PWD/lua}
password=bench-scale-password-2026
agent=candor-bench
make --no-print-directory -s BUILD="$BUILD" "$BUILD/candor" >&2 || bench_fail "build failed"

# scale_run N: fills a company of N, serves it, signs in, measures; sets p50, p99 (ms), rss_kb
scale_run() {
	n=$1
	data="$bench_tmp/scale-$n"
	"$BUILD/candor" run --app "$app" --data "$data" bench/scale_company.lua setup "$n" "$password" \
		>"$bench_tmp/scale-$n.out" 2>"$bench_tmp/scale-$n.err" ||
		{ cat "$bench_tmp/scale-$n.err" >&2; bench_fail "could not fill the company of $n"; }
	grep '^scale bench' "$bench_tmp/scale-$n.err" >&2
	val() { sed -n "s/^$1 //p" "$bench_tmp/scale-$n.out" | tail -n 1; }
	BENCH_REVIEW=$(val review)
	BENCH_CYCLE=$(val cycle)
	export BENCH_REVIEW BENCH_CYCLE
	bench_start "scale-$n" "$BUILD/candor" serve --app "$app" --data "$data" --listen 127.0.0.1:0
	pid=$BENCH_PID
	jar="$bench_tmp/scale-$n.cookies"
	code=$(curl -s -o /dev/null -w '%{http_code}' -A "$agent" -c "$jar" -H 'Content-Type: application/json' \
		-d "{\"email\":\"$(val email)\",\"password\":\"$password\"}" "$BENCH_URL/api/session") ||
		bench_fail "cannot reach $BENCH_URL"
	[ "$code" = 200 ] || bench_fail "signing in on the company of $n answered $code"
	cookie=$(awk '$6 == "candor_session" { print $7 }' "$jar")
	for path in /home /team "/reviews/$BENCH_REVIEW" /people "/cycles/$BENCH_CYCLE"; do
		code=$(curl -s -o /dev/null -w '%{http_code}' -A "$agent" -b "candor_session=$cookie" "$BENCH_URL$path")
		[ "$code" = 200 ] || bench_fail "GET $path on the company of $n answered $code"
	done
	set -- -H "User-Agent: $agent" -H "Cookie: candor_session=$cookie" -s bench/scale_pages.lua --timeout 10s
	BENCH_CONNECTIONS=32 bench_warm "$BENCH_URL/" "$@"
	p50=0 p99=0
	r=0
	while [ $r -lt "$BENCH_ROUNDS" ]; do
		out=$(BENCH_CONNECTIONS=32 bench_latency "$BENCH_URL/" -H "User-Agent: $agent" \
			-H "Cookie: candor_session=$cookie" -s bench/scale_pages.lua --timeout 10s) || exit 1
		# shellcheck disable=SC2086
		set -- $out
		if [ "$p99" = 0 ] || awk -v a="$3" -v b="$p99" 'BEGIN { exit !(a < b) }'; then
			p50=$2 p99=$3
		fi
		r=$((r + 1))
	done
	rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
	echo "bench: company of $n: p50 $p50 ms, p99 $p99 ms, resident $((rss_kb / 1024)) MB" >&2
	bench_stop "$pid"
}

scale_run "$small"
small_p99=$p99
scale_run "$big"
bench_line scale_p99_ratio "$p99" ms "p99_${small}_ms" "$small_p99"
bench_line rss_10k_mb "$((rss_kb / 1024))" MB budget_mb 64
