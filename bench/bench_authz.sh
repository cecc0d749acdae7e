#!/bin/sh
# bench_authz.sh: the permission evaluator on one core (bench/authz_bench.c): decisions per
# second on a generated company of 100,000 people against two hash lookups of person records
# (the least work any decision needs), and the time to rebuild the org graph after a change
# against the 100 ms budget. Prints only `bench ...` lines on stdout (bench/README.md).
set -u
. bench/lib.sh

make --no-print-directory -s BUILD="$BUILD" "$BUILD/bench/authz_bench" >&2 || bench_fail "cannot build authz_bench"
rounds=$((BENCH_ROUNDS > 3 ? BENCH_ROUNDS : 3))
# one core: pinned like the servers are, when the machine has two or more
# shellcheck disable=SC2086
$BENCH_SERVER_PIN "$BUILD/bench/authz_bench" 100000 0.4 "$rounds" || bench_fail "authz_bench failed"
