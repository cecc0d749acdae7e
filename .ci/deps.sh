#!/bin/sh
# Installs the Debian packages Candor needs that are missing; does nothing when all are there.
# usage: .ci/deps.sh [build|test|bench]...   (build is always included)
set -eu

build="build-essential pkg-config liblua5.4-dev libuv1-dev node-llhttp libsqlite3-dev libsodium-dev libmimalloc-dev
lua-cjson-dev liboath-dev libqrencode-dev libcurl4-openssl-dev libxlsxwriter-dev libhpdf-dev
libcsv-dev tzdata
fonts-dejavu-core fonts-droid-fallback fonts-wqy-microhei fonts-symbola"
test="libcmocka-dev sqlite3 chromium curl lua-check clang-format unzip poppler-utils openssl"
bench="wrk curl"

want="$build"
for set in "$@"; do
	case "$set" in
	build) ;;
	test) want="$want $test" ;;
	bench) want="$want $bench" ;;
	*) echo "deps.sh: unknown set $set" >&2; exit 2 ;;
	esac
done
# Node.js for the browser tests: use the machine's if it has one, else Debian's
case " $* " in
*" test "*) command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || want="$want nodejs npm" ;;
esac

missing=""
for p in $want; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "Installing missing packages:$missing"
sudo=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "deps.sh: need root or sudo to install:$missing" >&2; exit 1; }
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q || true
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing
