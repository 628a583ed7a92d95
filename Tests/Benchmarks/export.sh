#!/usr/bin/env bash
# Export at full speed to a collector that answers each export after a delay, as a
# hosted backend across the internet would: are spans lost?
#
#   Tests/Benchmarks/export.sh [seconds] [delays…]     (default 10 s; 0 20 50 100 ms)
#
# For each delay, without and with gzip: a fresh hoptrace (one worker, pinned to CPU 0,
# 100% sampled, OTLP/HTTP protobuf to slow_collector.py, no admin listener) in front of
# the nginx upstream; wrk drives it at its full rate (50 connections, CPU 1, with the
# upstream and the collector). Prints requests/s, spans produced (two a request),
# received by the collector, dropped (hoptrace's own count, from its shutdown summary),
# the most exports in flight at once, the bytes sent per span (what gzip saves), the CPU
# time of the span pipeline and export threads per span, and hoptrace's peak RSS. `EXPORTS=n` sets tracing.max_concurrent_exports.
set -euo pipefail
DURATION="${1:-10}"
shift || true
DELAYS=("${@:-0 20 50 100}")
read -r -a DELAYS <<<"${DELAYS[*]}"
source "$(dirname "$0")/common.sh"
bench_start export
need wrk wrk
need curl curl
UPSTREAM=$(free_port); PROXY=$(free_port); COLLECTOR=$(free_port)

build_hoptrace

upstream_conf "$WORK" "$UPSTREAM" > "$WORK/upstream.conf"
taskset -c 1 "$NGINX" -c "$WORK/upstream.conf" -p "$WORK" 2>/dev/null & PIDS+=($!)
cat > "$WORK/hoptrace.yaml" <<CONF
listen: "127.0.0.1:$PROXY"
workers: 1
admin: null
receiver: null
access_log: off
tracing: { max_concurrent_exports: ${EXPORTS:-16} }
routes:
  - { name: all, path_prefix: /, upstream: backend }
upstreams:
  backend: { servers: ["127.0.0.1:$UPSTREAM"], keepalive: { max_idle: 64 } }
CONF

wait_port "$UPSTREAM"

# CPU seconds of a process's threads whose name starts with $2.
thread_cpu() {
    local total=0
    for stat in /proc/"$1"/task/*/stat; do
        local line name ticks
        line=$(cat "$stat" 2>/dev/null) || continue
        name=${line#*(}; name=${name%%)*}
        [[ "$name" == "$2"* ]] || continue
        ticks=$(echo "${line##*) }" | awk '{ print $12 + $13 }')
        total=$((total + ticks))
    done
    awk -v t="$total" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t / hz }'
}

echo "export at full speed, one worker, 100% sampled, ${DURATION}s each, ${EXPORTS:-16} exports at most in flight"
printf "%-6s %-5s %8s %9s %9s %8s %9s %10s %12s %8s\n" delay gzip "req/s" produced received dropped in-flight "bytes/span" "µs CPU/span" "RSS MiB"
for compression in none gzip; do
    for delay in "${DELAYS[@]}"; do
        taskset -c 1 python3 "$(dirname "$0")/slow_collector.py" "$COLLECTOR" "$delay" > "$WORK/collector.out" & COLLECTOR_PID=$!; PIDS+=($COLLECTOR_PID)
        sleep 0.5
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$COLLECTOR" OTEL_TRACES_SAMPLER=always_on OTEL_SERVICE_NAME=bench \
            OTEL_EXPORTER_OTLP_COMPRESSION=$compression taskset -c 0 "$HOPTRACE" run --config "$WORK/hoptrace.yaml" 2>"$WORK/hoptrace.err" & HOPTRACE_PID=$!; PIDS+=($HOPTRACE_PID)
        wait_port "$PROXY"
        taskset -c 1 wrk -t1 -c50 -d"${DURATION}s" "http://127.0.0.1:$PROXY/" > "$WORK/wrk.out"
        cpu_spans=$(thread_cpu "$HOPTRACE_PID" hoptrace-spans)
        cpu_export=$(thread_cpu "$HOPTRACE_PID" hoptrace-export)
        rss=$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$HOPTRACE_PID/status")
        kill -TERM "$HOPTRACE_PID"; wait "$HOPTRACE_PID" 2>/dev/null || true
        kill -TERM "$COLLECTOR_PID"; wait "$COLLECTOR_PID" 2>/dev/null || true
        [ -z "${SHOW_LOG:-}" ] || grep -E "summary" "$WORK/hoptrace.err" >&2
        requests=$(awk '/requests in/ { print $1 }' "$WORK/wrk.out")
        rps=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' "$WORK/wrk.out")
        received=$(awk '{ print $4 }' "$WORK/collector.out")
        wire=$(awk '{ if ($4 > 0) printf "%.0f", $6 / $4; else print "-" }' "$WORK/collector.out")
        summary=$(grep "span export summary" "$WORK/hoptrace.err" || true)
        field() { echo "$summary" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
        exported=$(field exported); dropped=$(field dropped); inflight=$(field max_in_flight)
        queue=$(grep "span queue summary" "$WORK/hoptrace.err" | grep -o "dropped_queue_full=[0-9]*" | cut -d= -f2 || true)
        dropped=$(( ${dropped:-0} + ${queue:-0} ))
        per_span=$(awk -v a="$cpu_spans" -v b="$cpu_export" -v n="${exported:-0}" 'BEGIN { if (n > 0) printf "%.2f", (a + b) * 1e6 / n; else print "-" }')
        printf "%-6s %-5s %8s %9s %9s %8s %9s %10s %12s %8s\n" "${delay}ms" "$compression" "$rps" "$((requests * 2))" "$received" "$dropped" "${inflight:--}" "$wire" "$per_span" "$rss"
    done
done
echo "(produced: two spans a request; dropped: hoptrace's count — the span queue's and the exporter's; bytes/span: request bodies as sent)"
