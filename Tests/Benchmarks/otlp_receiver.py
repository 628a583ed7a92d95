"""A local OTLP/HTTP receiver for the benchmark: accepts POST /v1/traces, reads the body,
answers 200, and counts requests and bytes (printed on SIGTERM). It does not decode:
the tests check the bytes; this only has to keep up."""
import http.server
import signal
import sys

received = {"requests": 0, "bytes": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        received["requests"] += 1
        received["bytes"] += length
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def stop(*_):
    print(f"receiver: {received['requests']} exports, {received['bytes']} bytes", file=sys.stderr, flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
