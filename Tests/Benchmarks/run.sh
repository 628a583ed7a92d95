#!/usr/bin/env bash
# Proxy throughput and streaming memory, hoptrace beside nginx, on this machine, now.
#
#   Tests/Benchmarks/run.sh [seconds-per-run]
#   SECTIONS="proxy tracing streaming store" (the default: all four) picks what runs.
#
# Starts on 127.0.0.1: an upstream (nginx, one worker, small body), nginx as a reverse
# proxy (one worker, upstream keep-alive, access log off), HAProxy (one thread,
# connection reuse, no log) and hoptrace (one worker, access log off). Each proxy is
# pinned to CPU 0; the upstream and wrk share CPU 1. wrk drives the proxies in
# alternating rounds (the best of each kept) and prints requests/s, p99 latency, the
# proxy's CPU time per request (user + system, every thread and process of it, from
# /proc/PID/stat around the round, over the requests wrk counted) and hoptrace / nginx
# and / HAProxy (hoptrace with tracing off, as they have none), and a second hoptrace
# 100% sampled exporting to the upstream nginx, / nginx. Then hoptrace alone with
# tracing off, 100% sampled, parentbased_traceidratio 0.1 and always_off, exporting
# OTLP/HTTP to a local receiver (the upstream nginx's /v1/traces, which reads and
# discards each export), each as a ratio to tracing off (requests/s and CPU per request);
# "100% + store" has the admin listener on, so the spans also go to the explorer's trace
# store. Then it streams 1 GiB down and 1 GiB up through a fresh hoptrace and prints its
# peak RSS. Last, store.py times the explorer's list and filters over 2,000 traces. Absolute numbers drift on shared machines: read the ratios.
set -euo pipefail

DURATION="${1:-10}"
CONNECTIONS="${CONNECTIONS:-50}"
source "$(dirname "$0")/common.sh"
bench_start bench
need wrk wrk
need curl curl
HAPROXY="$(command -v haproxy || echo /usr/sbin/haproxy)"
[ -x "$HAPROXY" ] || { echo "benchmark needs haproxy (apt-get install haproxy)" >&2; exit 1; }
UPSTREAM_PORT=$(free_port); NGINX_PORT=$(free_port); HAPROXY_PORT=$(free_port); HOPTRACE_PORT=$(free_port); SINK_PORT=$(free_port)

build_hoptrace

truncate -s 1G "$WORK/big"
mkdir -p "$WORK/html" && ln -s "$WORK/big" "$WORK/html/big"

upstream_conf "$WORK" "$UPSTREAM_PORT" > "$WORK/upstream.conf"

nginx_proxy_conf "$WORK" "$UPSTREAM_PORT" "$NGINX_PORT" > "$WORK/proxy.conf"

cat > "$WORK/haproxy.cfg" <<CONF
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    http-reuse always
frontend proxy
    bind 127.0.0.1:$HAPROXY_PORT
    default_backend upstream
backend upstream
    server upstream 127.0.0.1:$UPSTREAM_PORT
CONF

cat > "$WORK/hoptrace.yaml" <<CONF
listen: "127.0.0.1:$HOPTRACE_PORT"
workers: 1
admin: null
receiver: null
access_log: off
limits: { max_body_bytes: 0 }
routes:
  - { name: upload, path: /upload, upstream: sink }
  - { name: all, path_prefix: /, upstream: backend }
upstreams:
  backend: { servers: ["127.0.0.1:$UPSTREAM_PORT"], keepalive: { max_idle: 64 } }
  sink: { servers: ["127.0.0.1:$SINK_PORT"] }
CONF

# A second hoptrace for the proxy section, 100% sampled, on its own port (both may run).
TRACED_PORT=$(free_port)
sed -e "s/^listen: .*/listen: \"127.0.0.1:$TRACED_PORT\"/" "$WORK/hoptrace.yaml" > "$WORK/hoptrace-traced.yaml"

# The same with the admin listener on: the proxy's spans also go to the trace store
# behind the explorer (the default configuration keeps it on).
sed -e "s/^admin: null/admin: \"127.0.0.1:$(free_port)\"/" "$WORK/hoptrace.yaml" > "$WORK/hoptrace-explorer.yaml"

taskset -c 1 "$NGINX" -c "$WORK/upstream.conf" -p "$WORK" 2>/dev/null & PIDS+=($!)
taskset -c 1 python3 "$(dirname "$0")/sink.py" "$SINK_PORT" & PIDS+=($!)
taskset -c 0 "$NGINX" -c "$WORK/proxy.conf" -p "$WORK" 2>/dev/null & NGINX_PID=$!; PIDS+=($NGINX_PID)
taskset -c 0 "$HAPROXY" -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.err" & HAPROXY_PID=$!; PIDS+=($HAPROXY_PID)
# hoptrace with the given environment (tracing variables), replacing any running one.
# A first argument CONFIG=file picks another configuration.
start_hoptrace() {
    if [ -n "${HOPTRACE_PID:-}" ]; then kill "$HOPTRACE_PID" 2>/dev/null || true; wait "$HOPTRACE_PID" 2>/dev/null || true; fi
    local config="$WORK/hoptrace.yaml"
    if [[ "${1:-}" == CONFIG=* ]]; then config="${1#CONFIG=}"; shift; fi
    env "$@" taskset -c 0 "$HOPTRACE" run --config "$config" 2>>"$WORK/hoptrace.err" & HOPTRACE_PID=$!; PIDS+=($HOPTRACE_PID)
    wait_port "$HOPTRACE_PORT"
}
start_hoptrace OTEL_SDK_DISABLED=true
wait_port "$UPSTREAM_PORT"; wait_port "$NGINX_PORT"; wait_port "$HAPROXY_PORT"

# cpu_ticks PID: the user and system time PID and its children (nginx's worker under its
# master) have used, in clock ticks; /proc/PID/stat counts every thread of a process.
TICKS_PER_SECOND=$(getconf CLK_TCK)
cpu_ticks() {
    local total=0 pid
    for pid in "$1" $(pgrep -P "$1" || true); do
        total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')))
    done
    echo "$total"
}

# drive PORT PID: "req/s p99 µs-CPU-per-request" of the proxy PID listening on PORT. wrk
# prints "Requests/sec: N", "N requests in", and with --latency "99%  Xms"; the CPU time
# is the proxy's (all its threads) over the run, divided by the requests wrk counted.
drive() {
    local before after
    before=$(cpu_ticks "$2")
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$1/" > "$WORK/wrk.out"
    after=$(cpu_ticks "$2")
    local rps p99 requests cpu
    rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.out")
    p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.out")
    requests=$(awk '/requests in/ {print $1}' "$WORK/wrk.out")
    cpu=$(awk -v ticks=$((after - before)) -v hz="$TICKS_PER_SECOND" -v n="$requests" 'BEGIN { printf "%.2f", ticks / hz / n * 1e6 }')
    local errors
    errors=$(awk '/Non-2xx|Socket errors/ {print}' "$WORK/wrk.out")
    [ -z "$errors" ] || echo "  wrk reported: $errors" >&2
    echo "$rps $p99 $cpu"
}

better() { # the run with more requests/s
    if awk -v x="${1%% *}" -v y="${2%% *}" 'BEGIN { exit !(x >= y) }'; then echo "$1"; else echo "$2"; fi
}

ROUNDS="${ROUNDS:-3}"
SECTIONS="${SECTIONS:-proxy tracing streaming store}"
section() { [[ " $SECTIONS " == *" $1 "* ]]; }

if section proxy; then
# hoptrace 100% sampled beside the others, exporting to the upstream nginx's /v1/traces.
env OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$UPSTREAM_PORT" OTEL_TRACES_SAMPLER=always_on \
    taskset -c 0 "$HOPTRACE" run --config "$WORK/hoptrace-traced.yaml" 2>>"$WORK/hoptrace.err" & TRACED_PID=$!; PIDS+=($TRACED_PID)
wait_port "$TRACED_PORT"
drive "$NGINX_PORT" "$NGINX_PID" >/dev/null; drive "$HAPROXY_PORT" "$HAPROXY_PID" >/dev/null   # warm up
drive "$HOPTRACE_PORT" "$HOPTRACE_PID" >/dev/null; drive "$TRACED_PORT" "$TRACED_PID" >/dev/null
# Rounds alternate between the proxies so that drift on a shared machine hits all.
NGINX_BEST="0 - -"; HAPROXY_BEST="0 - -"; HOP_BEST="0 - -"; TRACED_BEST="0 - -"
for round in $(seq 1 "$ROUNDS"); do
    NGINX_BEST=$(better "$NGINX_BEST" "$(drive "$NGINX_PORT" "$NGINX_PID")")
    HAPROXY_BEST=$(better "$HAPROXY_BEST" "$(drive "$HAPROXY_PORT" "$HAPROXY_PID")")
    HOP_BEST=$(better "$HOP_BEST" "$(drive "$HOPTRACE_PORT" "$HOPTRACE_PID")")
    TRACED_BEST=$(better "$TRACED_BEST" "$(drive "$TRACED_PORT" "$TRACED_PID")")
done
kill "$TRACED_PID" 2>/dev/null || true; wait "$TRACED_PID" 2>/dev/null || true
read -r NGINX_RPS NGINX_P99 NGINX_CPU <<<"$NGINX_BEST"
read -r HAPROXY_RPS HAPROXY_P99 HAPROXY_CPU <<<"$HAPROXY_BEST"
read -r HOP_RPS HOP_P99 HOP_CPU <<<"$HOP_BEST"
read -r TRACED_RPS TRACED_P99 TRACED_CPU <<<"$TRACED_BEST"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo
echo "small responses, ${CONNECTIONS} connections, ${DURATION}s x${ROUNDS} alternating (best of each), one worker each"
printf "  %-18s %12s req/s   p99 %-8s  %6s µs CPU/req\n" nginx "$NGINX_RPS" "$NGINX_P99" "$NGINX_CPU" \
    haproxy "$HAPROXY_RPS" "$HAPROXY_P99" "$HAPROXY_CPU" "hoptrace" "$HOP_RPS" "$HOP_P99" "$HOP_CPU" \
    "hoptrace 100%" "$TRACED_RPS" "$TRACED_P99" "$TRACED_CPU"
echo "  hoptrace / nginx = $(ratio "$HOP_RPS" "$NGINX_RPS"), hoptrace / haproxy = $(ratio "$HOP_RPS" "$HAPROXY_RPS")," \
    "hoptrace 100% sampled / nginx = $(ratio "$TRACED_RPS" "$NGINX_RPS")"
echo "  CPU per request: hoptrace / nginx = $(ratio "$HOP_CPU" "$NGINX_CPU"), hoptrace / haproxy = $(ratio "$HOP_CPU" "$HAPROXY_CPU")," \
    "hoptrace 100% sampled / nginx = $(ratio "$TRACED_CPU" "$NGINX_CPU")"
fi

# Tracing cost: the same load, hoptrace alone, in alternating rounds per mode.
if section tracing; then
OTLP="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$UPSTREAM_PORT"
MODES=("off|OTEL_SDK_DISABLED=true"
       "100% sampled|$OTLP OTEL_TRACES_SAMPLER=always_on"
       "100% + store|CONFIG=$WORK/hoptrace-explorer.yaml $OTLP OTEL_TRACES_SAMPLER=always_on"
       "ratio 0.1|$OTLP OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1"
       "always_off|$OTLP OTEL_TRACES_SAMPLER=always_off")
declare -A MODE_BEST
for mode in "${MODES[@]}"; do MODE_BEST["${mode%%|*}"]="0 - -"; done
for round in $(seq 1 "$ROUNDS"); do
    for mode in "${MODES[@]}"; do
        # shellcheck disable=SC2086
        start_hoptrace ${mode#*|}
        drive "$HOPTRACE_PORT" "$HOPTRACE_PID" >/dev/null   # warm up the pools
        MODE_BEST["${mode%%|*}"]=$(better "${MODE_BEST["${mode%%|*}"]}" "$(drive "$HOPTRACE_PORT" "$HOPTRACE_PID")")
    done
done
read -r OFF_RPS _ OFF_CPU <<<"${MODE_BEST["off"]}"
echo
echo "tracing, hoptrace alone, OTLP/HTTP to a local receiver, ${DURATION}s x${ROUNDS} alternating (best of each)"
for mode in "${MODES[@]}"; do
    name="${mode%%|*}"
    read -r rps p99 cpu <<<"${MODE_BEST[$name]}"
    printf "  %-13s %12s req/s   p99 %-8s  / off = %s   %6s µs CPU/req  / off = %s\n" "$name" "$rps" "$p99" \
        "$(awk -v a="$rps" -v b="$OFF_RPS" 'BEGIN { printf "%.2f", a / b }')" "$cpu" "$(awk -v a="$cpu" -v b="$OFF_CPU" 'BEGIN { printf "%.2f", a / b }')"
done

fi

# Streaming memory: a fresh hoptrace, 1 GiB down then 1 GiB up; VmHWM is its peak RSS.
if section streaming; then
start_hoptrace OTEL_SDK_DISABLED=true
START=$(date +%s.%N)
DOWN=$(curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$HOPTRACE_PORT/big")
MID=$(date +%s.%N)
UP=$(curl -s -o "$WORK/upload.out" -w '%{size_upload}' -T "$WORK/big" -H 'Expect:' "http://127.0.0.1:$HOPTRACE_PORT/upload")
[ "$(cat "$WORK/upload.out")" = 1073741824 ] || echo "the sink received $(cat "$WORK/upload.out") bytes" >&2
END=$(date +%s.%N)
PEAK_KB=$(awk '/VmHWM/ {print $2}' "/proc/$HOPTRACE_PID/status")
echo
echo "streaming 1 GiB through hoptrace"
awk -v d="$DOWN" -v u="$UP" -v s="$START" -v m="$MID" -v e="$END" -v p="$PEAK_KB" 'BEGIN {
    printf "  down %d bytes in %.1fs (%.0f MiB/s), up %d bytes in %.1fs (%.0f MiB/s)\n", d, m - s, d / 1048576 / (m - s), u, e - m, u / 1048576 / (e - m)
    printf "  peak RSS %.1f MiB\n", p / 1024 }'
[ "$DOWN" = 1073741824 ] && [ "$UP" = 1073741824 ] || { echo "streaming lost bytes" >&2; exit 1; }
fi

# The explorer: listing and filtering a full trace store (2,000 traces).
if section store; then
echo
python3 "$(dirname "$0")/store.py" "$HOPTRACE"
fi
