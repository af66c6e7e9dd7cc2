#!/usr/bin/env bash
# Builds codevd and runs every test; every test case counts. The last line
# is "N passed, N failed" and the exit status is non-zero on any failure.
#
# Suites (SUITES="unit proto integration" to choose):
#   unit         cmocka unit tests of every module
#   proto        schemas, examples and the README tables (node --test)
#   integration  real WebSocket clients against a real codevd (node --test)
#   poll         core integration scenarios again on the poll() event loop
#   browser      headless Chromium against a real codevd (node --test)
#   pg           the store on PostgreSQL (tests/lib/pg.mjs starts a server
#                of its own from Debian's postgresql package, as nobody, on
#                a loopback port, and removes it): the store's unit tests
#                (test_store with CODEVD_TEST_PG_DSN), the store's
#                integration files with store = postgresql (PG_INTEGRATION
#                below), and tests/pg/ (PostgreSQL stopped mid-session)
#   cluster      several codevd nodes on one PostgreSQL (tests/cluster/):
#                leases, fencing (SIGSTOP), three nodes behind nginx with
#                config/nginx/cluster.conf and a kill -9 mid-consultation
#   nginx        codevd behind Debian's nginx with config/nginx/codevd.conf
#                (tests/lib/nginx.mjs): tests/nginx/, and the five-browser
#                session test again through it over https (CODEVD_FRONT=nginx)
#   asan         unit + integration again, built with ASan + UBSan
#   valgrind     the core integration scenarios with codevd under valgrind
#   soak         tests/load/soak.sh --ci: 2,000 connections in 250 rooms
#                running whole sessions for 3 minutes, churn and one kill -9
#                (each integrity, progress, RSS and descriptor check counts)
#
# poll, valgrind and asan are meson test setups (the root meson.build says
# what each wraps; tests/asan.ini is the native file of the ASan build dir):
# this script runs them with meson test and counts their cases as it counts
# the others.
#   fuzz         the libFuzzer harness for FUZZ_SECONDS (default 60)
#   lint         clang-format and cppcheck on src/
#   deb          tests/deploy/deb.sh: the Debian package built (debian/),
#                lintian, systemd-analyze, installed, run as the codevd
#                user for one session, purged (needs root)
#   fresh        scripts/fresh-check.sh: both README commands in a new
#                Debian 12 root (debootstrap); first in CI (.ci/run sets
#                CODEVD_FRESH_SUITE=1), never inside that root itself
#
#   BUILD_DIR=build-x tests/run-all.sh   # another build dir for the main build
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
builddir=${BUILD_DIR:-build}
default_suites="unit proto integration pg cluster poll browser nginx asan valgrind fuzz soak lint deb"
if [ "${CODEVD_FRESH_SUITE:-0}" = 1 ] && [ "${CODEVD_FRESH_ROOT:-0}" != 1 ]; then
    default_suites="fresh $default_suites"
fi
suites=${SUITES:-$default_suites}
passed=0
failed=0
log_dir="$root/test-output/logs"
mkdir -p "$log_dir"

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

# build DIR [meson setup options...]: configures (once) and builds; counts a
# failure. The options only apply when the dir is new.
build() {
    local dir=$1
    shift
    local how=(setup "$dir" -Dtests=enabled "$@")
    # A build dir that scripts/run.sh made has the tests off: turn them on.
    [ -f "$dir/build.ninja" ] && how=(configure "$dir" -Dtests=enabled)
    meson "${how[@]}" >"$log_dir/setup-$(basename "$dir").log" 2>&1 ||
        { cat "$log_dir/setup-$(basename "$dir").log"; return 1; }
    ninja -C "$dir" >"$log_dir/build-$(basename "$dir").log" 2>&1 ||
        { cat "$log_dir/build-$(basename "$dir").log"; return 1; }
}

if ! build "$builddir"; then
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
    # A TAP "not ok N # SKIP" is a skipped case, not a failure (cmocka's
    # skip(): test_store's SQLite-only case in the pg suite).
    notok=$(grep -E '^\s*not ok [0-9]+' "$file" | grep -cv '# SKIP' || true)
    passed=$((passed + ok))
    failed=$((failed + notok))
}

# unit_suite BUILD_DIR LABEL: every cmocka executable, TAP output.
unit_suite() {
    local dir=$1 label=$2 t name out rc before
    for t in "$dir"/tests/unit/test_*; do
        [ -f "$t" ] && [ -x "$t" ] || continue
        name=$(basename "$t")
        out="$log_dir/$label-$name.tap"
        (cd tests/unit && CMOCKA_MESSAGE_OUTPUT=TAP "$root/$t") >"$out" 2>&1
        rc=$?
        before=$failed
        count_tap "$out"
        if [ $rc -ne 0 ] && [ $failed -eq $before ]; then
            echo "$label/$name exited with $rc without a failing case (crash or sanitizer report)"
            failed=$((failed + 1))
        fi
        if [ $failed -ne $before ] || [ $rc -ne 0 ]; then grep -vE '^\s*ok ' "$out" | head -80; fi
        echo "$label/$name: $(grep -cE '^\s*ok ' "$out") ok"
    done
}

# node_suite LABEL BIN FILES...: node --test with TAP; "# pass"/"# fail" counted.
# node_wrap: a command to run node --test under (the pg suite's server).
node_wrap=()
node_suite() {
    local label=$1 bin=$2 out rc p f
    shift 2
    out="$log_dir/$label.tap"
    CODEVD_BIN="$bin" "${node_wrap[@]}" node --test --test-reporter=tap \
        --test-concurrency="${TEST_CONCURRENCY:-1}" "$@" >"$out" 2>&1
    rc=$?
    p=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$out" | tail -1)
    f=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$out" | tail -1)
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
        echo "$label: node --test exited with $rc"
        failed=$((failed + 1))
    fi
    if [ "${f:-0}" -ne 0 ] || [ $rc -ne 0 ]; then
        grep -E -B2 -A30 '^\s*not ok' "$out" | head -200
    fi
    echo "$label: ${p:-0} passed, ${f:-0} failed"
}

# meson_suite DIR SETUP LABEL SUITE...: meson test with that test setup of
# the root meson.build, one test at a time; then each test's output is
# counted as above: a node suite by its "# pass"/"# fail" lines, a unit test
# by its TAP lines, and a test that failed without a failing case (a crash,
# a sanitizer report, a server that did not exit cleanly) counts one more.
meson_suite() {
    local dir=$1 setup=$2 label=$3 args=() s name result out before p f
    shift 3
    for s in "$@"; do args+=(--suite "$s"); done
    rm -f "$dir/meson-logs/testlog-$setup.json"
    meson test -C "$dir" --no-rebuild --num-processes 1 --setup "$setup" "${args[@]}" \
        >"$log_dir/$label-meson.log" 2>&1
    # One line per test: its name and result; its output goes to a file.
    if ! node -e '
        const fs = require("fs");
        const [log, prefix] = process.argv.slice(1);
        for (const line of fs.readFileSync(log, "utf8").split("\n").filter(Boolean)) {
            const t = JSON.parse(line), name = t.name.replace(/^.* \/ /, ""); /* "codevd:unit / clock" */
            fs.writeFileSync(`${prefix}-${name}.tap`, t.stdout || "");
            console.log(`${name} ${t.result}`);
        }' "$dir/meson-logs/testlog-$setup.json" "$log_dir/$label" >"$log_dir/$label-results" 2>&1 ||
        [ ! -s "$log_dir/$label-results" ]; then
        tail -40 "$log_dir/$label-meson.log"
        echo "$label: meson test ran nothing"
        failed=$((failed + 1))
        return
    fi
    while read -r name result; do
        out="$log_dir/$label-$name.tap"
        before=$failed
        if grep -qE '^# pass [0-9]+$' "$out"; then
            p=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$out" | tail -1)
            f=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$out" | tail -1)
            passed=$((passed + p))
            failed=$((failed + ${f:-0}))
            [ $failed -ne $before ] && grep -E -B2 -A30 '^\s*not ok' "$out" | head -200
            echo "$label/$name: $p passed, ${f:-0} failed"
        else
            count_tap "$out"
            [ $failed -ne $before ] && grep -vE '^\s*ok ' "$out" | head -80
            echo "$label/$name: $(grep -cE '^\s*ok ' "$out") ok"
        fi
        if [ "$result" != OK ] && [ $failed -eq $before ]; then
            tail -60 "$out"
            echo "$label/$name: $result without a failing case (crash, sanitizer or valgrind report)"
            failed=$((failed + 1))
        fi
    done <"$log_dir/$label-results"
}

for suite in $suites; do
    case $suite in
    unit)
        unit_suite "$builddir" unit
        ;;
    proto | integration | browser)
        ls tests/"$suite"/*.test.mjs >/dev/null 2>&1 || continue
        node_suite "$suite" "$root/$builddir/src/codevd" tests/"$suite"/*.test.mjs
        ;;
    pg)
        # Every integration file but those that read codevd.db's bytes or
        # files (retention, settings, strangers, group-life, advice, backup:
        # the unit tests check retention on PostgreSQL with a query, pg_stats
        # and VACUUM FULL) or fill a disk (seen-survives, metrics' /readyz:
        # tests/pg/outage is their PostgreSQL twin).
        if ! [ -f "$builddir/src/store_pg.c.o" ] && ! grep -q "CODEVD_HAVE_POSTGRESQL 1" "$builddir/codevd_config.h"; then
            echo "pg: codevd was built without libpq (Debian libpq-dev)"
            failed=$((failed + 1))
            continue
        fi
        out="$log_dir/pg-test_store.tap"
        (cd tests/unit && CMOCKA_MESSAGE_OUTPUT=TAP node ../lib/pg.mjs "$root/$builddir/tests/unit/test_store") >"$out" 2>&1
        rc=$?
        before=$failed
        count_tap "$out"
        if [ $rc -ne 0 ] && [ $failed -eq $before ]; then failed=$((failed + 1)); tail -20 "$out"; fi
        [ $failed -ne $before ] && grep -vE '^\s*ok ' "$out" | head -80
        echo "pg/test_store: $(grep -cE '^\s*ok ' "$out") ok"
        pg_files=()
        for f in ${PG_INTEGRATION:-durability continuity closed-room exports complete-session idempotence reconnect drain synth12 floor cofacilitator room12 reload display rights rules-errors visibility http-api client-muted ticks plans-memory export-offload server-lifecycle hostile-memory bad-frames bad-inputs-catalogue hardening limits hostile-edge static-files frame-ancestors proxies}; do
            pg_files+=("tests/integration/$f.test.mjs")
        done
        node_wrap=(node tests/lib/pg.mjs)
        node_suite pg "$root/$builddir/src/codevd" "${pg_files[@]}" tests/pg/*.test.mjs
        node_wrap=()
        ;;
    cluster)
        # Each file starts its own PostgreSQL (tests/lib/pg.mjs), nodes and
        # nginx.
        node_suite cluster "$root/$builddir/src/codevd" tests/cluster/*.test.mjs
        ;;
    nginx)
        # One nginx per file, in front of its codevd; the session test's
        # startBackend() puts it there when CODEVD_FRONT=nginx.
        CODEVD_FRONT=nginx node_suite nginx "$root/$builddir/src/codevd" tests/nginx/*.test.mjs \
            tests/browser/session.test.mjs
        ;;
    asan)
        # The same unit and integration tests, built with ASan + UBSan.
        if build build-asan --native-file tests/asan.ini; then
            meson_suite build-asan asan asan unit integration
        else
            failed=$((failed + 1))
        fi
        ;;
    poll)
        # The poll() fallback (no libuv plugin): the scenarios that exercise
        # the loop most.
        meson_suite "$builddir" poll poll loop
        ;;
    valgrind)
        # codevd under valgrind for the core scenarios.
        meson_suite "$builddir" valgrind valgrind core
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
            echo "fuzz: FAILED ($(grep -E '^fuzz: ' "$out" | tail -1 | sed 's/^fuzz: //'))"
        fi
        ;;
    soak)
        # tests/load/soak.sh --ci; its TAP lines count, and a run that
        # stopped without a failing line counts one failure.
        out="$log_dir/soak.tap"
        BUILD="$root/$builddir" tests/load/soak.sh --ci >"$out" 2>"$log_dir/soak.log"
        rc=$?
        before=$failed
        count_tap "$out"
        if [ $rc -ne 0 ] && [ $failed -eq $before ]; then
            echo "soak: tests/load/soak.sh exited with $rc without a failing check"
            tail -20 "$log_dir/soak.log"
            failed=$((failed + 1))
        fi
        # The table, the counts and any failing check.
        grep -vE '^(ok [0-9]|1\.\.|soak: [0-9]+ passed)' "$out"
        echo "soak: $(grep -cE '^ok [0-9]' "$out") passed, $(grep -cE '^not ok [0-9]' "$out") failed"
        ;;
    lint)
        # Two tests: the format of every C file, and cppcheck on src/.
        c_files=(src/*.[ch] tests/unit/*.c tests/fuzz/*.c tests/load/*.c)
        if clang-format --dry-run --Werror "${c_files[@]}" >"$log_dir/format.log" 2>&1; then
            passed=$((passed + 1))
            echo "lint/clang-format: ok"
        else
            failed=$((failed + 1))
            head -40 "$log_dir/format.log"
            echo "lint/clang-format: FAILED (clang-format -i ${c_files[*]})"
        fi
        if cppcheck --quiet --error-exitcode=1 --inline-suppr --enable=warning,portability,performance \
            --std=c11 -D__GNUC__ -Isrc -I"$builddir" src/ >"$log_dir/cppcheck.log" 2>&1; then
            passed=$((passed + 1))
            echo "lint/cppcheck: ok"
        else
            failed=$((failed + 1))
            head -40 "$log_dir/cppcheck.log"
            echo "lint/cppcheck: FAILED"
        fi
        ;;
    deb)
        # The package's checks, one test each, and its session's node tests.
        out="$log_dir/deb.log"
        # It installs a package: root, or sudo without a password.
        as_root=()
        [ "$(id -u)" -eq 0 ] || ! sudo -n true 2>/dev/null || as_root=(sudo -n)
        "${as_root[@]}" bash tests/deploy/deb.sh >"$out" 2>&1
        rc=$?
        line=$(tail -1 "$out")
        p=$(echo "$line" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1/p')
        f=$(echo "$line" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\2/p')
        [ -n "$p" ] || { p=0; f=1; }
        [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
        passed=$((passed + p))
        failed=$((failed + f))
        grep -E '^deb: ' "$out"
        [ "$f" -ne 0 ] && { grep -vE '^deb: ' "$out" | tail -60; echo "deb: (whole log: $out)"; }
        echo "deb: $p passed, $f failed"
        ;;
    fresh)
        # Both README commands on a new Debian 12 root; its inner counts add
        # to ours (they are tests that ran), plus one for run.sh.
        out="$log_dir/fresh.log"
        bash scripts/fresh-check.sh >"$out" 2>&1
        rc=$?
        line=$(tail -1 "$out")
        p=$(echo "$line" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1/p')
        f=$(echo "$line" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\2/p')
        [ -n "$p" ] || { p=0; f=1; }
        [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
        passed=$((passed + p))
        failed=$((failed + f))
        [ "$f" -ne 0 ] && tail -80 "$out"
        grep -E '^fresh: ' "$out"
        echo "fresh: $p passed, $f failed"
        ;;
    *)
        echo "unknown suite $suite"
        failed=$((failed + 1))
        ;;
    esac
done
finish
