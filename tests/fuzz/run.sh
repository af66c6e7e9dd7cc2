#!/usr/bin/env bash
# Builds the libFuzzer harness with clang (ASan + UBSan) and runs it for a
# bounded time on the committed corpus. Exits non-zero on any crash.
#
#   tests/fuzz/run.sh [SECONDS]      (default 60; FUZZ_RUNS=N to bound by runs)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-${FUZZ_SECONDS:-60}}
out=${FUZZ_OUT:-build-fuzz}
mkdir -p "$out/corpus" "$out/artifacts"
printf '#define CODEVD_VERSION "fuzz"\n' >"$out/codevd_config.h"
clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$out" -Isrc \
    tests/fuzz/fuzz_room.c src/room.c src/rules.c src/clock.c src/errors.c \
    src/protocol.c src/hub.c src/auth.c \
    $(pkg-config --cflags --libs jansson openssl uuid) -o "$out/fuzz_room"
args=(-max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048
      -artifact_prefix="$out/artifacts/" -print_final_stats=1)
[ -n "${FUZZ_RUNS:-}" ] && args+=(-runs="$FUZZ_RUNS")
exec "$out/fuzz_room" "${args[@]}" "$out/corpus" tests/fuzz/corpus
