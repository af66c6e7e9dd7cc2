#!/usr/bin/env bash
# Installs what codevd needs, only what is missing. Needs root (or sudo).
#
#   scripts/setup-deps.sh run     what building and serving need (scripts/run.sh)
#   scripts/setup-deps.sh [test]  that, and what every test needs (scripts/test.sh)
#
# CODEVD_NO_BROWSER=1 skips chromium (the browser suite then fails).
#
# Debian packages: the build (meson, ninja, the five libraries, zlib and
# brotli for the precompressed web client: codevd builds without
# libbrotli-dev and then serves gzip only), the tests
# (cmocka, clang with its compiler-rt for the libFuzzer/ASan harness,
# clang-format, cppcheck, valgrind, python3-icalendar: the iCalendar file's
# parser in tests/integration/group-life.test.mjs; python3 also makes the
# foreign database of tests/integration/backup.test.mjs; prometheus: its
# promtool checks the /metrics format in tests/integration/metrics.test.mjs),
# the libuv event loop, libsystemd-dev (sd_notify for the systemd unit;
# optional, codevd builds without it), the Debian package's test
# (tests/deploy/deb.sh: debhelper to build it, lintian, systemd for
# systemd-analyze; systemd need not run), nginx (the nginx suite runs codevd
# behind it, config/nginx/codevd.conf; it is only run by the tests, never
# started as a service), and chromium.
#
# Node.js: the integration and browser tests run on Node >= 20, because
# playwright-core (the browser driver) requires it and Debian 12's own nodejs
# is 18.19, past its end of life. When the `node` first on the PATH is older
# than 20 (or absent), Debian's nodejs and npm are installed for their npm,
# which then installs the official Node 22 build from the npm registry
# (`npm install -g node@22`, a registry package that ships the binary) into
# /usr/local/bin, ahead of /usr/bin on the PATH. The version is checked
# again afterwards: a machine where this did not work stops here, with the
# reason, instead of failing every browser test at import.
set -euo pipefail
node_major_min=20
node_install=node@22

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
apt_updated=0
apt_install() {
    [ $# -gt 0 ] || return 0
    echo "installing: $*"
    if [ $apt_updated -eq 0 ]; then
        $sudo apt-get update -qq
        apt_updated=1
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}
missing_of() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}

mode=${1:-test}
case $mode in run | test) ;; *) echo "usage: $0 [run|test]" >&2; exit 2 ;; esac
pkgs=(build-essential meson ninja-build pkg-config
      libwebsockets-dev libjansson-dev uuid-dev libssl-dev libsqlite3-dev
      libwebsockets-evlib-uv libuv1-dev zlib1g-dev libbrotli-dev libsystemd-dev)
if [ "$mode" = test ]; then
    pkgs+=(git ca-certificates openssl libcmocka-dev clang libclang-rt-14-dev clang-format
           cppcheck valgrind python3-icalendar prometheus nginx
           debhelper lintian systemd)
    [ "${CODEVD_NO_BROWSER:-0}" = 1 ] || pkgs+=(chromium)
fi
mapfile -t missing < <(missing_of "${pkgs[@]}")
apt_install "${missing[@]}"
[ "$mode" = test ] || exit 0

# node_major: the major version of the `node` first on the PATH, 0 if none.
node_major() {
    hash -r
    command -v node >/dev/null 2>&1 || { echo 0; return; }
    node -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0
}
if [ "$(node_major)" -lt $node_major_min ]; then
    echo "node: $(command -v node >/dev/null && node --version || echo none) on the PATH; need >= $node_major_min"
    if ! command -v npm >/dev/null 2>&1; then
        mapfile -t missing < <(missing_of nodejs npm)
        apt_install "${missing[@]}"
    fi
    echo "installing: $node_install from the npm registry"
    npm_log=$(mktemp)
    if ! $sudo npm install -g --no-audit --no-fund "$node_install" >"$npm_log" 2>&1; then
        cat "$npm_log" >&2
        rm -f "$npm_log"
        echo "node: npm install -g $node_install failed" >&2
        exit 1
    fi
    rm -f "$npm_log"
    if [ "$(node_major)" -lt $node_major_min ]; then
        echo "node: still $(node --version 2>/dev/null || echo none) first on the PATH ($(command -v node));" \
            "put Node >= $node_major_min first on the PATH" >&2
        exit 1
    fi
    echo "node: $(node --version) at $(command -v node)"
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "npm: not found next to node $(node --version)" >&2
    exit 1
fi
