#!/bin/bash
# bench.sh - the benchmark of issue 6: builds codevd and codev-load, then for
# each scenario starts a fresh codevd pinned to CPU 0 (data in a temporary
# directory), runs codev-load pinned to CPU 1 against it, stops the server,
# and finally prints one summary table.
#
#   tests/load/bench.sh [label:rooms:rate[:seconds] ...]
#
# rate is cards per room per second. Without arguments the scenarios are the
# ones of issue 6 (1k, 10k nominal, 18k), then 18k near the most it carries
# within a 50 ms p99 on this 2-core machine (2.5 cards/room/s) and 18k
# saturated (8 cards/room/s, where batching shows).
# Environment: BUILD (build dir, default build), CODEVD (another codevd
# binary to measure, default $BUILD/src/codevd), PORT (18080), WARMUP (3),
# SECONDS_DEFAULT (15), IDLE (idle CPU sample before set-up, 5 s), SRCS
# (source addresses, 4), EXTRA (more codev-load options), SERVER_SET (more
# --set options for codevd), KEEP (keep the logs in /tmp/codev-bench.*),
# RPS=1 (root: steer loopback receive processing to CPU 1, see README).
#
#   tests/load/bench.sh --kit [run-peers.sh environment ...]
#
# runs the side-by-side kit instead (../shared/bench-peers: Node ws,
# Socket.IO and this codevd on the same workload and generator) with the
# limits codevd needs raised (tests/load/README.md). KIT (the kit's
# folder, default ../shared/bench-peers next to the repository), KIT_DIR (a
# writable copy to run it in, with its node_modules; default: a fresh copy
# under /tmp, npm ci done by the kit), PEERS (default "ws socketio codev"),
# "floor" is a peer too: tests/load/floor.c, the workload with no work but
# the sends (README, "The floor"). QUICK=1, OUT and the kit's other knobs
# pass through. The build is debugoptimized ($root/build-opt) unless BUILD
# says otherwise.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-$root/build}
port=${PORT:-18080}
warmup=${WARMUP:-3}
secs_default=${SECONDS_DEFAULT:-15}
idle=${IDLE:-5}
srcs=${SRCS:-4}

if [ "${1:-}" = --kit ]; then
    shift
    build=${BUILD:-$root/build-opt}
    if [ ! -d "$build" ]; then
        meson setup "$build" "$root" --buildtype=debugoptimized >/dev/null
    fi
    ninja -C "$build" src/codevd tests/load/floor >/dev/null
    kit=${KIT:-$root/../shared/bench-peers}
    [ -x "$kit/run-peers.sh" ] || kit=$root/../../shared/bench-peers
    [ -x "$kit/run-peers.sh" ] || { echo "bench.sh --kit: no run-peers.sh (set KIT)" >&2; exit 1; }
    kit_dir=${KIT_DIR:-}
    if [ -z "$kit_dir" ]; then
        # The shared kit is read-only: run a copy (results/ and node_modules
        # are written next to run-peers.sh).
        kit_dir=$(mktemp -d /tmp/codev-kit.XXXXXX)
        cp -r "$kit"/. "$kit_dir"/
    fi
    echo "bench.sh --kit: running $kit_dir/run-peers.sh with $build/src/codevd" >&2
    # The limits a 10,000-member, 1,250-group run from one address needs
    # (tests/load/README.md, "The side-by-side kit"); nothing else differs
    # from codevd's defaults.
    # "floor" (tests/load/floor.c) is the kit's ws-json workload with no
    # work but the sends: what the kernel alone charges any server here.
    PEER_CMD_floor=${PEER_CMD_floor:-$build/tests/load/floor} PEER_DIALECT_floor=ws-json \
    CODEVD=$build/src/codevd PEERS=${PEERS:-ws socketio codev} \
    CODEVD_SET=${CODEVD_SET:-"cards_per_step=10000 commands_per_sec=10000 commands_burst=10000 \
connections_per_ip=20000 unauth_per_ip=20000 http_anon_per_min=100000 \
http_create_per_min=100000 http_create_global_per_min=1000000 groups_per_ip=1000000 \
sessions_per_ip=1000000 room_items_max=1000000 room_member_share=1 \
group_journal_max_bytes=1073741824"} \
        exec "$kit_dir/run-peers.sh" "$@"
fi

if [ ! -d "$build" ]; then
    meson setup "$build" "$root" >/dev/null
fi
ninja -C "$build" src/codevd tests/load/codev-load >/dev/null
codevd=${CODEVD:-$build/src/codevd}

if [ $# -eq 0 ]; then
    set -- 1k:125:0.2 10k-nominal:1250:0.2 18k:2250:0.2 18k-2.5:2250:2.5 18k-8:2250:8
fi

# Both processes need one descriptor per connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work=$(mktemp -d /tmp/codev-bench.XXXXXX)
summaries=$work/summaries
: >"$summaries"
server_pid=

stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=
}
# On loopback the sender's send() also runs the receiver's TCP receive path
# (softirq on the sending CPU). RPS=1 queues that work to CPU 1, the
# generator's, as a network card would leave it to the receiving host.
rps_file=/sys/class/net/lo/queues/rx-0/rps_cpus
rps_saved=
restore_rps() {
    if [ -n "$rps_saved" ]; then echo "$rps_saved" >"$rps_file" 2>/dev/null || true; fi
}
if [ -n "${RPS:-}" ]; then
    rps_saved=$(cat "$rps_file")
    echo 2 >"$rps_file" || { echo "RPS=1: cannot write $rps_file (root?)" >&2; exit 1; }
fi
trap 'stop_server; restore_rps; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT INT TERM

# Waits for the listening socket without connecting to it (a probe would
# count as a connection in the server's log).
wait_port() {
    hex=$(printf ':%04X ' "$port")
    i=0
    while ! grep -q "$hex[0-9A-F:]* 0A " /proc/net/tcp /proc/net/tcp6 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 100 ] || { echo "codevd did not start" >&2; return 1; }
        sleep 0.1
    done
}

for sc in "$@"; do
    IFS=: read -r label rooms rate secs <<EOS
$sc
EOS
    secs=${secs:-$secs_default}
    data=$work/data-$label
    mkdir -p "$data"
    # shellcheck disable=SC2086
    taskset -c 0 "$codevd" --port "$port" --data-dir "$data" \
        --log-level warn \
        --set connections_max=19000 --set connections_per_ip=19000 \
        --set unauth_per_ip=19000 \
        --set cards_per_step=10000 --set http_anon_per_min=100000 \
        --set http_create_per_min=100000 --set http_create_global_per_min=1000000 \
        --set groups_per_ip=1000000 --set sessions_per_ip=1000000 ${SERVER_SET:-} \
        >"$work/server-$label.log" 2>&1 &
    server_pid=$!
    wait_port
    echo "== $label: $rooms rooms x 8, $rate cards/room/s, ${secs}s (server pid $server_pid)" >&2
    # shellcheck disable=SC2086
    taskset -c 1 "$build/tests/load/codev-load" --port "$port" --pid "$server_pid" \
        --rooms "$rooms" --rate "$rate" --warmup "$warmup" --seconds "$secs" \
        --idle "$idle" --srcs "$srcs" --label "$label" ${EXTRA:-} \
        >"$work/load-$label.log" 2>&1 || echo "codev-load failed, see $work/load-$label.log" >&2
    grep '^SUMMARY' "$work/load-$label.log" >>"$summaries" || true
    grep -v '^SUMMARY' "$work/load-$label.log" >&2 || true
    stop_server
done

# One table; each row is one scenario.
awk '
function v(k,   i, n, a) {
    for (i = 2; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == k) return substr($i, n + 1) }
    return "?"
}
BEGIN {
    printf "%-12s %6s %6s %9s %9s %7s %7s %8s %8s %8s %8s %7s %6s %6s %s\n",
        "scenario", "conns", "rate", "msgs/s", "events/s", "p50ms", "p99ms",
        "tickp99", "jitp99", "B/conn", "B/conn*", "srvCPU%", "idle%", "gen%", "lost/dup/ooo/miss/err"
}
{
    printf "%-12s %6s %6s %9s %9s %7s %7s %8s %8s %8s %8s %7s %6s %6s %s/%s/%s/%s/%s\n",
        v("label"), v("conns"), v("rate"), v("msgs_s"), v("events_s"), v("p50_ms"),
        v("p99_ms"), v("tick_delay_p99_ms"), v("tick_period_p99_ms"), v("rss_b_conn"),
        v("rss_delta_b_conn"), v("cpu"), v("idle_cpu"), v("gen_cpu"),
        v("lost"), v("dup"), v("ooo"), v("missing"), v("errors")
}
END {
    print "rate: cards/room/s. msgs/s: every server message delivered (events, ticks, acks, ...);"
    print "events/s: those with a seq. p50/p99: card post-to-receive latency at every receiver."
    print "tickp99: tick arrival - server_ms; jitp99: |tick interval - 1 s|. B/conn: server RSS"
    print "over the empty server per connection (rooms included); B/conn*: the connections alone."
    print "srvCPU%: server process (all threads) in the window, % of one core; idle%: no clients."
    if (rps) print "RPS=1: loopback receive processing steered to CPU 1 (the generator'"'"'s)."
}' rps="${RPS:-}" "$summaries"
