# Shared by the benchmark scripts (sourced): a free port, and the nginx upstream every
# proxy is measured in front of.

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
