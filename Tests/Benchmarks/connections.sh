#!/usr/bin/env bash
# Memory per idle client connection, memory given back after they close, and upstream
# connections opened for a crowd of new clients: hoptrace beside nginx, in one run.
#
#   Tests/Benchmarks/connections.sh [clients]      (default 10000)
#
# Starts on 127.0.0.1 an nginx upstream (it logs each request's connection serial number,
# so upstream connections can be counted), nginx as a reverse proxy (one worker,
# upstream keep-alive 64) and hoptrace (one worker, max_idle 64, tracing off). For each
# proxy, idle_clients.py opens the clients (at most 200 connecting at once), one GET
# each, and keeps them idle; then closes them all. Prints, per proxy: the worker's RSS
# growth per idle connection, its RSS 3 s after they all closed (growth over the start),
# how long opening took, and how many upstream connections served those requests.
set -euo pipefail

CLIENTS="${1:-10000}"
source "$(dirname "$0")/common.sh"
bench_start conn
need curl curl
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -gt $((CLIENTS + 1000)) ] || { echo "open file limit $(ulimit -n) is too low for $CLIENTS clients" >&2; exit 1; }
UPSTREAM_PORT=$(free_port); NGINX_PORT=$(free_port); HOPTRACE_PORT=$(free_port)

build_hoptrace

# The shared upstream, logging the serial number of the connection of each request.
upstream_conf "$WORK" "$UPSTREAM_PORT" \
    | sed -e "s|worker_connections 4096|worker_connections $((CLIENTS + 1000))|" \
          -e "s|access_log off;|log_format conn '\$connection'; access_log $WORK/upstream.log conn;|" \
    > "$WORK/upstream.conf"

cat > "$WORK/proxy.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile $((2 * CLIENTS + 1000));
daemon off;
pid $WORK/proxy.pid;
error_log $WORK/proxy.err warn;
events { worker_connections $((2 * CLIENTS + 1000)); }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    upstream backend { server 127.0.0.1:$UPSTREAM_PORT; keepalive 64; }
    server {
        listen 127.0.0.1:$NGINX_PORT backlog=4096;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF

cat > "$WORK/hoptrace.yaml" <<CONF
listen: "127.0.0.1:$HOPTRACE_PORT"
workers: 1
admin: null
receiver: null
access_log: off
timeouts: { idle: 300s }
routes:
  - { name: all, path_prefix: /, upstream: backend }
upstreams:
  backend: { servers: ["127.0.0.1:$UPSTREAM_PORT"], keepalive: { max_idle: 64 } }
CONF


taskset -c 1 "$NGINX" -c "$WORK/upstream.conf" -p "$WORK" 2>/dev/null & PIDS+=($!)
taskset -c 0 "$NGINX" -c "$WORK/proxy.conf" -p "$WORK" 2>/dev/null & PIDS+=($!)
NGINX_MASTER=$!
OTEL_SDK_DISABLED=true taskset -c 0 "$HOPTRACE" run --config "$WORK/hoptrace.yaml" 2>"$WORK/hoptrace.err" & PIDS+=($!)
HOPTRACE_PID=$!
wait_port "$UPSTREAM_PORT"; wait_port "$NGINX_PORT"; wait_port "$HOPTRACE_PORT"
NGINX_WORKER=$(pgrep -P "$NGINX_MASTER" | head -1)

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# measure NAME PORT PID: one line of figures.
measure() {
    local name=$1 port=$2 pid=$3
    sleep 1
    local before lines opened_line after closed
    before=$(rss_kib "$pid")
    lines=$(wc -l < "$WORK/upstream.log")
    coproc CLIENT { taskset -c 1 python3 "$(dirname "$0")/idle_clients.py" "$port" "$CLIENTS"; }
    read -r opened_line <&"${CLIENT[0]}" || { echo "$name: the clients failed" >&2; exit 1; }
    sleep 1
    after=$(rss_kib "$pid")
    local upstream
    upstream=$(tail -n +$((lines + 1)) "$WORK/upstream.log" | sort -u | wc -l)
    echo >&"${CLIENT[1]}"
    read -r _ <&"${CLIENT[0]}"
    wait "$CLIENT_PID" 2>/dev/null || true
    sleep 3
    closed=$(rss_kib "$pid")
    local seconds=${opened_line#opened * in }
    printf "%-9s %10d %14.1f %16.1f %12s %18d\n" "$name" "$CLIENTS" \
        "$(awk -v a="$after" -v b="$before" -v n="$CLIENTS" 'BEGIN { print (a - b) * 1024 / n }')" \
        "$(awk -v a="$closed" -v b="$before" 'BEGIN { print (a - b) / 1024 }')" \
        "${seconds% s}" "$upstream"
}

echo "idle keep-alive clients, one worker each, $(nproc) cores"
printf "%-9s %10s %14s %16s %12s %18s\n" proxy clients "bytes/idle" "MiB kept after" "open (s)" "upstream conns"
measure nginx "$NGINX_PORT" "$NGINX_WORKER"
measure hoptrace "$HOPTRACE_PORT" "$HOPTRACE_PID"
echo "(bytes/idle: worker RSS growth per open idle connection; MiB kept after: RSS 3 s after they all closed, over the start)"
