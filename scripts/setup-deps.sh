#!/usr/bin/env bash
# Installs the Debian packages codevd needs to build, test and run, only
# those that are missing. Needs root (or sudo). Browser tests need chromium;
# set CODEVD_NO_BROWSER=1 to skip it.
set -euo pipefail
pkgs=(build-essential meson ninja-build pkg-config libwebsockets-dev libjansson-dev
      uuid-dev libssl-dev libsqlite3-dev libcmocka-dev clang clang-format cppcheck valgrind
      libwebsockets-evlib-uv libuv1-dev)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)
[ "${CODEVD_NO_BROWSER:-0}" = 1 ] || pkgs+=(chromium)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
