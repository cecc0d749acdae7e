#!/bin/sh
# Browser tests: starts `candor serve --demo` on a free port with a throwaway data folder and
# runs every tests/browser/*.test.mjs in Debian's Chromium (see tests/browser/README.md).
# Ends with "N passed, N failed"; exits 1 on any failure.
#   BUILD=build            where the candor binary is
#   CHROMIUM=/usr/bin/chromium
#   PORTS="18500 18599"    the range a free port is taken from
#   FILTER=TEXT            run only the tests whose name contains TEXT
#   KEEP_SERVER_LOG=1      print the server's log at the end even when all passed
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
BUILD=${BUILD:-build}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
PORTS=${PORTS:-"18500 18599"}
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 # never let anything fetch a browser
export CANDOR_APP="${CANDOR_APP:-$root/lua}"
export CANDOR_DEMO_PASSWORD="${CANDOR_DEMO_PASSWORD:-browser-demo-password-1}"
export CHROMIUM

die() {
	echo "FAIL browser: $*"
	echo "0 passed, 1 failed"
	exit 1
}

command -v node >/dev/null 2>&1 || die "node is missing (make deps-test installs it)"
command -v npm >/dev/null 2>&1 || die "npm is missing (make deps-test installs it)"
[ -x "$CHROMIUM" ] || die "$CHROMIUM is missing (make deps-test installs Debian's chromium)"
[ -x "$BUILD/candor" ] || die "$BUILD/candor is not built (make BUILD=$BUILD $BUILD/candor)"
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 18 ] || die "node $(node --version) is too old (18 or newer)"

# node modules: npm ci when they are missing or the lock file changed since the last install
stamp="$here/node_modules/.candor-lock"
want=$(cksum <"$here/package-lock.json")
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	npmlog=$(mktemp)
	if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >"$npmlog" 2>&1; then
		cat "$npmlog"
		rm -f "$npmlog"
		die "npm ci failed"
	fi
	rm -f "$npmlog"
	echo "$want" >"$stamp"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/candor-browser.XXXXXX")
pid=""
# shellcheck disable=SC2317 # (called from the traps)
stop() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	pid=""
}
# shellcheck disable=SC2317
cleanup() {
	stop
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# start the server on the first port of the range it can bind (a port in use makes it exit)
lo=${PORTS% *}
hi=${PORTS#* }
port=$lo
up=0
while [ "$port" -le "$hi" ]; do
	rm -rf "$work/data"
	"$BUILD/candor" serve --demo --data "$work/data" --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
	pid=$!
	i=0
	while [ "$i" -lt 100 ]; do
		if ! kill -0 "$pid" 2>/dev/null; then break; fi
		# our server, not another one already on this port (ours then exits: "address already in use")
		if grep -q "listening on http://127.0.0.1:$port/" "$work/server.log" &&
			curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/healthz" 2>/dev/null; then
			up=1
			break
		fi
		sleep 0.1
		i=$((i + 1))
	done
	[ $up = 1 ] && break
	if kill -0 "$pid" 2>/dev/null; then
		cat "$work/server.log"
		die "the server did not answer /healthz on port $port within 10 s"
	fi
	wait "$pid" 2>/dev/null
	pid=""
	grep -qi "in use" "$work/server.log" || { cat "$work/server.log"; die "the server did not start"; }
	port=$((port + 1))
done
[ $up = 1 ] || die "no free port in $PORTS"

export CANDOR_BASE_URL="http://127.0.0.1:$port"
mkdir -p "$work/tmp"
# Chromium's profile (a fresh --user-data-dir made by playwright-core) lands under TMPDIR
TMPDIR="$work/tmp" node "$here/lib/runner.mjs" ${FILTER:+--filter "$FILTER"} "$here"/*.test.mjs
rc=$?
if [ $rc -ne 0 ] || [ "${KEEP_SERVER_LOG:-0}" = 1 ]; then
	echo "-- server log ($BUILD/candor serve --demo on port $port):"
	sed 's/^/   /' "$work/server.log"
fi
exit $rc
