#!/bin/sh
# Runs every test suite and ends with one line "N passed, N failed"; exits 1 on any failure.
#   BUILD=build          where the binaries are
#   SKIP_BROWSER=1       leave out the browser tests (the asan run does)
#   ONLY="unit scenarios" run some suites only
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ONLY=${ONLY:-"lint unit scenarios durability browser"}
pass=0
fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

want() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# add the counts from a runner's "N passed, N failed" line (or cmocka's summary)
count() {
	name=$1 rc=$2
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*, }; f=${f%% failed}
	else
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
		p=${p:-0}
		f=${f:-0}
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "!! $name exited with status $rc without reporting a failure: counted as one"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
}

suite() {
	name=$1
	shift
	echo "== $name"
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	count "$name" "$rc"
}

# `make lint` (luacheck over the Lua code, clang-format's layout over the C code): one test,
# failed by any warning or difference (`make fmt` fixes the layout)
lint() {
	if make --no-print-directory -s lint; then
		echo "1 passed, 0 failed"
	else
		echo "0 passed, 1 failed"
		return 1
	fi
}
if want lint && command -v luacheck >/dev/null 2>&1 && command -v clang-format >/dev/null 2>&1; then suite lint lint; fi

if want unit; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		suite "unit $(basename "$t")" "$t"
	done
fi
want scenarios && suite scenarios "$BUILD/candor" test tests/scenarios
if want durability && [ -x tests/durability/run.sh ]; then suite durability tests/durability/run.sh; fi
if want browser && [ "${SKIP_BROWSER:-0}" != 1 ] && [ -x tests/browser/run.sh ]; then
	suite browser tests/browser/run.sh
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
