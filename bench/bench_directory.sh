#!/bin/sh
# bench_directory.sh: the directory API on a generated company of 10,000 people.
#   directory_page_rps  GET /api/users?per_page=50&page=N (N over every page, bench/directory_pages.lua)
#                       as an HR Admin with an API token, through wrk, against the floor's req/s
#   directory_page_ms   the median CPU time of one such page handled in-process (token check,
#                       router, permission, search, JSON) over 200 calls, against a 50 ms budget
# The company comes from bench/directory_company.lua through `candor run` (direct SQL inserts in
# one transaction). Prints only `bench ...` lines on stdout (bench/README.md).
# Settings: BENCH_DIRECTORY_PEOPLE (10000), and those of bench/lib.sh.
set -u
. bench/lib.sh

people=${BENCH_DIRECTORY_PEOPLE:-10000}
app=${BENCH_APP:-$PWD/lua}
data="$bench_tmp/directory-data"
make --no-print-directory -s BUILD="$BUILD" "$BUILD/candor" >&2 || bench_fail "build failed"

started=$(date +%s)
token=$("$BUILD/candor" run --app "$app" --data "$data" bench/directory_company.lua setup "$people" \
	2>"$bench_tmp/directory-setup.log" | tail -n 1)
case "$token" in
cnd_*) ;;
*) cat "$bench_tmp/directory-setup.log" >&2; bench_fail "could not generate the company" ;;
esac
grep '^directory bench' "$bench_tmp/directory-setup.log" >&2
echo "bench: company generated in $(($(date +%s) - started)) s" >&2

bench_floor || exit 1

bench_start_candor directory
pid=$BENCH_PID
out=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $token" "$BENCH_URL/api/users?per_page=50&page=3") ||
	bench_fail "cannot reach $BENCH_URL"
[ "$(printf '%s\n' "$out" | tail -n 1)" = 200 ] || bench_fail "the directory page answered: $out"
case "$out" in
*'"per_page":50'*) ;;
*) bench_fail "the directory page is not a page of 50" ;;
esac

BENCH_PAGES=$((people / 50))
export BENCH_PAGES
rps=$(bench_wrk "$BENCH_URL/api/users?per_page=50" -H "Authorization: Bearer $token" -s bench/directory_pages.lua \
	--timeout 10s) ||
	exit 1
bench_stop "$pid"
bench_line directory_page_rps "$rps" req/s floor_rps "$floor_rps"

times=$($BENCH_SERVER_PIN "$BUILD/candor" run --app "$app" --data "$data" bench/directory_company.lua time 200 "$token" \
	2>"$bench_tmp/directory-time.log" | tail -n 1)
page_ms=$(printf '%s\n' "$times" | sed -n 's/^page_ms=\([0-9.]*\) .*/\1/p')
service_ms=$(printf '%s\n' "$times" | sed -n 's/.* service_ms=\([0-9.]*\)$/\1/p')
[ -n "$page_ms" ] || { cat "$bench_tmp/directory-time.log" >&2; bench_fail "the in-process timing failed"; }
echo "bench: of which the directory service alone: $service_ms ms (median)" >&2
bench_line directory_page_ms "$page_ms" ms budget_ms 50
