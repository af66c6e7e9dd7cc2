#!/bin/bash
# soak.sh - the soak of issue 16: a real codevd for SOAK_MIN minutes (30)
# under SOAK_CONNS connections (10,000) in SOAK_ROOMS rooms (1,250) running
# whole sessions in a loop, with SOAK_CHURN_PCT % (1) of the connections
# closed and reopened every minute and a kill -9 + restart every
# SOAK_KILL_EVERY_MIN minutes (10). Prints one table (RSS and descriptors of
# the server each minute), the integrity counts, and TAP lines; exits
# non-zero on any lost, duplicated, reordered or missing event, any refused
# command, RSS growth after warm-up over SOAK_RSS_GROWTH_PCT (5) %, or
# descriptors that grow. The driver is tests/load/soak.mjs (its header says
# what each count means); tests/load/README.md, "Soak", how to read it.
#
#   tests/load/soak.sh                  # 30 minutes, 10,000 connections
#   SOAK_MIN=10 SOAK_KILL_EVERY_MIN=5 tests/load/soak.sh
#   tests/load/soak.sh --ci             # the 3-minute version tests/run-all.sh runs
#
# Environment (defaults in brackets; --ci sets 3, 2000, 250, a kill at 1,
# warm-up 2 and pace 500 unless they are set):
#   SOAK_MIN [30]  SOAK_CONNS [10000]  SOAK_ROOMS [1250]
#   SOAK_KILL_EVERY_MIN [10] (0: no kill; a kill at the very end is skipped)
#   SOAK_KILL_AT_MIN (e.g. "1,2.5": kills at these minutes instead)
#   SOAK_WARMUP_MIN [7] (the RSS sample later ones are compared with)
#   SOAK_PACE_MS [3000] (mean pause between two commands of a room)
#   SOAK_CHURN_PCT [1]  SOAK_RSS_GROWTH_PCT [5]  SOAK_SRCS [4] (source
#   addresses 127.0.0.1..N)  SOAK_PORT [a free one]  SOAK_SET (more --set
#   key=value for codevd, space-separated)  SOAK_KEEP=1 (keep the data dir)
#   SOAK_FAULT=drop (the driver ignores one event: the run must fail)
#   CODEVD_BIN (default build/src/codevd, built here), BUILD (build dir)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-$root/build}

if [ "${1:-}" = --ci ]; then
    # 2,000 connections in 250 rooms for 3 minutes, one kill -9 at minute
    # 1, rooms twice as brisk (a command every 500 ms) so that the
    # restarted server has warmed up (its RSS levels off) by minute 2, the
    # RSS baseline.
    : "${SOAK_MIN:=3}" "${SOAK_CONNS:=2000}" "${SOAK_ROOMS:=250}"
    : "${SOAK_KILL_AT_MIN:=1}" "${SOAK_WARMUP_MIN:=2}" "${SOAK_PACE_MS:=500}"
    export SOAK_MIN SOAK_CONNS SOAK_ROOMS SOAK_KILL_AT_MIN SOAK_WARMUP_MIN SOAK_PACE_MS
elif [ $# -gt 0 ]; then
    echo "usage: $0 [--ci]" >&2
    exit 2
fi

if [ -z "${CODEVD_BIN:-}" ]; then
    [ -d "$build" ] || meson setup "$build" "$root" >/dev/null
    ninja -C "$build" src/codevd >/dev/null
    export CODEVD_BIN=$build/src/codevd
fi

# The server and the driver each hold one descriptor per connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need=$((${SOAK_CONNS:-10000} + 512))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need" ]; then
    echo "soak: the descriptor limit is $(ulimit -n), $need needed (raise the hard limit: ulimit -Hn)" >&2
    exit 2
fi

exec node "$here/soak.mjs"
