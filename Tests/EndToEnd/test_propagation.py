"""Propagation and sampling policy with the real Flask backend: a Zipkin (B3) caller's
trace continued through hoptrace into Flask's spans, and `tracing.keep.errors` keeping
hoptrace's half of a failed request that the sampler left out."""

import uuid

import requests

from collector import KIND_CLIENT, KIND_SERVER
from conftest import PROXY_SERVICE, Stack
from test_trace import marked, one, proxy_server_span, spans_of_trace


def test_a_b3_caller_is_continued_into_the_flask_backends_trace(tmp_path):
    # Flask's SDK reads traceparent only; hoptrace reads b3 and writes both.
    stack = Stack(tmp_path, {"OTEL_PROPAGATORS": "b3,tracecontext"}, {})
    try:
        trace_id, caller = uuid.uuid4().hex, uuid.uuid4().hex[:16]
        response = requests.get(stack.url("/api/activities/home"), headers={"b3": f"{trace_id}-{caller}-1"}, timeout=10)
        assert response.status_code == 200
        assert response.headers["x-request-id"] == trace_id
        spans = spans_of_trace(stack, trace_id, 4)
        server = one(spans, lambda span: span.service == PROXY_SERVICE and span.kind == KIND_SERVER, "proxy SERVER span")
        client = one(spans, lambda span: span.service == PROXY_SERVICE and span.kind == KIND_CLIENT, "proxy CLIENT span")
        flask = one(spans, lambda span: span.service == "backend-flask" and span.kind == KIND_SERVER, "Flask SERVER span")
        assert server.parent_span_id == caller
        assert flask.parent_span_id == client.span_id
    finally:
        stack.stop()


def test_kept_errors_export_the_proxys_spans_of_an_unsampled_502(tmp_path):
    stack = Stack(tmp_path, {"OTEL_TRACES_SAMPLER": "always_off"}, {},
                  extra_config="tracing: { keep: { errors: true } }")
    try:
        path, marker = marked("/api/down/activities")
        response = requests.get(stack.url(path), timeout=10)
        assert response.status_code == 502
        server = proxy_server_span(stack, marker)
        spans = spans_of_trace(stack, server.trace_id, 2)
        assert server.attribute("sampling.reason") == "error"
        clients = [span for span in spans if span.kind == KIND_CLIENT]
        assert clients and all(span.attribute("sampling.reason") == "error" for span in clients)
        # A request that ends well stays unrecorded.
        path, marker = marked("/api/activities/home")
        assert requests.get(stack.url(path), timeout=10).status_code == 200
        stack.proxy.stop()  # flushes every span it recorded
        assert not [span for span in stack.collector.spans if marker in (span.attribute("url.query") or "")]
    finally:
        stack.stop()
