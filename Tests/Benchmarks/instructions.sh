#!/usr/bin/env bash
# Instructions per proxied request, counted by callgrind, for nginx and for hoptrace in
# front of the same nginx upstream: counts do not drift with the machine's load, so they
# judge a change to the request path where req/s cannot.
#
#   Tests/Benchmarks/instructions.sh [N1 N2]    (default 2000 and 10000 requests)
#
# Each proxy runs twice under callgrind for its whole life: started, sent N1 requests
# (then N2) by a fixed-count client (4 keep-alive connections, each request answered
# before the next), sent SIGTERM and left to exit by itself. hoptrace exports what its
# span pipeline holds on the way out, so that work is counted; the SIGTERM comes after
# the client has read every response. callgrind sums every thread of a process into one
# file (--separate-threads=no, its default); the script sums the files of a run all the
# same (one per process). The figure is (I2 - I1) / (N2 - N1): start-up and shutdown are
# the same in both runs and cancel, and what they cost is shown beside it.
#
# The proxies: nginx (one process: master_process off, daemon off, worker_processes 1,
# so callgrind counts the process that serves; upstream keep-alive, access log off, as in
# run.sh) and hoptrace (one worker, access log off) with tracing off
# (OTEL_SDK_DISABLED=true), unsampled (an exporter configured, every request decided
# not sampled: what tracing costs a request it does not record), 100% sampled and
# exported over OTLP/HTTP to the upstream
# nginx's /v1/traces, the same with the admin listener on (the spans also go to the
# explorer's trace store), and store only (admin on, no exporter). hoptrace is measured
# as a copy made with `strip -g`: valgrind 3.19 cannot read Swift's DWARF 5.
# Needs valgrind, nginx-light, python3. About 3 minutes with the defaults.
set -euo pipefail
N1="${1:-2000}"
N2="${2:-10000}"
CONNECTIONS=4
N1=$((N1 / CONNECTIONS * CONNECTIONS)); N2=$((N2 / CONNECTIONS * CONNECTIONS))
[ "$N2" -gt "$N1" ] || { echo "N2 must be larger than N1" >&2; exit 1; }
source "$(dirname "$0")/common.sh"
bench_start instructions
need valgrind valgrind
UPSTREAM=$(free_port); PROXY=$(free_port); ADMIN=$(free_port)

build_hoptrace
strip -g -o "$WORK/hoptrace" "$HOPTRACE"

upstream_conf "$WORK" "$UPSTREAM" > "$WORK/upstream.conf"
"$NGINX" -c "$WORK/upstream.conf" -p "$WORK" 2>/dev/null & PIDS+=($!)

# master_process off: the process callgrind counts is the one that serves.
{ echo "master_process off;"; nginx_proxy_conf "$WORK" "$UPSTREAM" "$PROXY"; } > "$WORK/proxy.conf"

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
# The same with tracing.keep on: unsampled requests that end well must cost as before.
{ cat "$WORK/plain.yaml"; echo "tracing: { keep: { errors: true, slower_than: 2s } }"; } > "$WORK/keep.yaml"

# The client: COUNT requests on each of CONNECTIONS keep-alive connections, each answered
# before the next is sent. It connects as soon as the proxy listens (no probe request,
# which would add to one run and not the other).
cat > "$WORK/load.py" <<'PY'
import socket, sys, threading, time
count, connections, port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
failures = []
def connect():
    deadline = time.monotonic() + 120
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port))
        except ConnectionRefusedError:
            if time.monotonic() > deadline: raise
            time.sleep(0.05)
def run():
    try:
        s = connect()
        for _ in range(count):
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            buffer = b""
            while b"hello from upstream\n" not in buffer:
                chunk = s.recv(4096)
                if not chunk: raise EOFError("the proxy closed the connection")
                buffer += chunk
        s.close()
    except Exception as error:
        failures.append(error)
threads = [threading.Thread(target=run) for _ in range(connections)]
for thread in threads: thread.start()
for thread in threads: thread.join()
if failures: sys.exit(f"load: {failures[0]!r}")
PY

# lifetime REQUESTS ENV... -- COMMAND...: LIFETIME, the instructions COMMAND executes
# over its whole life under callgrind, serving REQUESTS requests, then exiting on SIGTERM;
# every thread and every process counted. The run's files stay in $WORK/runN.
RUN=0
lifetime() {
    local requests=$1; shift
    local environment=()
    while [ "$1" != "--" ]; do environment+=("$1"); shift; done; shift
    RUN=$((RUN + 1))
    local out="$WORK/run$RUN"
    mkdir -p "$out"
    env "${environment[@]}" valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.%p" "$@" \
        >"$out/stdout" 2>"$out/stderr" & local pid=$!; PIDS+=($pid)
    python3 "$WORK/load.py" $((requests / CONNECTIONS)) "$CONNECTIONS" "$PROXY" \
        || { echo "the load failed; the proxy said:" >&2; tail -20 "$out/stderr" >&2; exit 1; }
    kill -TERM "$pid"
    local state=""
    for _ in $(seq 1 1200); do   # until it has exited (a zombie still answers kill -0)
        state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1 || true)
        [ -n "$state" ] && [ "$state" != Z ] || break
        sleep 0.1
    done
    [ -z "$state" ] || [ "$state" = Z ] || { echo "the proxy did not exit within 120 s of SIGTERM" >&2; exit 1; }
    wait "$pid" || { echo "the proxy exited with $?:" >&2; tail -20 "$out/stderr" >&2; exit 1; }
    # Every span must have been handled before the exit, or its work is not in the count:
    # two a request (SERVER and CLIENT), all exported (hoptrace's summary line at exit),
    # none dropped for a full queue (under valgrind the threads take turns).
    local exported expected=$((2 * requests))
    [[ " ${environment[*]} " == *OTEL_TRACES_SAMPLER=always_off* ]] && expected=0
    exported=$(grep -o 'exported=[0-9]*' "$out/stderr" | tail -1 | cut -d= -f2 || true)
    if [ -n "$exported" ] && [ "$exported" != "$expected" ]; then
        echo "  (run $RUN: $exported spans exported for $requests requests, not $expected: the count is off)" >&2
    fi
    if grep -qE 'span queue full|spans arrive faster' "$out/stderr"; then
        echo "  (run $RUN: spans were dropped: the count is off)" >&2
    fi
    # Each file ends with "totals: <Ir>"; its header may repeat it as "summary:" (read
    # only when there is no totals line), so a file counts once.
    LIFETIME=$(awk '/^totals:/ { t += $2; nt++ } /^summary:/ { s += $2; ns++ }
        END { if (nt) printf "%.0f\n", t; else if (ns) printf "%.0f\n", s; else exit 1 }' "$out"/callgrind.*)
}

# measure NAME ENV... -- COMMAND...: both runs, one line of the table.
NGINX_PER=""
measure() {
    local name=$1; shift
    local first second per fixed
    lifetime "$N1" "$@"; first=$LIFETIME
    lifetime "$N2" "$@"; second=$LIFETIME
    per=$(( (second - first) / (N2 - N1) ))
    fixed=$(( first - per * N1 ))
    [ -n "$NGINX_PER" ] || NGINX_PER=$per
    printf "  %-34s %9d  %6.2f  %9.1f\n" "$name" "$per" "$(awk -v a="$per" -v b="$NGINX_PER" 'BEGIN { print a / b }')" \
        "$(awk -v f="$fixed" 'BEGIN { print f / 1e6 }')"
}

HOP=("$WORK/hoptrace" run --config)
OTLP="OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$UPSTREAM"
echo "instructions per request under callgrind, whole process life, (I2 - I1) / (N2 - N1) with N1 = $N1, N2 = $N2"
echo "requests over $CONNECTIONS keep-alive connections; one nginx process, one hoptrace worker; every thread counted"
printf "  %-32s %9s  %6s  %9s\n" "" "instr/req" "/ nginx" "fixed (M)"
measure "nginx" -- "$NGINX" -c "$WORK/proxy.conf" -p "$WORK"
measure "hoptrace, tracing off" OTEL_SDK_DISABLED=true -- "${HOP[@]}" "$WORK/plain.yaml"
measure "hoptrace, unsampled (exporter on)" "$OTLP" OTEL_TRACES_SAMPLER=always_off -- "${HOP[@]}" "$WORK/plain.yaml"
measure "hoptrace, unsampled + tracing.keep" "$OTLP" OTEL_TRACES_SAMPLER=always_off -- "${HOP[@]}" "$WORK/keep.yaml"
measure "hoptrace, 100% exported" "$OTLP" -- "${HOP[@]}" "$WORK/plain.yaml"
measure "hoptrace, 100% exported + store" "$OTLP" -- "${HOP[@]}" "$WORK/explorer.yaml"
measure "hoptrace, 100% store only" -- "${HOP[@]}" "$WORK/explorer.yaml"
echo "(fixed: start-up and shutdown, in millions of instructions: I1 - N1 x instr/req)"
