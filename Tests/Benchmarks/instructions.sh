#!/usr/bin/env bash
# Instructions per proxied request, counted by callgrind: they do not drift with the
# machine's load, so they judge a change to the request path where req/s cannot.
#
#   Tests/Benchmarks/instructions.sh [requests]     (default 20000, over 4 keep-alive connections)
#
# Builds hoptrace (release), strips its debug info (valgrind here cannot read Swift's
# DWARF 5), starts an nginx upstream on 127.0.0.1 and, for each mode, runs hoptrace (one
# worker) under callgrind: a warm-up, then the counted requests, with every thread of
# hoptrace counted (the span pipeline's too). Needs valgrind, nginx-light, curl, python3.
set -euo pipefail
REQUESTS="${1:-20000}"
source "$(dirname "$0")/common.sh"
bench_start instructions
need valgrind valgrind
need curl curl
UPSTREAM=$(free_port); PROXY=$(free_port); ADMIN=$(free_port)

echo "building hoptrace (release)..." >&2
(cd "$ROOT" && swift build -c release --product hoptrace >/dev/null)
strip -g -o "$WORK/hoptrace" "$ROOT/.build/release/hoptrace"

upstream_conf "$WORK" "$UPSTREAM" > "$WORK/upstream.conf"
"$NGINX" -c "$WORK/upstream.conf" -p "$WORK" 2>/dev/null & PIDS+=($!)
for config in plain explorer; do
    admin="null"; [ "$config" = explorer ] && admin="\"127.0.0.1:$ADMIN\""
    cat > "$WORK/$config.yaml" <<CONF
listen: "127.0.0.1:$PROXY"
workers: 1
admin: $admin
receiver: null
access_log: off
routes:
  - { name: all, path_prefix: /, upstream: backend }
upstreams:
  backend: { servers: ["127.0.0.1:$UPSTREAM"] }
CONF
done

cat > "$WORK/load.py" <<'PY'
import socket, sys, threading
count, connections, port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def run():
    s = socket.create_connection(("127.0.0.1", port))
    for _ in range(count):
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        buffer = b""
        while b"hello from upstream\n" not in buffer:
            buffer += s.recv(4096)
    s.close()
threads = [threading.Thread(target=run) for _ in range(connections)]
for thread in threads: thread.start()
for thread in threads: thread.join()
PY

# measure NAME CONFIG [VAR=value ...]: instructions per request.
RUN=0
measure() {
    local name=$1 config=$2; shift 2
    RUN=$((RUN + 1))
    local id="run$RUN"
    env "$@" valgrind --tool=callgrind --callgrind-out-file="$WORK/out.$id" "$WORK/hoptrace" run --config "$WORK/$config.yaml" \
        >/dev/null 2>"$WORK/valgrind.$id" & local pid=$!; PIDS+=($pid)
    local up=""
    for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$PROXY/" && { up=1; break; }; sleep 0.1; done
    [ -n "$up" ] || { echo "hoptrace did not start under valgrind:" >&2; cat "$WORK/valgrind.$id" >&2; exit 1; }
    python3 "$WORK/load.py" 200 4 "$PROXY"
    sleep 1
    callgrind_control -z "$pid" >/dev/null 2>&1
    python3 "$WORK/load.py" $((REQUESTS / 4)) 4 "$PROXY"
    sleep 1.5   # the span pipeline's turn
    callgrind_control -d "$pid" >/dev/null 2>&1
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    local total
    total=$(for file in "$WORK/out.$id"*; do callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'; done | sort -n | tail -1)
    printf "  %-34s %8d instructions per request\n" "$name" $((total / REQUESTS))
}
OTLP="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$UPSTREAM"
echo "instructions per request, $REQUESTS requests over 4 keep-alive connections, one worker (callgrind)"
measure "tracing off" plain OTEL_SDK_DISABLED=true
measure "100% sampled, exported" plain "$OTLP"
measure "100% sampled, exported + store" explorer "$OTLP"
measure "100% sampled, store only" explorer
