#!/usr/bin/env bash
# Peak memory while bodies stream: 1 GiB downloaded and 1 GiB uploaded through hoptrace
# (one worker, 100% sampled, spans kept by the explorer's store), each on one
# connection, with curl reading and writing as fast as it can; the upload goes to
# sink.py, which answers with the size it read. Prints hoptrace's
# peak RSS (VmHWM) and its growth over the idle process, and checks the bytes arrived.
# Back-pressure (the high watermark on each side) is what keeps this flat.
#
#   Tests/Benchmarks/streaming.sh [MiB]      (default 1024)
set -euo pipefail
MIB="${1:-1024}"
source "$(dirname "$0")/common.sh"
bench_start streaming
need curl curl
UPSTREAM=$(free_port); SINK=$(free_port); PROXY=$(free_port); ADMIN=$(free_port)
build_hoptrace

mkdir -p "$WORK/html"
truncate -s "${MIB}M" "$WORK/html/big"
upstream_conf "$WORK" "$UPSTREAM" > "$WORK/upstream.conf"
"$NGINX" -c "$WORK/upstream.conf" -p "$WORK" 2>/dev/null & PIDS+=($!)
# nginx's `return` answers before reading a body: uploads go to sink.py, which reads it.
python3 "$(dirname "$0")/sink.py" "$SINK" & PIDS+=($!)
cat > "$WORK/hoptrace.yaml" <<CONF
listen: "127.0.0.1:$PROXY"
workers: 1
admin: "127.0.0.1:$ADMIN"
receiver: null
access_log: off
limits: { max_body_bytes: 0 }
routes:
  - { name: upload, path: /upload, upstream: sink }
  - { name: all, path_prefix: /, upstream: backend }
upstreams:
  backend: { servers: ["127.0.0.1:$UPSTREAM"] }
  sink: { servers: ["127.0.0.1:$SINK"] }
CONF
"$HOPTRACE" run --config "$WORK/hoptrace.yaml" >/dev/null 2>&1 & HPID=$!; PIDS+=($HPID)
wait_port "$PROXY"
wait_port "$UPSTREAM"
for _ in $(seq 1 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1', $SINK))" 2>/dev/null && break; sleep 0.05; done
rss() { awk "/^$1:/ { print \$2 }" "/proc/$HPID/status"; }
start=$(rss VmRSS)

downloaded=$(curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$PROXY/big")
uploaded=$(curl -s -T "$WORK/html/big" "http://127.0.0.1:$PROXY/upload")
peak=$(rss VmHWM)
expected=$((MIB * 1024 * 1024))
[ "$downloaded" = "$expected" ] || { echo "downloaded $downloaded bytes of $expected" >&2; exit 1; }
[ "$uploaded" = "$expected" ] || { echo "uploaded $uploaded bytes of $expected" >&2; exit 1; }
printf "streamed %d MiB down and %d MiB up through hoptrace, one worker, 100%% sampled\n" "$MIB" "$MIB"
printf "  RSS idle %6.1f MiB   peak %6.1f MiB   growth %6.1f MiB\n" \
    "$(echo "$start / 1024" | bc -l)" "$(echo "$peak / 1024" | bc -l)" "$(echo "($peak - $start) / 1024" | bc -l)"
