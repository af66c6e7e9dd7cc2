#!/usr/bin/env bash
# Proves the README's two commands on a fresh Debian 12 machine.
#
# Builds a minimal Debian 12 root (debootstrap --variant=minbase bookworm) in
# a temporary directory, copies in this checkout (tracked files and local
# changes, no build output), ../shared when it exists, the host's CA bundle
# and the CA-related environment variables, mounts /proc, /sys, /dev and
# /dev/shm, and inside it, with a clean environment:
#   1. scripts/run.sh --port N  must answer /api/health (the first command);
#   2. bash .ci/run             must end "N passed, 0 failed" (the second).
# Everything is unmounted and removed on exit, also on failure or interrupt.
# The last line is "N passed, N failed": the inner run's counts plus one for
# the run.sh check.
#
#   scripts/fresh-check.sh                    # needs root and debootstrap
#   FRESH_ROOT_CACHE=/var/cache/codevd-fresh scripts/fresh-check.sh
#
# FRESH_ROOT_CACHE keeps a tarball of the bare minbase root (no package of
# ours installed) between runs, so only debootstrap itself is skipped: the
# project's own install steps always run on a root that never saw them.
# FRESH_KEEP=1 leaves the root in place for a look after the run.
set -uo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
suite="bookworm"
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
port=${FRESH_PORT:-18080}

fail() {
    echo "fresh: $*"
    echo "0 passed, 1 failed"
    exit 1
}

[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot and mounts)"
if ! command -v debootstrap >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap \
        >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; } ||
        fail "cannot install debootstrap"
fi

work=$(mktemp -d /var/tmp/codevd-fresh.XXXXXX) || fail "mktemp"
root="$work/root"
# Logs stay after the root is gone: debootstrap, run.sh, the inner .ci/run.
logs=${FRESH_LOGS:-$src/test-output/fresh}
mkdir -p "$logs"
mounted=()

cleanup() {
    local i
    # Processes left inside (run.sh's server, a stuck test) hold the mounts.
    for pid in $(ls /proc | grep -E '^[0-9]+$'); do
        [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$root" ] && kill -9 "$pid" 2>/dev/null
    done
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount -l "${mounted[$i]}" 2>/dev/null
    done
    if [ "${FRESH_KEEP:-0}" = 1 ]; then
        echo "fresh: root kept at $root"
    else
        # Only after every mount is gone: never remove through a bind mount.
        if ! grep -q " $work/" /proc/mounts; then rm -rf "$work"; fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. The bare root: debootstrap, or the cached tarball of an earlier one.
cache=${FRESH_ROOT_CACHE:-}
started=$(date +%s)
if [ -n "$cache" ] && [ -f "$cache/minbase-$suite.tar" ]; then
    mkdir -p "$root" && tar -C "$root" -xf "$cache/minbase-$suite.tar" || fail "cannot unpack the cached root"
    echo "fresh: minbase root from $cache"
else
    debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$logs/debootstrap.log" 2>&1 ||
        { tail -20 "$logs/debootstrap.log"; fail "debootstrap failed"; }
    if [ -n "$cache" ]; then
        mkdir -p "$cache" && tar -C "$root" -cf "$cache/minbase-$suite.tar.tmp" . &&
            mv "$cache/minbase-$suite.tar.tmp" "$cache/minbase-$suite.tar"
    fi
    echo "fresh: debootstrap took $(($(date +%s) - started)) s"
fi
# The same package sources as a fresh Debian 12 install (main, updates, security).
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${FRESH_SECURITY_MIRROR:-http://deb.debian.org/debian-security} $suite-security main
EOF

# 2. The machine's certificate authorities and how programs find them.
ca_env=()
for var in NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE REQUESTS_CA_BUNDLE \
    GIT_SSL_CAINFO NPM_CONFIG_CAFILE npm_config_cafile; do
    val=${!var:-}
    [ -n "$val" ] || continue
    ca_env+=("$var=$val")
    if [ -f "$val" ]; then
        mkdir -p "$root$(dirname "$val")" && cp -L "$val" "$root$val"
    elif [ -d "$val" ]; then
        mkdir -p "$root$val" && cp -rL "$val/." "$root$val/" 2>/dev/null
    fi
done
# The machine's own authorities too, where Debian's ca-certificates looks
# for local ones: installing that package inside regenerates the bundle, and
# it must not drop them (Node 22 reads only the bundle, not the hashed dir).
if [ -d /usr/local/share/ca-certificates ]; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp -rL /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi
if [ -f /etc/ssl/certs/ca-certificates.crt ] && [ ! -f "$root/etc/ssl/certs/ca-certificates.crt" ]; then
    mkdir -p "$root/etc/ssl/certs" && cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
fi
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null
cp -L /etc/hosts "$root/etc/hosts" 2>/dev/null

# 3. The checkout as a clone would have it (tracked and modified files, not
# build output or node_modules), and the shared folder beside it.
mkdir -p "$root/work/main"
git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf - | tar -C "$root/work/main" -xf - || fail "cannot copy the checkout"
[ -d "$src/.git" ] && cp -a "$src/.git" "$root/work/main/.git"
[ -d "$src/../shared" ] && cp -a "$src/../shared" "$root/work/shared"

# 4. Mounts, undone by cleanup. The root first, onto itself: / is then a
# mount point inside, as on a real machine (tests/deploy/deb.sh makes a
# read-only copy of it in a mount namespace of its own).
mount --bind "$root" "$root" || fail "cannot bind-mount the root onto itself"
mounted+=("$root")
for m in proc sys dev dev/shm; do
    mkdir -p "$root/$m"
    case $m in
    proc) mount -t proc proc "$root/proc" ;;
    sys) mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys" ;;
    dev) mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" ;;
    dev/shm) mount -t tmpfs -o mode=1777 shm "$root/dev/shm" ;;
    esac || fail "cannot mount $m"
    mounted+=("$root/$m")
done

inner_env=(env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    LANG=C.UTF-8 TERM=dumb CI=true CODEVD_FRESH_ROOT=1 "${ca_env[@]}")
[ -n "${FUZZ_SECONDS:-}" ] && inner_env+=("FUZZ_SECONDS=$FUZZ_SECONDS")

# 5. The first README command: run.sh installs, builds and serves.
run_ok=0
echo "fresh: scripts/run.sh --port $port"
chroot "$root" "${inner_env[@]}" bash -c "cd /work/main && exec scripts/run.sh --port $port" \
    >"$logs/run.log" 2>&1 &
run_pid=$!
deadline=$(($(date +%s) + ${FRESH_RUN_TIMEOUT:-1200}))
while kill -0 "$run_pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET /api/health HTTP/1.0\r\n\r\n' >&3 &&
        head -1 <&3) 2>/dev/null | grep -q ' 200'; then
        run_ok=1
        break
    fi
    sleep 1
done
kill -TERM "$run_pid" 2>/dev/null
wait "$run_pid" 2>/dev/null
if [ $run_ok -eq 1 ]; then
    echo "fresh: run.sh answered /api/health on port $port ($(($(date +%s) - started)) s)"
else
    tail -30 "$logs/run.log"
    echo "fresh: (whole log: $logs/run.log)"
    echo "fresh: run.sh never answered /api/health on port $port"
fi

# 6. The second README command, exactly as CI runs it.
echo "fresh: bash .ci/run"
chroot "$root" "${inner_env[@]}" bash -c "cd /work/main && exec bash .ci/run" 2>&1 | tee "$logs/ci.log" |
    grep -E '^(fresh|unit|proto|integration|poll|browser|asan|valgrind|fuzz|lint|deb|setup|install)[^ ]*:|passed, .* failed$|^installing'
ci_rc=${PIPESTATUS[0]}
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$logs/ci.log" | tail -1)
inner_passed=$(echo "$summary" | sed -nE 's/^([0-9]+) passed.*/\1/p')
inner_failed=$(echo "$summary" | sed -nE 's/.* ([0-9]+) failed$/\1/p')
if [ -z "$summary" ]; then
    tail -40 "$logs/ci.log"
    echo "fresh: (whole log: $logs/ci.log)"
    echo "fresh: .ci/run printed no summary (exit $ci_rc)"
    inner_passed=0
    inner_failed=1
elif [ "$ci_rc" -ne 0 ] && [ "${inner_failed:-0}" -eq 0 ]; then
    echo "fresh: .ci/run exited $ci_rc with no failing test"
    inner_failed=1
fi
echo "fresh: whole check took $(($(date +%s) - started)) s"
echo "$((inner_passed + run_ok)) passed, $((inner_failed + 1 - run_ok)) failed"
[ "$inner_failed" -eq 0 ] && [ $run_ok -eq 1 ]
