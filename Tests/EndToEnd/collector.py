"""A fake OTLP/HTTP collector: decodes every export with the official
`opentelemetry-proto` package (protobuf or JSON, gzip or not) and keeps the spans and
the request headers it received."""

import base64
import gzip
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

KIND_INTERNAL, KIND_SERVER, KIND_CLIENT = 1, 2, 3
STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2


def _hex_ids_to_base64(value):
    """OTLP/JSON carries ids as hex (OTLP specification); the generic protobuf JSON
    parser reads bytes as base64. Convert before parsing."""
    if isinstance(value, dict):
        return {
            key: base64.b64encode(bytes.fromhex(item)).decode()
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(item, str)
            else _hex_ids_to_base64(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_hex_ids_to_base64(item) for item in value]
    return value


def _attributes(key_values):
    """{key: (type, value)} with the AnyValue member name as type."""
    result = {}
    for key_value in key_values:
        kind = key_value.value.WhichOneof("value")
        result[key_value.key] = (kind, getattr(key_value.value, kind) if kind else None)
    return result


class Span:
    def __init__(self, span, resource, scope):
        self.trace_id = span.trace_id.hex()
        self.span_id = span.span_id.hex()
        self.parent_span_id = span.parent_span_id.hex()
        self.name = span.name
        self.kind = span.kind
        self.start = span.start_time_unix_nano
        self.end = span.end_time_unix_nano
        self.status_code = span.status.code
        self.status_message = span.status.message
        self.attributes = _attributes(span.attributes)
        self.events = [(event.name, event.time_unix_nano, _attributes(event.attributes)) for event in span.events]
        self.resource = resource
        self.scope = scope

    @property
    def service(self):
        return self.resource.get("service.name", (None, None))[1]

    def attribute(self, key):
        return self.attributes.get(key, (None, None))[1]

    def __repr__(self):
        return f"<{self.service} {self.name} kind={self.kind} {self.trace_id}/{self.span_id} parent={self.parent_span_id}>"


class FakeCollector:
    def __init__(self, tls_context: ssl.SSLContext | None = None):
        self.spans: list[Span] = []
        self.exports: list[dict] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                content_type = self.headers.get("Content-Type", "")
                request = ExportTraceServiceRequest()
                if content_type.startswith("application/json"):
                    json_format.ParseDict(_hex_ids_to_base64(json.loads(body)), request)
                    answer, answer_type = b"{}", "application/json"
                else:
                    request.ParseFromString(body)
                    answer, answer_type = ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf"
                collector._record(self.path, dict(self.headers.items()), request)
                self.send_response(200)
                self.send_header("Content-Type", answer_type)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls_context is not None:
            self.server.socket = tls_context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _record(self, path, headers, request):
        spans = []
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                spans += [Span(span, resource, scope_spans.scope.name) for span in scope_spans.spans]
        with self.lock:
            self.exports.append({"path": path, "headers": {k.lower(): v for k, v in headers.items()}, "spans": len(spans)})
            self.spans += spans

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def exports_from(self, user_agent_prefix):
        with self.lock:
            return [export for export in self.exports if export["headers"].get("user-agent", "").startswith(user_agent_prefix)]

    def wait_for_spans(self, predicate, count, timeout=15.0):
        """The spans matching `predicate` once there are at least `count`, else what
        arrived before the deadline."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                found = [span for span in self.spans if predicate(span)]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def trace(self, trace_id, count, timeout=15.0):
        return self.wait_for_spans(lambda span: span.trace_id == trace_id, count, timeout)
