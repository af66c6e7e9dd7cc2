#!/usr/bin/env bash
# Builds codevd and runs every test: unit (cmocka), protocol/integration and
# browser (node --test against the real server). Every test case counts; the
# last line is "N passed, N failed" and the exit status is non-zero on any
# failure.
#
#   tests/run-all.sh                 # everything
#   SUITES="unit integration" tests/run-all.sh
#   BUILD_DIR=build-asan tests/run-all.sh
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
builddir=${BUILD_DIR:-build}
suites=${SUITES:-unit proto integration browser fuzz}
passed=0
failed=0
log_dir="$root/test-output/logs"
mkdir -p "$log_dir"

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

if [ ! -f "$builddir/build.ninja" ]; then
    meson setup "$builddir" -Dtests=enabled >"$log_dir/meson-setup.log" 2>&1 ||
        { cat "$log_dir/meson-setup.log"; failed=$((failed + 1)); finish; }
fi
if ! ninja -C "$builddir" >"$log_dir/build.log" 2>&1; then
    cat "$log_dir/build.log"
    failed=$((failed + 1))
    finish
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund >"$log_dir/npm.log" 2>&1 || { cat "$log_dir/npm.log"; failed=$((failed + 1)); finish; }
fi

# Counts TAP results in a file: adds to passed/failed.
count_tap() {
    local file=$1 ok notok
    ok=$(grep -cE '^\s*ok [0-9]+' "$file" || true)
    notok=$(grep -cE '^\s*not ok [0-9]+' "$file" || true)
    passed=$((passed + ok))
    failed=$((failed + notok))
}

for suite in $suites; do
    case $suite in
    unit)
        for t in "$builddir"/tests/unit/test_*; do
            [ -f "$t" ] && [ -x "$t" ] || continue
            name=$(basename "$t")
            out="$log_dir/$name.tap"
            (cd tests/unit && CMOCKA_MESSAGE_OUTPUT=TAP "$root/$t") >"$out" 2>&1
            rc=$?
            before=$failed
            count_tap "$out"
            if [ $rc -ne 0 ] && [ $failed -eq $before ]; then
                echo "$name exited with $rc without a failing case (crash?)"
                failed=$((failed + 1))
            fi
            if [ $failed -ne $before ] || [ $rc -ne 0 ]; then grep -vE '^\s*ok ' "$out"; fi
            echo "unit/$name: $(grep -cE '^\s*ok ' "$out") ok"
        done
        ;;
    proto | integration | browser)
        dir="tests/$suite"
        ls "$dir"/*.test.mjs >/dev/null 2>&1 || continue
        out="$log_dir/$suite.tap"
        CODEVD_BIN="$root/$builddir/src/codevd" node --test --test-reporter=tap \
            --test-concurrency="${TEST_CONCURRENCY:-1}" "$dir"/*.test.mjs >"$out" 2>&1
        rc=$?
        p=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$out" | tail -1)
        f=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$out" | tail -1)
        passed=$((passed + ${p:-0}))
        failed=$((failed + ${f:-0}))
        if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
            echo "$suite: node --test exited with $rc"
            failed=$((failed + 1))
        fi
        if [ "${f:-0}" -ne 0 ] || [ $rc -ne 0 ]; then
            grep -E -B2 -A30 '^\s*not ok' "$out" | head -200
        fi
        echo "$suite: ${p:-0} passed, ${f:-0} failed"
        ;;
    fuzz)
        # One test: the libFuzzer harness runs for FUZZ_SECONDS without a crash.
        out="$log_dir/fuzz.log"
        if FUZZ_OUT="$root/build-fuzz" tests/fuzz/run.sh "${FUZZ_SECONDS:-60}" >"$out" 2>&1; then
            passed=$((passed + 1))
            echo "fuzz: $(grep -E '^Done [0-9]+ runs' "$out") ok"
        else
            failed=$((failed + 1))
            tail -60 "$out"
            echo "fuzz: FAILED (crash input under build-fuzz/artifacts/)"
        fi
        ;;
    *)
        echo "unknown suite $suite"
        failed=$((failed + 1))
        ;;
    esac
done
finish
