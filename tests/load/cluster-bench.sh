#!/bin/bash
# cluster-bench.sh - the cluster bench of issue 17 (a bench, not a test; not
# in tests/run-all.sh): one PostgreSQL, then for N = 1, 2, 3 (NODES) codevd
# nodes on it (store = postgresql, node_id n1..nN, the same DSN, a fresh
# database per N) behind nginx with config/nginx/cluster.conf (hash on the
# group id), and codev-load through nginx at one fixed, moderate load
# (WebSockets on /ws?group=<id>: --group-query). One row per N: connections,
# events/s delivered, ack p50/p99 (the ack waits for the PostgreSQL commit),
# card latency p50/p99, and each process's CPU (% of one core over the
# measured window, /proc/PID/stat utime+stime): every codevd node, nginx
# (master and workers), PostgreSQL (postmaster and every backend), the
# generator; the groups each node held (group_lease).
#
#   tests/load/cluster-bench.sh              # 2,000 connections, 250 rooms, 1 card/room/s, 20 s
#   QUICK=1 tests/load/cluster-bench.sh      # 400 connections, 50 rooms, 5 s: a smoke run
#   NODES="1 3" ROOMS=500 RATE=0.5 tests/load/cluster-bench.sh
#
# Environment: BUILD (default build-opt, debugoptimized; set up if absent),
# ROOMS (250; 8 members each), RATE (cards/room/s, 1), SECONDS_RUN (20),
# WARMUP (3), NODES ("1 2 3"), SRCS (4), PORT (18180: nginx; nodes on
# PORT+1..PORT+N), PIN (1: every server process on CPU 0, the generator on
# CPU 1, as bench.sh; 0: no pinning), NGINX_WORKERS (1), KEEP (keep
# /tmp/codev-cluster-bench.*: logs, nginx and PostgreSQL files), PG_BIN.
# PostgreSQL: initdb into the temporary directory as nobody when run as
# root (it refuses root), loopback, its socket in that directory, default
# settings (fsync and synchronous_commit on), as tests/lib/pg.mjs does.
# Everything this script started is stopped at exit (trap), by pid.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-$root/build-opt}
if [ -n "${QUICK:-}" ]; then
    rooms=${ROOMS:-50}
    secs=${SECONDS_RUN:-5}
else
    rooms=${ROOMS:-250}
    secs=${SECONDS_RUN:-20}
fi
rate=${RATE:-1}
warmup=${WARMUP:-3}
node_counts=${NODES:-1 2 3}
srcs=${SRCS:-4}
port=${PORT:-18180}
pin=${PIN:-1}
workers=${NGINX_WORKERS:-1}
nginx_bin=${NGINX_BIN:-/usr/sbin/nginx}
hz=$(getconf CLK_TCK)

if [ ! -d "$build" ]; then
    meson setup "$build" "$root" --buildtype=debugoptimized >/dev/null
fi
ninja -C "$build" src/codevd tests/load/codev-load >/dev/null
codevd=$build/src/codevd
load=$build/tests/load/codev-load

if [ -z "${PG_BIN:-}" ]; then
    PG_BIN=/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -n | tail -1)/bin
fi
[ -x "$PG_BIN/initdb" ] || { echo "cluster-bench: no initdb in $PG_BIN (Debian package postgresql)" >&2; exit 1; }
[ -x "$nginx_bin" ] || { echo "cluster-bench: no nginx at $nginx_bin" >&2; exit 1; }

# Every process needs one descriptor per connection (nginx two).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work=$(mktemp -d /tmp/codev-cluster-bench.XXXXXX)
chmod 755 "$work"
pg_user=
[ "$(id -u)" -ne 0 ] || pg_user=nobody
as_pg() { if [ -n "$pg_user" ]; then runuser -u "$pg_user" -- "$@"; else "$@"; fi; }
pg_dir=$work/pg
mkdir -p "$pg_dir"
[ -z "$pg_user" ] || chown "$pg_user" "$pg_dir"
pg_port=$((port + 10))
pg_started=
node_pids=()
nginx_pid=
load_pid=

stop_nodes() {
    for p in "${node_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${node_pids[@]}"; do
        for _ in $(seq 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    node_pids=()
}
stop_nginx() {
    if [ -n "$nginx_pid" ]; then
        kill -TERM "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
    fi
    nginx_pid=
}
cleanup() {
    [ -z "$load_pid" ] || kill -TERM "$load_pid" 2>/dev/null || true
    stop_nginx
    stop_nodes
    [ -z "$pg_started" ] || as_pg "$PG_BIN/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
    if [ -n "${KEEP:-}" ]; then echo "cluster-bench: files kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

server_cpu=()
gen_cpu=()
if [ "$pin" = 1 ]; then server_cpu=(taskset -c 0); gen_cpu=(taskset -c 1); fi

# ---- PostgreSQL -------------------------------------------------------------------
(cd "$pg_dir" && as_pg "$PG_BIN/initdb" -D "$pg_dir/data" -U postgres -A trust --no-locale \
    -E UTF8 --no-sync >"$work/initdb.log" 2>&1) || { cat "$work/initdb.log" >&2; exit 1; }
(cd "$pg_dir" && as_pg "${server_cpu[@]}" "$PG_BIN/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w -t 60 \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null)
pg_started=1
pg_pid=$(head -1 "$pg_dir/data/postmaster.pid")
pg_base="host=$pg_dir port=$pg_port user=postgres"
psql_q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$pg_base dbname=$1" -c "$2"; }

# ---- CPU samples ------------------------------------------------------------------
# ticks PID: utime+stime (the fields after the command's closing parenthesis).
ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'; }
children() { awk -v pp="$1" '{ sub(/.*\) /, ""); if ($2 == pp) print FILENAME }' /proc/[0-9]*/stat 2>/dev/null |
    sed 's|/proc/\([0-9]*\)/stat|\1|'; }
# snapshot FILE DB: "role pid ticks" for every process of the cluster, "X
# <transactions committed in DB>" (pg_stat_database: the backends report it
# at most once a second, so about a second of error), then "T <seconds>".
snapshot() {
    {
        i=1
        for p in "${node_pids[@]}"; do echo "n$i $p $(ticks "$p")"; i=$((i + 1)); done
        echo "nginx $nginx_pid $(ticks "$nginx_pid")"
        for p in $(children "$nginx_pid"); do echo "nginx $p $(ticks "$p")"; done
        echo "pg $pg_pid $(ticks "$pg_pid")"
        for p in $(children "$pg_pid"); do echo "pg $p $(ticks "$p")"; done
        echo "X $(psql_q postgres "SELECT xact_commit FROM pg_stat_database WHERE datname = '$2'")"
        echo "T $(date +%s.%N)"
    } >"$1"
}
# cpu_report A B: "role=pct ..." (% of one core), processes gone by B not counted.
cpu_report() {
    awk -v hz="$hz" '
    FNR == NR { if ($1 == "T") t0 = $2; else if ($1 == "X") x0 = $2; else a[$2] = $3; next }
    $1 == "T" { t1 = $2; next }
    $1 == "X" { x1 = $2; next }
    $3 != "" { d[$1] += $3 - (($2 in a) ? a[$2] : 0); if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
    END { w = t1 - t0; for (i = 1; i <= n; i++) printf "%s=%.1f ", order[i], 100 * d[order[i]] / hz / w; printf "commits_s=%.0f window=%.1f\n", (x1 - x0) / w, w }
    ' "$1" "$2"
}

wait_port() {
    local hex i=0
    hex=$(printf ':%04X ' "$1")
    while ! grep -q "${hex}[0-9A-F:]* 0A " /proc/net/tcp 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 200 ] || { echo "cluster-bench: nothing listens on $1" >&2; return 1; }
        sleep 0.1
    done
}

# ---- nginx: the cluster sample for these ports ------------------------------------
start_nginx() { # N
    local n=$1 prefix=$work/nginx-$1 i
    mkdir -p "$prefix/tmp" "$prefix/logs"
    chmod 777 "$prefix/tmp" "$prefix/logs"
    # As tests/lib/cluster.mjs: plain HTTP on loopback, no certificate, the
    # upstream servers replaced by the nodes' ports (the sample's others
    # removed when N < 3).
    sed -e "s|listen 443 ssl http2;|listen 127.0.0.1:$port;|" -e '/listen \[::\]:443/d' \
        -e "s|listen 80;|listen 127.0.0.1:$((port + 9));|" -e '/listen \[::\]:80;/d' \
        -e '/ssl_certificate/d' \
        "$root/config/nginx/cluster.conf" >"$prefix/cluster.conf"
    for i in 1 2 3; do
        if [ "$i" -le "$n" ]; then
            sed -i "s|server 127.0.0.1:$((8080 + i)) max_fails=0;|server 127.0.0.1:$((port + i)) max_fails=0;|" "$prefix/cluster.conf"
        else
            sed -i "/server 127.0.0.1:$((8080 + i)) max_fails=0;/d" "$prefix/cluster.conf"
        fi
    done
    [ "$(grep -c 'server 127.0.0.1:' "$prefix/cluster.conf")" -eq "$n" ] ||
        { echo "cluster-bench: config/nginx/cluster.conf's upstream changed" >&2; return 1; }
    cat >"$prefix/nginx.conf" <<EOF
worker_processes $workers;
worker_rlimit_nofile 65536;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 20000; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;
    include $prefix/cluster.conf;
}
EOF
    local argv=(-p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log")
    "$nginx_bin" -t "${argv[@]}" >"$prefix/check.log" 2>&1 || { cat "$prefix/check.log" >&2; return 1; }
    "${server_cpu[@]}" "$nginx_bin" "${argv[@]}" -g 'daemon off;' >"$prefix/out.log" 2>&1 &
    nginx_pid=$!
    wait_port "$port"
}

start_nodes() { # N DB
    local n=$1 db=$2 i p
    for i in $(seq "$n"); do
        p=$((port + i))
        mkdir -p "$work/data-$n-$i"
        # shellcheck disable=SC2086 # SERVER_SET: several --set options
        "${server_cpu[@]}" "$codevd" --port "$p" --data-dir "$work/data-$n-$i" --log-level warn \
            --set store=postgresql --set "store_dsn=$pg_base dbname=$db" --set "node_id=n$i" \
            --set listen=127.0.0.1 --set trusted_proxies=127.0.0.1 \
            --set connections_max=19000 --set connections_per_ip=19000 \
            --set unauth_per_ip=19000 \
            --set cards_per_step=10000 --set http_anon_per_min=100000 \
            --set http_create_per_min=100000 --set http_create_global_per_min=1000000 \
            --set groups_per_ip=1000000 --set sessions_per_ip=1000000 \
            --set cluster_claims_per_s=10000 ${SERVER_SET:-} \
            >"$work/node-$n-$i.log" 2>&1 &
        node_pids+=($!)
        # One node at a time: nodes that migrate an empty database at the
        # same moment collide (one exits: "cannot open the store").
        wait_port "$p"
        ready "$p"
    done
}

# ready PORT: until the node's /readyz answers 200, 10 s at most.
ready() {
    local i
    for i in $(seq 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz" || true)" != 200 ] || return 0
        sleep 0.1
    done
    echo "cluster-bench: the node on port $1 is not ready" >&2
    return 1
}

summaries=$work/rows
: >"$summaries"
for n in $node_counts; do
    db=bench_n$n
    psql_q postgres "CREATE DATABASE $db"
    start_nodes "$n" "$db"
    start_nginx "$n"
    echo "== N=$n: $n node(s) ${node_pids[*]}, nginx $nginx_pid, postgres $pg_pid; $rooms rooms x 8, $rate cards/room/s, ${secs}s" >&2
    log=$work/load-$n.log
    # shellcheck disable=SC2086
    "${gen_cpu[@]}" "$load" --port "$port" --pid "${node_pids[0]}" --group-query \
        --rooms "$rooms" --rate "$rate" --warmup "$warmup" --seconds "$secs" \
        --srcs "$srcs" --leave 1 --label "n$n" ${EXTRA:-} >"$log" 2>&1 &
    load_pid=$!
    # The window opens WARMUP s after the rooms reach consultation (the
    # generator's own window, to within its 10 ms driver pass).
    until grep -q '^rooms: .* driven to consultation' "$log"; do
        kill -0 "$load_pid" 2>/dev/null || break
        sleep 0.05
    done
    cpu=
    if kill -0 "$load_pid" 2>/dev/null; then
        sleep "$warmup"
        snapshot "$work/cpu0-$n" "$db"
        sleep "$secs"
        snapshot "$work/cpu1-$n" "$db"
        cpu=$(cpu_report "$work/cpu0-$n" "$work/cpu1-$n")
    fi
    wait "$load_pid" || echo "codev-load failed, see $log" >&2
    load_pid=
    grep -v '^  t=' "$log" >&2 || true
    held=$(psql_q "$db" "SELECT string_agg(node_id || ':' || c, ' ' ORDER BY node_id) FROM (SELECT node_id, count(*) c FROM group_lease GROUP BY 1) s" 2>/dev/null || echo '?')
    ack=$(awk '/ack \(journal commit\)/ { for (i = 1; i < NF; i++) { if ($i == "p50") a = $(i + 1); if ($i == "p99") b = $(i + 1) }
        print "ack_p50=" a " ack_p99=" b }' "$log")
    echo "$(grep '^SUMMARY' "$log" || echo SUMMARY label=n$n) $ack $cpu held=${held// /,}" >>"$summaries"
    echo "cpu: $cpu" >&2
    stop_nginx
    stop_nodes
done

awk '
function v(k,   i, n) {
    for (i = 2; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == k) return substr($i, n + 1) }
    return "-"
}
BEGIN {
    printf "%-3s %6s %9s %9s %8s %8s %8s %8s  %-17s %6s %6s %7s %6s  %-14s %s\n",
        "N", "conns", "events/s", "commits/s", "ackp50", "ackp99", "cardp50", "cardp99",
        "node CPU% each", "nginx%", "pg%", "total%", "gen%", "groups held", "lost/dup/ooo/miss/err"
}
{
    nodes = v("n1"); for (i = 2; v("n" i) != "-"; i++) nodes = nodes "+" v("n" i)
    total = 0; for (i = 1; v("n" i) != "-"; i++) total += v("n" i)
    total += v("nginx") + v("pg")
    printf "%-3s %6s %9s %9s %8s %8s %8s %8s  %-17s %6s %6s %7.1f %6s  %-14s %s/%s/%s/%s/%s\n",
        substr(v("label"), 2), v("conns"), v("events_s"), v("commits_s"), v("ack_p50"), v("ack_p99"),
        v("p50_ms"), v("p99_ms"), nodes, v("nginx"), v("pg"), total, v("gen_cpu"), v("held"),
        v("lost"), v("dup"), v("ooo"), v("missing"), v("errors")
}
END {
    print "events/s: events with a seq delivered to the members (cards). commits/s: PostgreSQL"
    print "transactions committed in the database (pg_stat_database, +-1 s). ack: post to ack (the"
    print "PostgreSQL commit), card: post to receive at every member, ms (p50/p99). CPU: % of one"
    print "core over the window, /proc/PID/stat: each codevd node, nginx (master+workers),"
    print "PostgreSQL (postmaster+backends), the generator (its own getrusage)."
    print "groups held: group_lease rows per node at the end."
}' "$summaries"
[ "$pin" = 1 ] && echo "pinned: nodes, nginx and PostgreSQL's postmaster on CPU 0 (its backends inherit), generator on CPU 1" || true
