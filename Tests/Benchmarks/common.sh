# Shared by the benchmark scripts (sourced): a work directory cleaned up on exit, the
# tools they need, a free port, waiting for a port, building hoptrace, and the nginx
# upstream every proxy is measured in front of.

# bench_start NAME: WORK, a directory under /tmp; PIDS, processes to stop; both undone on
# exit. ROOT is the repository; NGINX the nginx binary (needed by every benchmark).
bench_start() {
    ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    WORK="$(mktemp -d "/tmp/hoptrace-$1.XXXXXX")"
    chmod 755 "$WORK"   # nginx workers run as an unprivileged user
    PIDS=()
    trap bench_cleanup EXIT
    NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
    [ -x "$NGINX" ] || { echo "benchmark needs nginx (apt-get install nginx-light)" >&2; exit 1; }
}

bench_cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}

need() { command -v "$1" >/dev/null || { echo "benchmark needs $1 (apt-get install $2)" >&2; exit 1; }; }

# build_hoptrace: HOPTRACE, the release binary.
build_hoptrace() {
    echo "building hoptrace (release)..." >&2
    (cd "$ROOT" && swift build -c release --product hoptrace >/dev/null)
    HOPTRACE="$ROOT/.build/release/hoptrace"
}

wait_port() {
    for _ in $(seq 1 200); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.05; done
    echo "nothing answers on port $1" >&2; exit 1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# upstream_conf WORK PORT: an nginx configuration (one worker, no access log) listening
# on 127.0.0.1:PORT: `/` a small body, `/big` the file WORK/html/big (when present),
# `/v1/traces` an OTLP receiver that reads and discards each export.
upstream_conf() {
    cat <<CONF
worker_processes 1;
daemon off;
pid $1/upstream.pid;
error_log $1/upstream.err warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $1/body;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$2;
        client_max_body_size 0;
        location = / { return 200 "hello from upstream\n"; }
        location = /big { root $1/html; sendfile on; }
        location = /v1/traces { client_body_buffer_size 1m; return 200; }
    }
}
CONF
}

# nginx_proxy_conf WORK UPSTREAM_PORT PORT: nginx as the reverse proxy the benchmarks
# compare hoptrace with (one worker, upstream keep-alive, access log off), on
# 127.0.0.1:PORT in front of 127.0.0.1:UPSTREAM_PORT.
nginx_proxy_conf() {
    cat <<CONF
worker_processes 1;
daemon off;
pid $1/proxy.pid;
error_log $1/proxy.err warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    upstream backend { server 127.0.0.1:$2; keepalive 64; }
    server {
        listen 127.0.0.1:$3;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF
}
