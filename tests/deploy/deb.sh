#!/usr/bin/env bash
# The Debian package, built, checked, installed and run the way an operator
# would (issue 16, "Install and run the Debian way"). Each numbered check
# below is one test; the last line is "N passed, N failed" (tests/run-all.sh
# runs it as the `deb` suite and adds its counts).
#
#   1. dpkg-buildpackage -us -uc -b on a copy of this checkout (tracked and
#      modified files, as fresh-check.sh copies them) in a temporary dir;
#   2. lintian on the .changes: no error (its warnings are printed);
#   3. the package holds /usr/sbin/codevd, /etc/codevd/codevd.conf (a
#      conffile), the unit and the web client under /usr/share/codevd;
#   4. apt-get install ./codevd_*.deb;
#   5. the codevd system user and /var/lib/codevd (codevd's, 0700) exist;
#   6. systemd-analyze verify on the installed unit, and systemd-analyze
#      security --offline under an exposure threshold. Both work without
#      systemd as PID 1 (this machine and the fresh-machine root have none);
#      where systemd runs, the package's own start of the unit is checked
#      too (then stopped); elsewhere its Type=notify protocol is checked by
#      giving codevd a NOTIFY_SOCKET of ours (7, 10, 11);
#   7. /usr/sbin/codevd --config /etc/codevd/codevd.conf started as the
#      codevd user (setpriv: no capabilities, no new privileges), where the
#      machine allows it inside a mount namespace whose root is read-only
#      but for /var/lib/codevd (what ProtectSystem=strict + StateDirectory
#      give it); it sends READY=1 and answers /api/health;
#   8. tests/deploy/session.test.mjs: the packaged web client is served, and
#      one short session runs (its node tests count as tests);
#   9. `codevd check` and `codevd backup` as the codevd user on the live
#      database, and check of the backup;
#  10. WATCHDOG=1 arrives (WATCHDOG_USEC=1 s: a ping every half second);
#  11. SIGTERM: STOPPING=1, exit status 0;
#  12. apt-get purge codevd removes the binary, the unit and /etc/codevd, and
#      keeps /var/lib/codevd (the groups' data; the README says why).
# On exit (also on failure) the server is stopped, the package purged, and
# /var/lib/codevd and the codevd user removed when this script made them.
#
# Needs root (it installs a package), and refuses to run on a machine where
# codevd is installed or /var/lib/codevd exists: it would not touch an
# operator's install. Logs: test-output/deb/.
set -uo pipefail
cd "$(dirname "$0")/../.."
src=$(pwd)
logs="$src/test-output/deb"
mkdir -p "$logs"
passed=0
failed=0
pid=""
notify_pid=""
installed_here=0
user_made=0
dir_made=0
work=""

ok() {
    passed=$((passed + 1))
    echo "deb: $1: ok"
}
ko() {
    failed=$((failed + 1))
    echo "deb: $1: FAILED${2:+ ($2)}"
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    if [ -n "$notify_pid" ]; then
        kill "$notify_pid" 2>/dev/null
        wait "$notify_pid" 2>/dev/null
    fi
    if [ $installed_here -eq 1 ] && dpkg-query -W -f='${Status}' codevd 2>/dev/null | grep -q installed; then
        apt-get purge -y -qq codevd >>"$logs/purge.log" 2>&1
    fi
    [ $dir_made -eq 1 ] && rm -rf /var/lib/codevd
    [ $user_made -eq 1 ] && getent passwd codevd >/dev/null && userdel codevd 2>/dev/null
    [ $user_made -eq 1 ] && getent group codevd >/dev/null && groupdel codevd 2>/dev/null
    [ -n "$work" ] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" -ne 0 ]; then
    ko "setup" "needs root: it installs and purges the package"
    finish
fi
if dpkg-query -W -f='${Status}' codevd 2>/dev/null | grep -q "install ok"; then
    ko "setup" "codevd is installed on this machine: not touching an operator's install"
    finish
fi
if [ -e /var/lib/codevd ]; then
    ko "setup" "/var/lib/codevd exists: not touching an operator's data"
    finish
fi
for tool in dpkg-buildpackage lintian systemd-analyze setpriv python3 node; do
    command -v "$tool" >/dev/null 2>&1 || { ko "setup" "$tool not found (scripts/setup-deps.sh test installs it)"; finish; }
done
getent passwd codevd >/dev/null || user_made=1
dir_made=1
export DEBIAN_FRONTEND=noninteractive

work=$(mktemp -d /var/tmp/codevd-deb.XXXXXX) || { ko "setup" "mktemp"; finish; }
chmod 0711 "$work"
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
tree="$work/codevd-$version"
mkdir -p "$tree"
git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf - | tar -C "$tree" -xf - || { ko "setup" "cannot copy the checkout"; finish; }

# 1. Build.
started=$(date +%s)
if (cd "$tree" && nice dpkg-buildpackage -us -uc -b) >"$logs/build.log" 2>&1; then
    ok "dpkg-buildpackage -us -uc -b ($(($(date +%s) - started)) s)"
else
    tail -30 "$logs/build.log"
    ko "dpkg-buildpackage -us -uc -b" "log: $logs/build.log"
    finish
fi
deb=$(ls "$work"/codevd_"$version"_*.deb)

# 2. lintian: no error; warnings listed.
lintian --fail-on error --tag-display-limit 0 "$work"/codevd_"$version"_*.changes >"$logs/lintian.log" 2>&1
rc=$?
grep -E '^[EW]: ' "$logs/lintian.log" | sed 's/^/deb:   lintian /'
nw=$(grep -cE '^W: ' "$logs/lintian.log")
ne=$(grep -cE '^E: ' "$logs/lintian.log")
if [ $rc -eq 0 ] && [ "$ne" -eq 0 ]; then
    ok "lintian: 0 errors, $nw warnings"
else
    ko "lintian" "$ne errors, exit $rc"
fi

# 3. What the package holds.
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
conffiles=$(dpkg-deb -I "$deb" conffiles 2>/dev/null)
missing=""
for f in ./usr/sbin/codevd ./etc/codevd/codevd.conf ./lib/systemd/system/codevd.service \
    ./usr/share/codevd/web-client/index.html ./usr/share/codevd/web-client/i18n/fr.json \
    ./usr/share/man/man8/codevd.8.gz; do
    grep -qx "$f" <<<"$contents" || missing="$missing $f"
done
grep -qx /etc/codevd/codevd.conf <<<"$conffiles" || missing="$missing conffile:/etc/codevd/codevd.conf"
if [ -z "$missing" ]; then ok "package contents"; else ko "package contents" "missing:$missing"; fi

# 4. Install.
if apt-get install -y -qq "$deb" >"$logs/install.log" 2>&1; then
    installed_here=1
    ok "apt-get install ./$(basename "$deb")"
else
    tail -20 "$logs/install.log"
    ko "apt-get install" "log: $logs/install.log"
    finish
fi

# Where systemd runs (not here, not in the fresh-machine root), the
# package started the unit itself: it must be up (Type=notify: active only
# after READY=1); then it is stopped, to run codevd by hand below.
if [ -d /run/systemd/system ]; then
    for _ in $(seq 100); do systemctl is-active --quiet codevd && break; sleep 0.1; done
    if systemctl is-active --quiet codevd; then
        ok "systemd started codevd.service (READY=1 received)"
    else
        systemctl status codevd --no-pager 2>&1 | tail -20
        ko "codevd.service" "not active after install"
    fi
    systemctl stop codevd
fi

# 5. The user and the data dir.
why=""
getent passwd codevd >/dev/null || why="no codevd user"
[ "$(stat -c '%U %a' /var/lib/codevd 2>/dev/null)" = "codevd 700" ] ||
    why="$why /var/lib/codevd is $(stat -c '%U %a' /var/lib/codevd 2>&1)"
/usr/sbin/codevd --version >/dev/null || why="$why codevd --version failed"
grep -qx 'data_dir = /var/lib/codevd' /etc/codevd/codevd.conf || why="$why data_dir not set in the config"
if [ -z "$why" ]; then ok "codevd user, /var/lib/codevd 0700"; else ko "codevd user and data dir" "$why"; fi

# 6. The unit, checked offline.
if systemd-analyze verify --man=no /lib/systemd/system/codevd.service >"$logs/verify.log" 2>&1 &&
    ! grep -q . "$logs/verify.log"; then
    ok "systemd-analyze verify codevd.service"
else
    cat "$logs/verify.log"
    ko "systemd-analyze verify codevd.service"
fi
# Exposure 0 (locked down) .. 10 (unprotected); the threshold counts tenths.
systemd-analyze security --offline=true --threshold=25 /lib/systemd/system/codevd.service \
    >"$logs/security.log" 2>&1
rc=$?
exposure=$(sed -nE 's/.*Overall exposure level for codevd.service: ([0-9.]+).*/\1/p' "$logs/security.log")
if [ $rc -eq 0 ] && [ -n "$exposure" ]; then
    ok "systemd-analyze security: exposure $exposure (at most 2.5)"
else
    grep '✗' "$logs/security.log" | head -20
    ko "systemd-analyze security" "exposure ${exposure:-?}, exit $rc"
fi

# 7. Start the installed codevd as the codevd user, with a notify socket.
mkdir -m 0755 "$work/notify"
sock="$work/notify/sock"
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", " ") + "\n")
' "$sock" "$work/notify.log" &
notify_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_codevd=(setpriv --reuid=codevd --regid=codevd --init-groups --no-new-privs --inh-caps=-all
    --bounding-set=-all -- /usr/sbin/codevd --config /etc/codevd/codevd.conf --port "$port")
sandbox="as the codevd user"
if unshare --mount --propagation private true 2>/dev/null; then
    # The root read-only, /var/lib/codevd writable: what the unit gives it
    # (ProtectSystem=strict, StateDirectory=). A read-only copy of / (its
    # mounts too) with the data dir bound writable, and codevd chrooted in
    # it: this works also where / is not a mount point (the fresh-machine
    # root is a chroot).
    mkdir "$work/ro"
    env NOTIFY_SOCKET="$sock" WATCHDOG_USEC=1000000 unshare --mount --propagation private -- \
        sh -c 'r=$1; shift; mount --rbind / "$r" && mount --bind /var/lib/codevd "$r/var/lib/codevd" &&
            mount -o remount,bind,ro "$r" && cd / && exec chroot "$r" "$@"' \
        sh "$work/ro" "${as_codevd[@]}" >"$logs/codevd.log" 2>&1 &
    sandbox="as the codevd user, root file system read-only but /var/lib/codevd"
else
    echo "deb: (no read-only root here: unshare --mount is refused)"
    env NOTIFY_SOCKET="$sock" WATCHDOG_USEC=1000000 "${as_codevd[@]}" >"$logs/codevd.log" 2>&1 &
fi
pid=$!
healthy=0
for _ in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || break
    if (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET /api/health HTTP/1.0\r\n\r\n' >&3 &&
        head -1 <&3) 2>/dev/null | grep -q ' 200'; then
        healthy=1
        break
    fi
    sleep 0.1
done
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
if [ $healthy -eq 1 ] && grep -q 'READY=1' "$work/notify.log" && [ "$uid" = "$(id -u codevd)" ]; then
    ok "installed codevd started $sandbox: READY=1, /api/health 200"
else
    tail -20 "$logs/codevd.log"
    ko "installed codevd start" "healthy=$healthy uid=${uid:-gone} notify: $(tr '\n' '|' <"$work/notify.log")"
    finish
fi

# 8. One short session against it.
DEPLOY_URL="http://127.0.0.1:$port" timeout 300 node --test --test-reporter=tap tests/deploy/session.test.mjs \
    >"$logs/session.tap" 2>&1
rc=$?
p=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$logs/session.tap" | tail -1)
f=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$logs/session.tap" | tail -1)
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-0}))
if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ]; then failed=$((failed + 1)); fi
[ $rc -ne 0 ] && grep -E -A30 '^\s*not ok' "$logs/session.tap" | head -60
echo "deb: session: ${p:-0} passed, ${f:-0} failed"

# 9. The operator's commands, as the codevd user, on the live database.
install -d -o codevd -g codevd -m 0700 "$work/backups"
cmd=(runuser -u codevd -- /usr/sbin/codevd --config /etc/codevd/codevd.conf)
if "${cmd[@]}" check >"$logs/commands.log" 2>&1 &&
    "${cmd[@]}" backup "$work/backups/codevd.db" >>"$logs/commands.log" 2>&1 &&
    "${cmd[@]}" check "$work/backups/codevd.db" >>"$logs/commands.log" 2>&1; then
    ok "codevd check, backup, check of the backup (as codevd, server running)"
else
    cat "$logs/commands.log"
    ko "codevd check / backup as codevd"
fi

# 10. The watchdog: pings from the loop's timer.
for _ in $(seq 50); do grep -q 'WATCHDOG=1' "$work/notify.log" && break; sleep 0.1; done
if grep -q 'WATCHDOG=1' "$work/notify.log"; then
    ok "WATCHDOG=1 while WATCHDOG_USEC is set ($(grep -c 'WATCHDOG=1' "$work/notify.log") pings)"
else
    ko "watchdog" "no WATCHDOG=1 in 5 s"
fi

# 11. Stop.
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=""
for _ in $(seq 20); do grep -q 'STOPPING=1' "$work/notify.log" && break; sleep 0.05; done
if [ $rc -eq 0 ] && grep -q 'STOPPING=1' "$work/notify.log"; then
    ok "SIGTERM: STOPPING=1, exit 0"
else
    tail -20 "$logs/codevd.log"
    ko "stop" "exit $rc, notify: $(tr '\n' '|' <"$work/notify.log")"
fi

# 12. Purge.
if apt-get purge -y -qq codevd >"$logs/purge.log" 2>&1; then
    left=""
    for f in /usr/sbin/codevd /etc/codevd /lib/systemd/system/codevd.service /usr/share/codevd; do
        [ -e "$f" ] && left="$left $f"
    done
    [ -f /var/lib/codevd/codevd.db ] || left="$left (the data in /var/lib/codevd is gone)"
    if [ -z "$left" ]; then ok "apt-get purge codevd (the data in /var/lib/codevd kept)"; else ko "purge" "left:$left"; fi
else
    tail -20 "$logs/purge.log"
    ko "apt-get purge codevd"
fi
finish
