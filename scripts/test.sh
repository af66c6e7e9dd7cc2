#!/usr/bin/env bash
# Installs what is missing (Debian packages, npm packages, chromium), builds
# codevd and runs every test. Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh test || { echo "0 passed, 1 failed"; exit 1; }
exec bash tests/run-all.sh "$@"
