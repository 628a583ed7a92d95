"""One request, one trace: hoptrace's SERVER and CLIENT spans and the Flask backend's
own spans, joined by the traceparent hoptrace sends, checked at the collector."""

import time
import uuid

import requests

from collector import KIND_CLIENT, KIND_INTERNAL, KIND_SERVER, STATUS_ERROR, STATUS_UNSET
from conftest import PROXY_SERVICE, TEST_KEY
from otlp import stored_spans

STRING, INT = "string_value", "int_value"


def marked(path: str) -> tuple[str, str]:
    """The path with a unique query, to find the request's spans."""
    marker = uuid.uuid4().hex
    return f"{path}?request={marker}", marker


def proxy_server_span(stack, marker):
    found = stack.collector.wait_for_spans(
        lambda span: span.kind == KIND_SERVER and marker in (span.attribute("url.query") or ""), 1)
    assert found, f"no SERVER span from hoptrace for request {marker}; hoptrace log:\n{stack.proxy.log()}"
    return found[0]


def spans_of_trace(stack, trace_id, count):
    spans = stack.collector.trace(trace_id, count)
    assert len(spans) >= count, f"expected {count} spans in trace {trace_id}, got {spans}"
    return spans


def one(spans, predicate, what):
    matching = [span for span in spans if predicate(span)]
    assert len(matching) == 1, f"expected one {what}, got {matching} among {spans}"
    return matching[0]


def assert_types(span, expected):
    for key, kind in expected.items():
        assert span.attributes.get(key, (None,))[0] == kind, f"{key} on {span}: {span.attributes.get(key)}"


def test_api_request_is_one_trace_across_proxy_and_flask(stack):
    path, marker = marked("/api/activities/home")
    response = requests.get(stack.url(path), headers={"User-Agent": "e2e-test/1"}, timeout=10)
    assert response.status_code == 200
    assert response.json()[0]["handle"] == "Andrew Brown"

    server = proxy_server_span(stack, marker)
    spans = spans_of_trace(stack, server.trace_id, 4)
    client = one(spans, lambda span: span.service == PROXY_SERVICE and span.kind == KIND_CLIENT, "proxy CLIENT span")
    flask = one(spans, lambda span: span.service == "backend-flask" and span.kind == KIND_SERVER, "Flask SERVER span")
    inner = one(spans, lambda span: span.name == "home-activities-mock-data", "Flask inner span")

    assert server.service == PROXY_SERVICE and server.name == "GET /api/*"
    assert client.parent_span_id == server.span_id
    assert flask.parent_span_id == client.span_id, "Flask continued the trace from hoptrace's CLIENT span"
    assert inner.parent_span_id == flask.span_id and inner.kind == KIND_INTERNAL
    assert inner.service == "backend-flask"
    assert {span.trace_id for span in (server, client, flask, inner)} == {server.trace_id}

    # Stable semantic-convention attributes with their types (tracing.md).
    assert_types(server, {
        "http.request.method": STRING, "url.path": STRING, "url.query": STRING, "url.scheme": STRING,
        "http.route": STRING, "server.address": STRING, "server.port": INT, "client.address": STRING,
        "network.peer.address": STRING, "network.peer.port": INT, "network.protocol.version": STRING,
        "user_agent.original": STRING, "http.response.status_code": INT, "http.request.body.size": INT,
        "http.response.body.size": INT})
    assert server.attribute("http.route") == "/api/*"
    assert server.attribute("url.path") == "/api/activities/home"
    assert server.attribute("http.response.status_code") == 200
    assert server.attribute("user_agent.original") == "e2e-test/1"
    assert server.attribute("http.response.body.size") == len(response.content)
    assert_types(client, {
        "http.request.method": STRING, "server.address": STRING, "server.port": INT, "url.full": STRING,
        "network.peer.address": STRING, "http.response.status_code": INT})
    assert client.attribute("url.full").endswith(path)
    assert server.status_code == STATUS_UNSET and client.status_code == STATUS_UNSET
    # The CLIENT span covers the backend's work; the SERVER span covers both.
    assert server.start <= client.start <= flask.start and flask.end <= client.end <= server.end

    # Both exporters sent the Honeycomb header; hoptrace's resource says who it is.
    for agent in ("hoptrace/", "OTel-OTLP-Exporter-Python"):
        exports = stack.collector.exports_from(agent)
        assert exports, f"no exports from {agent}"
        assert all(export["headers"].get("x-honeycomb-team") == TEST_KEY for export in exports)
        assert all(export["path"] == "/v1/traces" for export in exports)
    assert server.scope == "hoptrace"
    # In the protocol and encoding the variables asked for.
    ours = stack.collector.exports_from("hoptrace/")
    content_type = "application/json" if stack.variant.startswith("json") else "application/x-protobuf"
    assert {export["headers"].get("content-type") for export in ours} == {content_type}
    encoding = "gzip" if stack.variant.endswith("gzip") else None
    assert {export["headers"].get("content-encoding") for export in ours} == {encoding}


def test_frontend_without_tracing_still_gets_proxy_spans(stack):
    path, marker = marked("/")
    response = requests.get(stack.url(path), timeout=10)
    assert response.status_code == 200
    assert "Cruddur" in response.text
    server = proxy_server_span(stack, marker)
    spans = spans_of_trace(stack, server.trace_id, 2)
    client = one(spans, lambda span: span.kind == KIND_CLIENT, "proxy CLIENT span")
    assert client.parent_span_id == server.span_id
    assert server.attribute("http.response.status_code") == 200
    assert client.attribute("http.response.status_code") == 200
    assert server.name == "GET /"
    assert all(span.service == PROXY_SERVICE for span in spans)


def test_exported_spans_are_kept_for_the_explorer_too(stack):
    """With an exporter and the admin listener on, hoptrace's own spans are exported
    and also kept in the store: `GET /traces/{id}` on the admin listener has the same
    SERVER and CLIENT spans the collector got (the backend exports to the collector
    only, so none of its spans are kept)."""
    path, marker = marked("/api/activities/home")
    assert requests.get(stack.url(path), timeout=10).status_code == 200
    server = proxy_server_span(stack, marker)
    exported = [span for span in spans_of_trace(stack, server.trace_id, 4) if span.service == PROXY_SERVICE]
    deadline = time.monotonic() + 10
    while True:
        response = requests.get(stack.admin_url(f"/traces/{server.trace_id}"), timeout=10)
        kept = stored_spans(response.json()) if response.status_code == 200 else []
        if len(kept) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert sorted((span.span_id, span.kind, span.name) for span in kept) == sorted(
        (span.span_id, span.kind, span.name) for span in exported), response.text
    assert {span.service for span in kept} == {PROXY_SERVICE}


def test_client_traceparent_from_a_trusted_address_is_continued(stack):
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    path, marker = marked("/api/activities/home")
    response = requests.get(stack.url(path), headers={"traceparent": f"00-{trace_id}-{parent}-01"}, timeout=10)
    assert response.status_code == 200
    spans = spans_of_trace(stack, trace_id, 4)
    server = one(spans, lambda span: span.service == PROXY_SERVICE and span.kind == KIND_SERVER, "proxy SERVER span")
    assert server.parent_span_id == parent
    assert marker in server.attribute("url.query")
    flask = one(spans, lambda span: span.service == "backend-flask" and span.kind == KIND_SERVER, "Flask SERVER span")
    assert flask.trace_id == trace_id


def test_flask_500_marks_client_and_server_spans_as_errors(stack):
    path, marker = marked("/api/activities/fail")
    response = requests.get(stack.url(path), timeout=10)
    assert response.status_code == 500
    assert response.json() == {"error": "the activity store is unavailable"}
    server = proxy_server_span(stack, marker)
    spans = spans_of_trace(stack, server.trace_id, 3)
    client = one(spans, lambda span: span.service == PROXY_SERVICE and span.kind == KIND_CLIENT, "proxy CLIENT span")
    flask = one(spans, lambda span: span.service == "backend-flask", "Flask span")
    assert client.status_code == STATUS_ERROR and server.status_code == STATUS_ERROR
    assert client.attribute("http.response.status_code") == 500
    assert client.attribute("error.type") == "500"
    assert flask.status_code == STATUS_ERROR


def test_backend_down_gives_502_and_the_spans_say_why(stack):
    path, marker = marked("/api/down/activities")
    started = time.monotonic()
    response = requests.get(stack.url(path), timeout=10)
    assert response.status_code == 502
    assert time.monotonic() - started < 5
    server = proxy_server_span(stack, marker)
    spans = spans_of_trace(stack, server.trace_id, 2)
    clients = [span for span in spans if span.kind == KIND_CLIENT]
    assert clients and all(span.status_code == STATUS_ERROR for span in clients)
    assert all(span.attribute("error.type") == "connection_refused" for span in clients)
    assert server.status_code == STATUS_ERROR
    assert server.attribute("http.response.status_code") == 502


def test_garbage_from_the_backend_gives_502_and_the_spans_say_why(stack):
    path, marker = marked("/api/garbage")
    response = requests.get(stack.url(path), timeout=10)
    assert response.status_code == 502
    server = proxy_server_span(stack, marker)
    spans = spans_of_trace(stack, server.trace_id, 2)
    client = [span for span in spans if span.kind == KIND_CLIENT][0]
    assert client.status_code == STATUS_ERROR
    assert client.attribute("error.type") == "invalid_upstream_response"
    assert server.status_code == STATUS_ERROR


def test_slow_backend_gives_504_after_the_header_timeout(stack):
    path, marker = marked("/api/activities/slow")
    started = time.monotonic()
    response = requests.get(stack.url(path + "&seconds=4"), timeout=10)
    assert response.status_code == 504
    assert 1.5 < time.monotonic() - started < 4
    server = proxy_server_span(stack, marker)
    client = one(spans_of_trace(stack, server.trace_id, 2), lambda span: span.kind == KIND_CLIENT, "proxy CLIENT span")
    assert client.attribute("error.type") == "response_header_timeout"
    assert client.status_code == STATUS_ERROR and server.status_code == STATUS_ERROR


def test_streamed_response_arrives_intact_and_its_spans_end_after_it(stack):
    path, marker = marked("/api/activities/stream")
    with requests.get(stack.url(path + "&delay=0.1"), stream=True, timeout=10) as response:
        assert response.status_code == 200
        first_byte = time.time_ns()
        lines = [line for line in response.iter_lines() if line]
        last_byte = time.time_ns()
    assert len(lines) == 6 and b"Andrew Brown" in lines[0]
    assert last_byte - first_byte >= 400_000_000, "the backend streams for about half a second"
    server = proxy_server_span(stack, marker)
    client = one(spans_of_trace(stack, server.trace_id, 3), lambda span: span.kind == KIND_CLIENT, "proxy CLIENT span")
    # Both spans end once the last byte was handed on, not when the head arrived.
    assert server.end >= first_byte + 400_000_000
    assert client.end >= first_byte + 400_000_000
    assert server.end <= last_byte + 100_000_000
    assert server.attribute("http.response.body.size") == sum(len(line) + 1 for line in lines)
