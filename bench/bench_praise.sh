#!/bin/sh
# bench_praise.sh: the praise wall's first page for a 10,000-person company with 100,000 praise
# messages, signed in (an employee's API token), through wrk, against the floor's req/s.
#   praise_wall_rps   GET /praise (the HTML page: 20 company praise, filters, the layout)
# The company comes from bench/directory_company.lua, the praise from bench/praise_company.lua
# (direct SQL, texts sealed as the app seals them). Prints only `bench ...` lines on stdout.
# Settings: BENCH_PRAISE_PEOPLE (10000), BENCH_PRAISE_MESSAGES (100000), and those of bench/lib.sh.
set -u
. bench/lib.sh

people=${BENCH_PRAISE_PEOPLE:-10000}
messages=${BENCH_PRAISE_MESSAGES:-100000}
app=${BENCH_APP:-$PWD/lua}
data="$bench_tmp/praise-data"
make --no-print-directory -s BUILD="$BUILD" "$BUILD/candor" >&2 || bench_fail "build failed"

started=$(date +%s)
"$BUILD/candor" run --app "$app" --data "$data" bench/directory_company.lua setup "$people" \
	>/dev/null 2>"$bench_tmp/praise-setup.log" || { cat "$bench_tmp/praise-setup.log" >&2; bench_fail "no company"; }
token=$("$BUILD/candor" run --app "$app" --data "$data" bench/praise_company.lua setup "$messages" \
	2>>"$bench_tmp/praise-setup.log" | tail -n 1)
case "$token" in
cnd_*) ;;
*) cat "$bench_tmp/praise-setup.log" >&2; bench_fail "could not write the praise" ;;
esac
grep '^praise bench' "$bench_tmp/praise-setup.log" >&2
echo "bench: company and praise generated in $(($(date +%s) - started)) s" >&2

bench_floor || exit 1

bench_start_candor praise
pid=$BENCH_PID
out=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $token" "$BENCH_URL/praise") ||
	bench_fail "cannot reach $BENCH_URL"
[ "$(printf '%s\n' "$out" | tail -n 1)" = 200 ] || bench_fail "the wall answered: $(printf '%s\n' "$out" | tail -c 300)"
n=$(printf '%s\n' "$out" | grep -c 'class="card message-card"')
[ "$n" -eq 20 ] || bench_fail "the wall's first page shows $n praise, not 20"

rps=$(bench_wrk "$BENCH_URL/praise" -H "Authorization: Bearer $token" --timeout 10s) || exit 1
bench_stop "$pid"
bench_line praise_wall_rps "$rps" req/s floor_rps "$floor_rps"
