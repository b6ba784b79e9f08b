#!/bin/sh
# Install the Debian packages Hotline needs, only those that are missing.
#
#   deploy/deps.sh                 build + test packages (developer machine, CI)
#   deploy/deps.sh --build-only    what `make all` needs (Docker build stage)
#   deploy/deps.sh --runtime-only  shared libraries the binaries load (runtime image)
#   deploy/deps.sh --list          print the selected package names and exit
#
# Quiet and idempotent: checks with dpkg-query first and runs apt-get update +
# install only when something is missing; prints one line naming what it
# installed, or nothing. Runs as root, or through sudo when not root.
# Packages are installed with --no-install-recommends: every list below is
# complete on its own.
set -eu

BUILD_PKGS="build-essential pkg-config libczmq-dev libzmq3-dev protobuf-c-compiler
  libprotobuf-c-dev libsqlite3-dev sqlite3 libcurl4-openssl-dev libjansson-dev
  libmicrohttpd-dev libcmocka-dev libsodium-dev liboath-dev"
TEST_PKGS="python3 python3-zmq python3-aiosmtpd python3-pytest python3-yaml
  iproute2 valgrind clang libclang-rt-14-dev curl debootstrap
  chromium chromium-driver python3-selenium python3-lxml libjs-leaflet libjs-chart.js tzdata"
RUNTIME_PKGS="libczmq4 libzmq5 libprotobuf-c1 libsqlite3-0 libcurl4 libjansson4
  libmicrohttpd12 libsodium23 liboath0 tzdata ca-certificates
  libjs-leaflet libjs-chart.js"

mode=all
list=0
for arg in "$@"; do
    case "$arg" in
        --build-only)   mode=build ;;
        --runtime-only) mode=runtime ;;
        --test-only)    mode="test" ;;
        --all)          mode=all ;;
        --list)         list=1 ;;
        -h|--help)      sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "deps.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
    esac
done

case "$mode" in
    build)   want="$BUILD_PKGS" ;;
    runtime) want="$RUNTIME_PKGS" ;;
    test)    want="$TEST_PKGS" ;;
    all)     want="$BUILD_PKGS $TEST_PKGS" ;;
esac

if [ "$list" = 1 ]; then
    # shellcheck disable=SC2086  # one line, words joined
    echo $want
    exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps.sh: dpkg-query not found: this script supports Debian (bookworm) only" >&2
    exit 1
fi

missing=""
for p in $want; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps.sh: missing packages:$missing; run as root (no sudo found)" >&2
    exit 1
fi

log=$(mktemp "${TMPDIR:-/tmp}/hotline-deps.XXXXXX")
trap 'rm -f "$log"' EXIT
# Wait for another apt/dpkg (a second session, unattended-upgrades) instead of failing.
APT_OPTS="-q -y -o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0"
# shellcheck disable=SC2086  # $APT_OPTS and $missing are word lists
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get $APT_OPTS update >"$log" 2>&1 ||
   ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get $APT_OPTS install \
        --no-install-recommends $missing >>"$log" 2>&1; then
    cat "$log" >&2
    echo "deps.sh: failed to install:$missing" >&2
    exit 1
fi
echo "deps.sh: installed$missing"
