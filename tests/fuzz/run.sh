#!/usr/bin/env bash
# Builds the libFuzzer harness with clang (ASan + UBSan) and runs it for a
# bounded time on the committed corpus. Exits non-zero on any crash, and
# says which happened: a build failure (e.g. clang without its compiler-rt,
# Debian's libclang-rt-14-dev) or a crash (the input is under artifacts/).
# The last line starting "fuzz: " names the outcome.
#
#   tests/fuzz/run.sh [SECONDS]      (default 60; FUZZ_RUNS=N to bound by runs)
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-${FUZZ_SECONDS:-60}}
out=${FUZZ_OUT:-build-fuzz}
mkdir -p "$out/corpus" "$out/artifacts"
printf '#define CODEVD_VERSION "fuzz"\n' >"$out/codevd_config.h"
if ! flags=$(pkg-config --cflags --libs jansson openssl uuid); then
    echo "fuzz: build failed (pkg-config: jansson, openssl or uuid missing)"
    exit 2
fi
# shellcheck disable=SC2086
if ! clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$out" -Isrc \
    tests/fuzz/fuzz_room.c src/room.c src/room_cards.c src/room_model.c src/room_floor.c src/advice.c src/rules.c src/clock.c src/errors.c \
    src/protocol.c src/json_flat.c src/hub.c src/hub_session.c src/hub_creator.c src/hub_life.c src/hub_settings.c src/ratelimit.c src/auth.c $flags -o "$out/fuzz_room"; then
    echo "fuzz: build failed (clang could not compile or link the harness; see above)"
    exit 2
fi
args=(-max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048
      -artifact_prefix="$out/artifacts/" -print_final_stats=1)
[ -n "${FUZZ_RUNS:-}" ] && args+=(-runs="$FUZZ_RUNS")
before=$(ls "$out/artifacts" | wc -l)
"$out/fuzz_room" "${args[@]}" "$out/corpus" tests/fuzz/corpus
rc=$?
if [ $rc -ne 0 ]; then
    new=$(ls -t "$out/artifacts" | head -1)
    if [ "$(ls "$out/artifacts" | wc -l)" -gt "$before" ]; then
        echo "fuzz: crash (exit $rc), input saved as $out/artifacts/$new"
    else
        echo "fuzz: the fuzzer exited $rc without saving a crash input"
    fi
    exit 1
fi
echo "fuzz: no crash in ${secs} s"
