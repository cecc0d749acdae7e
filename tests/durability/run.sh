#!/bin/bash
# The durability test: clients write while the server is killed with SIGKILL at random
# moments; after every restart each write that got a 2xx must still be there, and at the end
# the database passes PRAGMA integrity_check and the audit log's hash chain verifies.
#
#   1. A fresh data folder: `candor run` fills the demo company and makes an API token for the
#      super user (so the writers need no cookie or CSRF token).
#   2. Rounds (DURABILITY_ROUNDS, 8): `candor serve --demo` starts on a free port; WRITERS (4)
#      clients in parallel each create people (POST /api/users, unique emails) and set a job
#      title on a person of their own to a growing counter (PATCH /api/users/{id}), writing
#      down every write answered 2xx; after a random 1.5-3.5 s the server gets SIGKILL.
#   3. The checks: after every kill the server comes back and the API lists at least every
#      person acknowledged so far (one check per round); then, on the file: every acknowledged
#      person exists; every writer's person has a job title at least the last counter
#      acknowledged for it; integrity_check says ok; `candor audit verify` passes.
#
# Prints one line per round and per check, then "N passed, N failed" (tests/run.sh reads it).
# About 25 s. Everything it starts is killed and its folder removed on exit, failure included.
# Settings: BUILD (build), DURABILITY_ROUNDS (8), DURABILITY_WRITERS (4).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
ROUNDS=${DURABILITY_ROUNDS:-8}
WRITERS=${DURABILITY_WRITERS:-4}
CANDOR="$BUILD/candor"
APP="$PWD/lua"
export CANDOR_DEMO_PASSWORD="durability-demo-password"

pass=0
fail=0
check() { # check NAME CONDITION-EXIT-STATUS [DETAIL]
	if [ "$2" -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok    durability: $1"
	else
		fail=$((fail + 1))
		echo "FAIL  durability: $1${3:+: $3}"
	fi
}
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
	exit $?
}

for tool in curl sqlite3; do
	command -v "$tool" >/dev/null 2>&1 || { echo "FAIL  durability: $tool is missing (make deps-test)"; fail=1; finish; }
done
[ -x "$CANDOR" ] || { echo "FAIL  durability: $CANDOR is not built"; fail=1; finish; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/candor-durability.XXXXXX")
data="$tmp/data"
server_pid=""
writer_pids=""
cleanup() {
	[ -n "$writer_pids" ] && kill $writer_pids 2>/dev/null
	[ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- the data folder and a token
cat >"$tmp/setup.lua" <<'EOF'
local demo = require "demo"
local db = require "lib.db"
if demo.is_empty() then demo.fill(os.getenv("CANDOR_DEMO_PASSWORD")) end
local people = require "services.people"
local super = db.row("SELECT * FROM users WHERE id = ?", people.super_user_ids()[1])
local token = db.transaction(function()
  return (require("services.api_tokens").create(super, "durability test"))
end)
io.stdout:write(token, "\n")
EOF
token=$("$CANDOR" run --app "$APP" --data "$data" "$tmp/setup.lua" 2>"$tmp/setup.log" | tail -n 1)
case "$token" in
cnd_*) ;;
*) cat "$tmp/setup.log"; echo "FAIL  durability: could not make an API token"; fail=1; finish ;;
esac
auth="Authorization: Bearer $token"

# ---------------------------------------------------------------- the server
start_server() { # sets server_pid and url; 0 when it answers /healthz
	log="$tmp/server.log"
	: >"$log"
	"$CANDOR" serve --app "$APP" --data "$data" --listen 127.0.0.1:0 --demo >"$log" 2>&1 &
	server_pid=$!
	url=""
	for _ in $(seq 1 150); do
		url=$(grep -o 'http://127\.0\.0\.1:[0-9][0-9]*' "$log" | head -n 1)
		[ -n "$url" ] && break
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$url" ] && curl -s -m 5 "$url/healthz" | grep -q '"status":"ok"'
}

# ---------------------------------------------------------------- the writers
# writer W ROUND: creates dur-W-ROUND-N@... people and sets the job title of its own person
# (id in $tmp/own.W) to "counter N"; appends acknowledged writes to its files until told to stop.
writer() {
	w=$1 round=$2
	own=$(cat "$tmp/own.$w")
	n=0
	while [ ! -e "$tmp/stop" ]; do
		n=$((n + 1))
		email="dur-$w-$round-$n@northwind.example"
		code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X POST -H "$auth" -H 'Content-Type: application/json' \
			--data "{\"email\":\"$email\",\"name\":\"Durable $w $round $n\"}" "$url/api/users" 2>/dev/null)
		[ "$code" = 201 ] && echo "$email" >>"$tmp/acked.creates"
		counter=$(((round * 100000) + n))
		code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X PATCH -H "$auth" -H 'Content-Type: application/json' \
			--data "{\"job_title\":\"counter $counter\"}" "$url/api/users/$own" 2>/dev/null)
		[ "$code" = 200 ] && echo "$counter" >"$tmp/acked.title.$w"
	done
}

start_server || { cat "$tmp/server.log"; echo "FAIL  durability: the server did not start"; fail=1; finish; }
# each writer's own person, made before the rounds
for w in $(seq 1 "$WRITERS"); do
	id=$(curl -s -m 5 -X POST -H "$auth" -H 'Content-Type: application/json' \
		--data "{\"email\":\"dur-own-$w@northwind.example\",\"name\":\"Durable Owner $w\"}" "$url/api/users" |
		sed -n 's/.*"id":\([0-9][0-9]*\).*/\1/p')
	[ -n "$id" ] || { echo "FAIL  durability: could not create the writers' people"; fail=1; finish; }
	echo "$id" >"$tmp/own.$w"
	echo 0 >"$tmp/acked.title.$w"
done
: >"$tmp/acked.creates"

# ---------------------------------------------------------------- the rounds
for round in $(seq 1 "$ROUNDS"); do
	before=$(wc -l <"$tmp/acked.creates")
	rm -f "$tmp/stop"
	writer_pids=""
	for w in $(seq 1 "$WRITERS"); do
		writer "$w" "$round" &
		writer_pids="$writer_pids $!"
	done
	ms=$((1500 + RANDOM % 2000))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -KILL "$server_pid"
	wait "$server_pid" 2>/dev/null
	server_pid=""
	touch "$tmp/stop"
	wait $writer_pids 2>/dev/null
	writer_pids=""
	acked=$(($(wc -l <"$tmp/acked.creates") - before))
	all=$(sort -u "$tmp/acked.creates" | wc -l)
	# back up after the crash, and the API shows at least every acknowledged person so far
	if start_server; then
		shown=$(curl -s -m 5 -H "$auth" "$url/api/users?q=dur-&status=&per_page=1" | sed -n 's/.*"total":\([0-9][0-9]*\).*/\1/p')
		shown=$((${shown:-0} - WRITERS))
		[ "$shown" -ge "$all" ]
		st=$?
		check "round $round: killed after ${ms} ms with $acked new people acknowledged; restarted, the API shows $shown of $all acknowledged" \
			$st "fewer than acknowledged"
	else
		check "round $round: the server restarts after SIGKILL" 1 "$(tail -n 5 "$tmp/server.log" | tr '\n' ' ')"
		server_pid=""
		break
	fi
done
# one last crash, with nothing in flight, before the file is examined
[ -n "$server_pid" ] && kill -KILL "$server_pid" && wait "$server_pid" 2>/dev/null
server_pid=""

# ---------------------------------------------------------------- the checks (on the file)
db="$data/candor.db"
sort -u "$tmp/acked.creates" >"$tmp/acked.sorted"
sqlite3 "$db" "SELECT email FROM users WHERE email LIKE 'dur-%-%-%@northwind.example' AND email NOT LIKE 'dur-own-%'" |
	sort -u >"$tmp/stored.sorted"
missing=$(comm -23 "$tmp/acked.sorted" "$tmp/stored.sorted" | wc -l)
total=$(wc -l <"$tmp/acked.sorted")
[ "$total" -gt 0 ] && [ "$missing" -eq 0 ]
st=$?
check "every acknowledged create is in the database ($total acknowledged, $(wc -l <"$tmp/stored.sorted") stored)" $st \
	"$missing missing, e.g. $(comm -23 "$tmp/acked.sorted" "$tmp/stored.sorted" | head -n 3 | tr '\n' ' ')"

lost=""
for w in $(seq 1 "$WRITERS"); do
	want=$(cat "$tmp/acked.title.$w")
	got=$(sqlite3 "$db" "SELECT job_title FROM users WHERE id = $(cat "$tmp/own.$w")" | sed -n 's/^counter //p')
	[ -n "$got" ] || got=0
	[ "$got" -ge "$want" ] || lost="$lost writer $w: acknowledged $want, stored $got;"
done
[ -z "$lost" ]
st=$?
check "every acknowledged update is in the database (each title at least the last acknowledged counter)" $st "$lost"

integrity=$(sqlite3 "$db" "PRAGMA integrity_check" 2>&1)
[ "$integrity" = ok ]
st=$?
check "PRAGMA integrity_check is ok" $st "$integrity"

"$CANDOR" audit --app "$APP" --data "$data" verify >"$tmp/audit.out" 2>&1
st=$?
check "the audit log's hash chain verifies after the crashes ($(grep -v '^20..-' "$tmp/audit.out" | tr -d '\n'))" $st

finish
