#!/bin/sh
# bench_review.sh: the signed-in request people feel most, on the demo company (--demo):
#   review_get_rps           GET /api/reviews/{id} as the reviewing manager (session cookie,
#                            permission checks, the review's rows, both parts' answers decrypted,
#                            JSON), BENCH_CONNECTIONS connections, against the floor's req/s
#                            (target ratio >= 0.25)
#   review_get_p99_ms        its 99th percentile at 32 connections, against its median in the
#                            same run (target ratio <= 5: nothing stalls the loop)
#   signin_storm_p99_ratio   that p99 while 50 more connections sign in over and over (argon2id on
#                            the thread pool, a session and an audit entry written per sign-in),
#                            against the p99 without them (target ratio <= 2)
# The rounds of each figure are taken in turns; the best run counts (other work on the machine
# only slows a run down). Prints only `bench ...` lines on stdout (bench/README.md).
set -u
. bench/lib.sh

password=bench-password-2026
agent="candor-bench"
bench_floor || exit 1

CANDOR_DEMO_PASSWORD=$password
export CANDOR_DEMO_PASSWORD
bench_start_candor review --demo
url=$BENCH_URL
jar="$bench_tmp/review.cookies"
email=ravi.shankar@northwind.example
code=$(curl -s -o /dev/null -w '%{http_code}' -A "$agent" -c "$jar" -H 'Content-Type: application/json' \
	-d "{\"email\":\"$email\",\"password\":\"$password\"}" "$url/api/session") || bench_fail "cannot reach $url"
[ "$code" = 200 ] || bench_fail "signing in as $email answered $code"
cookie=$(awk '$6 == "candor_session" { print $7 }' "$jar")
[ -n "$cookie" ] || bench_fail "no session cookie"
# the review Ravi wrote and shared, with his report's submitted self-assessment: both parts' answers
id=$(curl -s -A "$agent" -b "candor_session=$cookie" "$url/api/reviews" | tr '{' '\n' |
	grep '"role":"manager"' | grep '"self_status":"submitted"' | grep '"manager_status":"shared"' |
	sed -n 's/.*"id":\([0-9]*\).*/\1/p' | head -n 1)
[ -n "$id" ] || bench_fail "the demo has no shared review of $email"
review="$url/api/reviews/$id"
body=$(curl -s -A "$agent" -b "candor_session=$cookie" "$review")
case "$body" in
*'"self_answers":{'*'"manager_answers":{'* | *'"manager_answers":{'*'"self_answers":{'*) ;;
*) bench_fail "GET $review does not show both parts' answers: $body" ;;
esac
set -- -H "User-Agent: $agent" -H "Cookie: candor_session=$cookie"

rps=$(bench_wrk "$review" "$@" --timeout 10s) || exit 1
bench_line review_get_rps "$rps" req/s floor_rps "$floor_rps"

# the tail at 32 connections, alone and beside a storm of sign-ins
storm_script="$bench_tmp/signin_storm.lua"
cat >"$storm_script" <<EOF
wrk.method = "POST"
wrk.body = '{"email":"$email","password":"$password"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "$agent"
EOF
storm_out="$bench_tmp/storm.out"
calm_p50=0 calm_p99=0 storm_p99=0 storm_signins=0
round=0
while [ $round -lt "$BENCH_ROUNDS" ]; do
	# (a wrk timeout is 10 s, not 2: a loaded machine gives a long tail, not an error)
	out=$(BENCH_CONNECTIONS=32 bench_latency "$review" -H "User-Agent: $agent" -H "Cookie: candor_session=$cookie" \
		--timeout 10s) || exit 1
	# shellcheck disable=SC2086
	set -- $out
	if [ "$calm_p99" = 0 ] || awk -v a="$3" -v b="$calm_p99" 'BEGIN { exit !(a < b) }'; then
		calm_p50=$2 calm_p99=$3
	fi
	# 50 connections signing in for the whole measured run (and a second before it)
	$BENCH_CLIENT_PIN wrk -t1 -c50 -d"$((BENCH_DURATION + 2))s" --timeout 60s -s "$storm_script" "$url/api/session" \
		>"$storm_out" 2>&1 &
	storm_pid=$!
	sleep 1
	out=$(BENCH_CONNECTIONS=32 bench_latency "$review" -H "User-Agent: $agent" -H "Cookie: candor_session=$cookie" \
		--timeout 10s) || { wait "$storm_pid"; exit 1; }
	wait "$storm_pid"
	# shellcheck disable=SC2086
	set -- $out
	if [ "$storm_p99" = 0 ] || awk -v a="$3" -v b="$storm_p99" 'BEGIN { exit !(a < b) }'; then
		storm_p99=$3
		storm_signins=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$storm_out")
	fi
	round=$((round + 1))
done
echo "bench: review at 32 connections: p50 ${calm_p50} ms, p99 ${calm_p99} ms; beside the storm: p99" \
	"${storm_p99} ms (${storm_signins:-?} sign-ins in $((BENCH_DURATION + 2)) s)" >&2
bench_line review_get_p99_ms "$calm_p99" ms review_get_p50_ms "$calm_p50"
bench_line signin_storm_p99_ratio "$storm_p99" ms review_get_p99_ms "$calm_p99"
