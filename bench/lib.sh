# Helpers for bench/run.sh and the bench/bench_*.sh scripts: source it (. bench/lib.sh) from
# the repository root. Servers started with bench_start are killed when the script exits,
# whatever the reason (trap on EXIT, INT and TERM). See bench/README.md for the contract.
#
# Settings (environment; run.sh passes them on to every bench_*.sh):
#   BUILD               where the binaries are (build)
#   BENCH_DURATION      seconds of each measured wrk run (3)
#   BENCH_ROUNDS        measured runs per figure; the best counts (3): other work on the
#                       machine only ever slows a run down
#   BENCH_WARMUP        seconds of the warm-up run before the first (1)
#   BENCH_CONNECTIONS   wrk connections (50)
#   BENCH_THREADS       wrk threads (1)
#   BENCH_APP           the lua/ folder candor serves (lua/ of this checkout)

BUILD=${BUILD:-build}
BENCH_DURATION=${BENCH_DURATION:-3}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_WARMUP=${BENCH_WARMUP:-1}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-50}
BENCH_THREADS=${BENCH_THREADS:-1}
export BUILD BENCH_DURATION BENCH_ROUNDS BENCH_WARMUP BENCH_CONNECTIONS BENCH_THREADS

bench_tmp=$(mktemp -d "${TMPDIR:-/tmp}/candor-bench.XXXXXX")
bench_pids=""

# Servers on CPU 0, wrk on the others, so that they do not compete for one core.
BENCH_SERVER_PIN=""
BENCH_CLIENT_PIN=""
bench_ncpu=$(nproc 2>/dev/null || echo 1)
if command -v taskset >/dev/null 2>&1 && [ "$bench_ncpu" -ge 2 ]; then
	BENCH_SERVER_PIN="taskset -c 0"
	BENCH_CLIENT_PIN="taskset -c 1-$((bench_ncpu - 1))"
fi

bench_cleanup() {
	for p in $bench_pids; do
		bench_stop "$p"
	done
	rm -rf "$bench_tmp"
}
trap 'bench_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_fail() {
	echo "bench: $*" >&2
	exit 1
}

# bench_start NAME COMMAND [ARGS...]: starts a server pinned to the server CPU; its output goes
# to $bench_tmp/NAME.log. It must print its URL (http://127.0.0.1:PORT) once it listens: that
# URL, without the trailing slash, is put in BENCH_URL, and its process id in BENCH_PID.
bench_start() {
	name=$1
	shift
	log="$bench_tmp/$name.log"
	: >"$log" # exists before the server (started in the background) opens it
	# shellcheck disable=SC2086
	$BENCH_SERVER_PIN "$@" >"$log" 2>&1 &
	pid=$!
	BENCH_PID=$pid
	bench_pids="$bench_pids $pid"
	i=0
	BENCH_URL=""
	while [ $i -lt 150 ]; do
		BENCH_URL=$(grep -o 'http://127\.0\.0\.1:[0-9][0-9]*' "$log" | head -n 1)
		[ -n "$BENCH_URL" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	cat "$log" >&2
	bench_fail "$name did not start"
}

# bench_stop PID: stops one server started by bench_start (SIGTERM, then SIGKILL after 5 s).
bench_stop() {
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	rest=""
	for p in $bench_pids; do
		[ "$p" = "$1" ] || rest="$rest $p"
	done
	bench_pids=$rest
}

# bench_start_candor NAME [FLAGS...]: `candor serve` on 127.0.0.1 (a free port) with a fresh
# data folder $bench_tmp/NAME-data; sets BENCH_URL.
bench_start_candor() {
	name=$1
	shift
	bench_start "$name" "$BUILD/candor" serve --app "${BENCH_APP:-$PWD/lua}" --data "$bench_tmp/$name-data" \
		--listen 127.0.0.1:0 "$@"
}

# bench_check URL EXPECTED: fails unless GET URL answers 200 with a body containing EXPECTED.
bench_check() {
	out=$(curl -s -w '\n%{http_code}' "$1") || bench_fail "cannot reach $1"
	code=$(printf '%s\n' "$out" | tail -n 1)
	[ "$code" = 200 ] || bench_fail "GET $1 answered $code"
	case "$out" in
	*"$2"*) ;;
	*) bench_fail "GET $1 did not answer $2" ;;
	esac
}

# bench_warm URL [WRK ARGS...]: a warm-up run of BENCH_WARMUP seconds, not measured.
bench_warm() {
	url=$1
	shift
	[ "$BENCH_WARMUP" -gt 0 ] || return 0
	# shellcheck disable=SC2086
	$BENCH_CLIENT_PIN wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" -d"${BENCH_WARMUP}s" "$@" "$url" \
		>/dev/null 2>&1 || bench_fail "wrk failed on $url"
}

# bench_measure URL [WRK ARGS...]: one measured run; prints requests per second (an integer).
# Fails when wrk saw errors or answers other than 2xx/3xx: such a figure would lie.
bench_measure() {
	url=$1
	shift
	out="$bench_tmp/wrk.out"
	# shellcheck disable=SC2086
	$BENCH_CLIENT_PIN wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" -d"${BENCH_DURATION}s" "$@" "$url" \
		>"$out" 2>&1 || { cat "$out" >&2; bench_fail "wrk failed on $url"; }
	if grep -q -e 'Non-2xx' -e 'Socket errors' "$out"; then
		cat "$out" >&2
		bench_fail "wrk saw errors on $url"
	fi
	rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out")
	[ -n "$rps" ] || { cat "$out" >&2; bench_fail "no Requests/sec from wrk on $url"; }
	printf '%.0f\n' "$rps"
}

# bench_latency URL [WRK ARGS...]: one measured run with wrk --latency; prints "RPS P50_MS P99_MS"
# (requests per second as an integer, the median and the 99th percentile in milliseconds).
# Fails like bench_measure on errors or answers other than 2xx/3xx.
bench_latency() {
	url=$1
	shift
	out="$bench_tmp/wrk-latency.out"
	# shellcheck disable=SC2086
	$BENCH_CLIENT_PIN wrk --latency -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" -d"${BENCH_DURATION}s" "$@" "$url" \
		>"$out" 2>&1 || { cat "$out" >&2; bench_fail "wrk failed on $url"; }
	if grep -q -e 'Non-2xx' -e 'Socket errors' "$out"; then
		cat "$out" >&2
		bench_fail "wrk saw errors on $url"
	fi
	awk '
		function ms(v) {
			if (v ~ /us$/) return v / 1000
			if (v ~ /ms$/) return v + 0
			if (v ~ /s$/) return v * 1000
			return v + 0
		}
		$1 == "50%" { p50 = ms($2) }
		$1 == "99%" { p99 = ms($2) }
		/^Requests\/sec:/ { rps = $2 }
		END {
			if (rps == "" || p50 == "" || p99 == "") exit 1
			printf "%.0f %.3f %.3f\n", rps, p50, p99
		}' "$out" || { cat "$out" >&2; bench_fail "no latency figures from wrk on $url"; }
}

# bench_max A B: the larger of two integers.
bench_max() {
	if [ "$1" -ge "$2" ]; then echo "$1"; else echo "$2"; fi
}

# bench_wrk URL [WRK ARGS...]: warm-up, then the best of BENCH_ROUNDS measured runs (req/s).
bench_wrk() {
	bench_warm "$@"
	best=0
	r=0
	while [ $r -lt "$BENCH_ROUNDS" ]; do
		v=$(bench_measure "$@") || exit 1
		best=$(bench_max "$best" "$v")
		r=$((r + 1))
	done
	echo "$best"
}

# bench_line NAME VALUE UNIT ANCHOR ANCHOR_VALUE: prints the one line every figure has:
#   bench NAME VALUE UNIT vs ANCHOR ANCHOR_VALUE ratio R      (R = VALUE / ANCHOR_VALUE)
# bench_floor: sets floor_rps to the floor's req/s: the one run.sh measured in this run
# (BENCH_FLOOR_RPS), else measured here (the floor runs until the script exits).
bench_floor() {
	floor_rps=${BENCH_FLOOR_RPS:-}
	[ -n "$floor_rps" ] && return 0
	make --no-print-directory -s BUILD="$BUILD" "$BUILD/bench/floor" >&2 || bench_fail "cannot build the floor"
	bench_start floor "$BUILD/bench/floor" 127.0.0.1 0
	bench_check "$BENCH_URL/healthz" '"status":"ok"'
	floor_rps=$(bench_wrk "$BENCH_URL/healthz")
}

bench_line() {
	ratio=$(awk -v a="$2" -v b="$5" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
	echo "bench $1 $2 $3 vs $4 $5 ratio $ratio"
}
