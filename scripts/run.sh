#!/usr/bin/env bash
# Installs what is missing, builds codevd and runs it on its embedded
# defaults: port 8080, data under ./data, the web client at /.
# Extra arguments go to codevd (e.g. --port 9000, --config config/codevd.conf).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh run
[ -f build/build.ninja ] || meson setup build
ninja -C build
exec build/src/codevd "$@"
