"""hoptrace's OTLP/HTTP receiver against the OTLP specification, end to end: the real
OpenTelemetry Python exporter as a sender, and bodies made by hand with the official
`opentelemetry-proto` package for every answer the specification names (200 with or
without a partial success, 400, 405, 413, 415, 503), the JSON mapping's latitude, the
store's bounds, and gRPC exporters pointed at it by mistake. After every hostile
request hoptrace is still alive, still proxying and still healthy."""

import gzip
import http.client
import json
import random
import socket
import threading
import time
import zlib
from types import SimpleNamespace

import pytest
import requests
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry import trace as trace_api
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from collector import KIND_CLIENT, KIND_INTERNAL, KIND_SERVER, STATUS_ERROR
from conftest import PROXY_SERVICE, LoneHoptrace
from otlp import (
    JSON, PROTOBUF, T0, logs_response, metrics_response, new_span_id, new_trace_id, otlp_json, plain, span, status,
    stored_spans, trace_request, trace_response,
)

GRPC_HINT = "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def hoptrace(tmp_path_factory):
    """hoptrace with the receiver's and the store's defaults (on ports of its own)."""
    running = LoneHoptrace(tmp_path_factory.mktemp("receiver"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """hoptrace with a small body limit (a plain integer) and a small per-trace cap."""
    running = LoneHoptrace(tmp_path_factory.mktemp("small"), receiver="max_body_bytes: 65536",
                           store="max_spans_per_trace: 10")
    yield running
    running.stop()


@pytest.fixture
def start_hoptrace(tmp_path_factory):
    """Starts hoptrace with the given settings; all are stopped after the test."""
    started = []

    def start(**settings):
        started.append(LoneHoptrace(tmp_path_factory.mktemp("hoptrace"), **settings))
        return started[-1]

    yield start
    for running in started:
        running.stop()


def stored(hoptrace, trace_id: str):
    """The explorer's copy of a trace: the document and its spans."""
    response = requests.get(hoptrace.admin_url(f"/traces/{trace_id}"), timeout=10)
    assert response.status_code == 200, f"trace {trace_id}: {response.status_code} {response.text}"
    assert response.headers["Content-Type"].startswith(JSON)
    document = response.json()
    return document, stored_spans(document)


def summary(hoptrace, trace_id: str) -> dict:
    listing = hoptrace.traces(trace_id=trace_id)
    assert [entry["trace_id"] for entry in listing["traces"]] == [trace_id], listing
    return listing["traces"][0]


def by_name(spans):
    return {span.name: span for span in spans}


def full_success(response, content_type=PROTOBUF):
    """200 in the request's encoding, nothing refused: an empty protobuf body, `{}` in JSON."""
    assert response.status_code == 200, f"{response.status_code}: {response.content[:300]!r}"
    assert response.headers["Content-Type"].startswith(content_type)
    if content_type == PROTOBUF:
        assert response.content == b""
    else:
        assert response.json() == {}


def json_resource_spans(*spans, service="hand-made-json"):
    return {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
            "scopeSpans": [{"scope": {"name": "e2e"}, "spans": list(spans)}]}


def json_request(*spans, service="hand-made-json"):
    return {"resourceSpans": [json_resource_spans(*spans, service=service)]}


def json_span(trace_id: str, span_id: str, name: str = "json-span", **fields):
    return {"traceId": trace_id, "spanId": span_id, "name": name, "kind": KIND_INTERNAL,
            "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 1_000_000), **fields}


def encode_json(document) -> bytes:
    return json.dumps(document).encode()


# --- The OpenTelemetry Python SDK as the sender ---------------------------------------


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip], ids=["plain", "gzip"])
def test_the_python_sdk_exporter_delivers_a_tree_the_explorer_shows(hoptrace, compression):
    """What the standard OTLP/HTTP exporter sends (protobuf, gzip or not) is accepted
    (SUCCESS) and the explorer gives it back as OTLP/JSON: the sender's resource, the
    tree (parent ids, kinds), attribute values of every type, events, links, status.
    The list finds the trace by service and by attribute."""
    service = f"sdk-checkout-{compression.name.lower()}"
    finished = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service, "deployment.environment": "e2e"}))
    provider.add_span_processor(SimpleSpanProcessor(finished))
    tracer = provider.get_tracer("e2e.checkout", "1.2.3")
    elsewhere = tracer.start_span("batch-job")
    elsewhere.end()
    attributes = {
        "app.str": "hello", "app.int": 42, "app.float": 2.5, "app.bool": True,
        "app.strs": ["a", "b"], "app.ints": [1, 2, 3], "app.floats": [0.5, 1.5], "app.bools": [True, False],
        "http.request.method": "POST", "http.route": "/checkout", "http.response.status_code": 200,
    }
    with tracer.start_as_current_span("POST /checkout", kind=trace_api.SpanKind.SERVER, attributes=attributes) as root:
        with tracer.start_as_current_span("charge card", kind=trace_api.SpanKind.CLIENT,
                                          links=[trace_api.Link(elsewhere.get_span_context(), {"link.why": "batched"})]) as client:
            client.add_event("retrying", {"attempt": 2, "reason": "timeout"})
            with tracer.start_as_current_span("validate") as inner:
                inner.set_status(Status(StatusCode.ERROR, "card declined"))
    provider.shutdown()

    exporter = OTLPSpanExporter(endpoint=hoptrace.receiver_url(), compression=compression, timeout=10)
    assert exporter.export(finished.get_finished_spans()) == SpanExportResult.SUCCESS
    exporter.shutdown()

    trace_id = format(root.get_span_context().trace_id, "032x")
    document, spans = stored(hoptrace, trace_id)
    # One ResourceSpans for the one sender; ids as lowercase hex, kinds as integers.
    assert len(document["resourceSpans"]) == 1
    raw = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert all(item["traceId"] == trace_id for item in raw)
    assert all(isinstance(item["kind"], int) for item in raw)
    assert len(spans) == 3 and {span.service for span in spans} == {service}
    assert all(span.resource["deployment.environment"][1] == "e2e" for span in spans)
    assert all(span.scope == "e2e.checkout" for span in spans)

    named = by_name(spans)
    server, charge, validate = named["POST /checkout"], named["charge card"], named["validate"]
    assert server.kind == KIND_SERVER and server.parent_span_id == ""
    assert server.span_id == format(root.get_span_context().span_id, "016x")
    assert charge.kind == KIND_CLIENT and charge.parent_span_id == server.span_id
    assert validate.kind == KIND_INTERNAL and validate.parent_span_id == charge.span_id
    assert validate.status_code == STATUS_ERROR and validate.status_message == "card declined"
    assert {attribute.key: plain(attribute.value) for attribute in server.message.attributes} == attributes
    assert [(name, attributes) for name, _, attributes in charge.events] == [
        ("retrying", {"attempt": ("int_value", 2), "reason": ("string_value", "timeout")})]
    [link] = charge.message.links
    assert link.trace_id.hex() == format(elsewhere.get_span_context().trace_id, "032x")
    assert link.span_id.hex() == format(elsewhere.get_span_context().span_id, "016x")
    assert plain(link.attributes[0].value) == "batched"
    assert server.start == root.start_time and server.end == root.end_time

    entry = summary(hoptrace, trace_id)
    assert entry["name"] == "POST /checkout" and entry["services"] == [service]
    assert (entry["span_count"], entry["error"], entry["method"], entry["route"], entry["status"]) == (
        3, True, "POST", "/checkout", 200)
    assert (entry["attempts"], entry["retried"], entry["missing_parents"], entry["rejected_spans"]) == (0, False, 0, 0)

    def found(**filters):
        return [item["trace_id"] for item in hoptrace.traces(**filters)["traces"]]

    assert trace_id in found(service=service)
    assert trace_id not in found(service="someone-else")
    for text in ("app.str=hello", "app.int=42", "app.bool=true", "app.float=2.5", "deployment.environment=e2e"):
        assert trace_id in found(attr=text), text
    assert trace_id not in found(attr="app.str=goodbye")
    assert service in hoptrace.traces()["facets"]["services"]


# --- Answers ---------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["protobuf", "json", "protobuf-gzip", "json-gzip"])
def test_full_success_is_an_empty_response_in_the_requests_encoding(hoptrace, encoding):
    """200 with an empty `ExportTraceServiceResponse`: no body in protobuf, `{}` in JSON;
    the spans are kept."""
    trace_id = new_trace_id()
    request = trace_request(span(trace_id, name="a"), span(trace_id, name="b"), service=f"full-{encoding}")
    content_type = JSON if encoding.startswith("json") else PROTOBUF
    body = encode_json(otlp_json(request)) if content_type == JSON else request.SerializeToString()
    headers = {}
    if encoding.endswith("gzip"):
        body, headers = gzip.compress(body), {"Content-Encoding": "gzip"}
    full_success(hoptrace.post(body, content_type, headers=headers), content_type)
    _, spans = stored(hoptrace, trace_id.hex())
    assert sorted(span.name for span in spans) == ["a", "b"]
    assert {span.service for span in spans} == {f"full-{encoding}"}


def unusable_spans(trace_id: bytes):
    """Spans whose ids cannot be stored, one for each reason, with what is wrong."""
    return [
        span(trace_id[:15], name="trace id of 15 bytes"),
        span(bytes(16), name="trace id all zeros"),
        span(b"", name="no trace id"),
        span(trace_id, new_span_id()[:7], name="span id of 7 bytes"),
        span(trace_id, bytes(8), name="span id all zeros"),
        span(trace_id, parent=new_span_id()[:4], name="parent id of 4 bytes"),
    ]


@pytest.mark.parametrize("content_type", [PROTOBUF, JSON], ids=["protobuf", "json"])
def test_spans_with_unusable_ids_are_refused_in_a_partial_success(hoptrace, content_type):
    """A trace id that is not 16 bytes or is all zeros, a span id that is not 8 bytes
    or is all zeros, a parent id present but not 8 bytes: refused and counted in
    `partial_success` (with why), while the request's good spans are kept."""
    trace_id = new_trace_id()
    request = trace_request(span(trace_id, name="good one"), *unusable_spans(trace_id), span(trace_id, name="good two"))
    if content_type == JSON:
        document = otlp_json(request)
        response = hoptrace.post(encode_json(document), JSON)
        assert response.status_code == 200, response.text
        # OTLP/JSON names, the int64 count as a string.
        assert set(response.json()) == {"partialSuccess"}
        assert response.json()["partialSuccess"]["rejectedSpans"] == "6"
    else:
        response = hoptrace.post(request.SerializeToString())
        assert response.status_code == 200, response.content
    assert response.headers["Content-Type"].startswith(content_type)
    answer = trace_response(response)
    assert answer.partial_success.rejected_spans == 6
    message = answer.partial_success.error_message
    for reason in ("trace id", "span id", "parent span id"):
        assert reason in message, message
    _, spans = stored(hoptrace, trace_id.hex())
    assert sorted(span.name for span in spans) == ["good one", "good two"]


RANDOM_BYTES = random.Random(20).randbytes(4096)
VALID = trace_request(span(b"\x01" * 16, name="one"), span(b"\x01" * 16, name="two")).SerializeToString()
UNDECODABLE = {
    "random bytes": (PROTOBUF, RANDOM_BYTES, {}),
    "truncated protobuf": (PROTOBUF, VALID[:-7], {}),
    "protobuf field of the wrong wire type": (PROTOBUF, b"\x08\x01", {}),  # resource_spans as a varint
    "gzip of random bytes": (PROTOBUF, gzip.compress(RANDOM_BYTES), {"Content-Encoding": "gzip"}),
    "invalid gzip (protobuf)": (PROTOBUF, VALID, {"Content-Encoding": "gzip"}),
    "invalid gzip (json)": (JSON, b'{"resourceSpans":[]}', {"Content-Encoding": "gzip"}),
    "truncated gzip": (PROTOBUF, gzip.compress(VALID)[:-12], {"Content-Encoding": "gzip"}),
    "invalid JSON": (JSON, b'{"resourceSpans": [', {}),
    "JSON that is not an object": (JSON, b'[]', {}),
    "non-hex trace id": (JSON, encode_json(json_request(json_span("g" * 32, "1" * 16))), {}),
    "non-hex span id": (JSON, encode_json(json_request(json_span("1" * 32, "xyz!" * 4))), {}),
    "spans not an array": (JSON, encode_json({"resourceSpans": [{"scopeSpans": [{"spans": "many"}]}]}), {}),
    "name not a string": (JSON, encode_json(json_request(json_span("1" * 32, "1" * 16, name={"a": 1}))), {}),
    "time not a number": (JSON, encode_json(json_request(json_span("1" * 32, "1" * 16, startTimeUnixNano="soon"))), {}),
    "int value not an integer": (JSON, encode_json(json_request(json_span(
        "1" * 32, "1" * 16, attributes=[{"key": "n", "value": {"intValue": "twelve"}}]))), {}),
}


def test_the_random_bytes_are_not_a_request_for_the_official_parser_either():
    """The premise of two 400 cases: protobuf's own parser refuses these bodies too.
    (A field of the wrong wire type is read as an unknown field by protobuf's parsers;
    hoptrace refuses it, as a request that is not an OTLP one.)"""
    for body in (RANDOM_BYTES, VALID[:-7]):
        with pytest.raises(DecodeError):
            ExportTraceServiceRequest.FromString(body)


@pytest.mark.parametrize("case", list(UNDECODABLE))
def test_a_body_that_does_not_decode_is_400_with_a_status(hoptrace, case):
    """400 with a `google.rpc.Status` (INVALID_ARGUMENT, a message) in the request's
    encoding; hoptrace goes on."""
    content_type, body, headers = UNDECODABLE[case]
    response = hoptrace.post(body, content_type, headers=headers)
    assert response.status_code == 400, f"{case}: {response.status_code} {response.content[:300]!r}"
    assert response.headers["Content-Type"].startswith(content_type)
    answer = status(response)
    assert answer.code == 3 and answer.message, answer
    if content_type == JSON:
        assert set(response.json()) >= {"code", "message"}
    hoptrace.assert_serving()


@pytest.mark.parametrize("headers", [
    {"Content-Type": "text/plain"},
    {},
    {"Content-Type": "application/grpc"},
    {"Content-Type": PROTOBUF, "Content-Encoding": "br"},
    {"Content-Type": JSON, "Content-Encoding": "deflate"},
], ids=["text-plain", "no-content-type", "grpc", "brotli", "deflate"])
def test_another_content_type_or_encoding_is_415(hoptrace, headers):
    response = requests.post(hoptrace.receiver_url(), data=VALID, headers=headers, timeout=10)
    assert response.status_code == 415, response.text
    hoptrace.assert_serving()


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_another_method_is_405_with_allow_post(hoptrace, method):
    response = requests.request(method, hoptrace.receiver_url(), data=VALID, headers={"Content-Type": PROTOBUF}, timeout=10)
    assert response.status_code == 405, response.text
    assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize("path", ["/v1/trace", "/v2/traces", "/", "/v1/traces/extra", "/traces"])
def test_another_path_is_404(hoptrace, path):
    response = hoptrace.post(VALID, path=path)
    assert response.status_code == 404, response.text
    assert requests.get(hoptrace.receiver_url(path), timeout=10).status_code == 404


def metrics_request() -> ExportMetricsServiceRequest:
    """Seven data points: a gauge of 3, a sum of 2 and a histogram of 1 in one resource,
    a gauge of 1 in another."""
    request = ExportMetricsServiceRequest()
    scope = request.resource_metrics.add().scope_metrics.add()
    gauge = scope.metrics.add(name="queue.depth")
    for value in (1, 2, 3):
        gauge.gauge.data_points.add(as_int=value, time_unix_nano=T0)
    total = scope.metrics.add(name="requests")
    total.sum.aggregation_temporality = 2
    for value in (1.0, 2.0):
        total.sum.data_points.add(as_double=value, time_unix_nano=T0)
    histogram = scope.metrics.add(name="latency")
    histogram.histogram.data_points.add(count=4, sum=1.5, bucket_counts=[1, 3], explicit_bounds=[0.5])
    other = request.resource_metrics.add().scope_metrics.add().metrics.add(name="memory")
    other.gauge.data_points.add(as_double=1e6)
    return request


def logs_request() -> ExportLogsServiceRequest:
    """Four log records: three in one resource, one in another."""
    request = ExportLogsServiceRequest()
    scope = request.resource_logs.add().scope_logs.add()
    for text in ("one", "two", "three"):
        scope.log_records.add(time_unix_nano=T0, severity_number=9).body.string_value = text
    request.resource_logs.add().scope_logs.add().log_records.add().body.string_value = "four"
    return request


SIGNALS = {
    "metrics": ("/v1/metrics", metrics_request, metrics_response, 7, "rejected_data_points"),
    "logs": ("/v1/logs", logs_request, logs_response, 4, "rejected_log_records"),
}


@pytest.mark.parametrize("form", ["protobuf", "protobuf-gzip", "json", "json-snake_case"])
@pytest.mark.parametrize("signal", list(SIGNALS))
def test_metrics_and_logs_get_a_partial_success_refusing_all_of_them(hoptrace, signal, form):
    """SDKs export every signal by default: /v1/metrics and /v1/logs answer 200 with
    every data point / log record counted as rejected, and a message saying hoptrace
    keeps traces only (JSON names in lowerCamelCase or snake_case)."""
    path, make_request, decode_answer, count, field = SIGNALS[signal]
    request, headers = make_request(), {}
    if form.startswith("json"):
        content_type = JSON
        body = encode_json(json_format.MessageToDict(
            request, preserving_proto_field_name=form.endswith("snake_case"), use_integers_for_enums=True))
    else:
        content_type, body = PROTOBUF, request.SerializeToString()
    if form.endswith("gzip"):
        body, headers = gzip.compress(body), {"Content-Encoding": "gzip"}
    response = hoptrace.post(body, content_type, path=path, headers=headers)
    assert response.status_code == 200, f"{response.status_code} {response.content[:300]!r}"
    assert response.headers["Content-Type"].startswith(content_type)
    answer = decode_answer(response)
    assert getattr(answer.partial_success, field) == count, f"{body[:400]!r}: {answer}"
    assert "traces only" in answer.partial_success.error_message


def test_json_takes_what_the_otlp_json_mapping_allows(hoptrace):
    """OTLP/JSON as senders write it: ids in hex of either case, enums as integers or
    names, 64-bit integers as strings or as numbers (exact beyond 2^53), unknown fields
    ignored, snake_case names as well as lowerCamelCase, a charset parameter."""
    trace_id, server_id, client_id, inner_id = new_trace_id().hex(), new_span_id().hex(), new_span_id().hex(), new_span_id().hex()
    start = T0 + 123_456_789  # beyond 2^53: a double would not hold it exactly
    camel = json_request(
        json_span(trace_id.upper(), server_id.upper(), "upper-case ids", kind="SPAN_KIND_SERVER",
                  startTimeUnixNano=start, endTimeUnixNano=start + 5_000_000,
                  attributes=[{"key": "count", "value": {"intValue": 7}},
                              {"key": "http.response.status_code", "value": {"intValue": "201"}}],
                  futureField={"nested": [1, 2, 3]}),
        json_span(trace_id, client_id, "camel with string times", kind=KIND_CLIENT, parentSpanId=server_id.upper(),
                  startTimeUnixNano=str(start + 1_000), endTimeUnixNano=str(start + 4_000_000),
                  attributes=[{"key": "count", "value": {"intValue": "8"}}],
                  status={"code": "STATUS_CODE_ERROR", "message": "upstream said no"}),
        service="json-mapping")
    camel["somethingNew"] = {"ignored": True}
    camel["resourceSpans"][0]["resource"]["droppedAttributesCount"] = 0
    response = hoptrace.post(encode_json(camel), "application/json; charset=utf-8")
    full_success(response, JSON)

    snake = {"resource_spans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"string_value": "json-mapping"}}]},
        "scope_spans": [{"scope": {"name": "e2e"}, "spans": [{
            "trace_id": trace_id, "span_id": inner_id, "parent_span_id": client_id, "name": "snake_case",
            "kind": 1, "start_time_unix_nano": start + 2_000, "end_time_unix_nano": str(start + 3_000),
            "attributes": [{"key": "ratio", "value": {"double_value": 0.25}}], "unknown_thing": "x",
        }]}],
    }]}
    full_success(hoptrace.post(gzip.compress(encode_json(snake)), JSON, headers={"Content-Encoding": "gzip"}), JSON)

    document, spans = stored(hoptrace, trace_id)
    named = by_name(spans)
    assert set(named) == {"upper-case ids", "camel with string times", "snake_case"}
    server, client, inner = named["upper-case ids"], named["camel with string times"], named["snake_case"]
    assert server.span_id == server_id and server.kind == KIND_SERVER and server.parent_span_id == ""
    assert (server.start, server.end) == (start, start + 5_000_000)
    assert server.attribute("count") == 7 and server.attribute("http.response.status_code") == 201
    assert client.parent_span_id == server_id and client.kind == KIND_CLIENT
    assert (client.start, client.end) == (start + 1_000, start + 4_000_000)
    assert client.attribute("count") == 8
    assert (client.status_code, client.status_message) == (STATUS_ERROR, "upstream said no")
    assert inner.parent_span_id == client_id and inner.kind == KIND_INTERNAL
    assert (inner.start, inner.end) == (start + 2_000, start + 3_000)
    assert inner.attribute("ratio") == 0.25
    assert {span.service for span in spans} == {"json-mapping"}
    # The explorer writes ids in lowercase hex, whatever case came in.
    assert {item["traceId"] for group in document["resourceSpans"] for scope in group["scopeSpans"]
            for item in scope["spans"]} == {trace_id}
    entry = summary(hoptrace, trace_id)
    assert (entry["name"], entry["status"], entry["error"], entry["span_count"]) == ("upper-case ids", 201, True, 3)
    assert trace_id in [item["trace_id"] for item in hoptrace.traces(trace_id=trace_id[:8].upper())["traces"]]


# --- Limits ----------------------------------------------------------------------------


def test_spans_past_the_per_trace_cap_are_refused_in_a_partial_success(small):
    """`store.max_spans_per_trace: 10`: of 15 spans of one trace, 5 are refused (and
    counted: in the answer, the trace's summary and the store's statistics); a late
    span to the full trace is refused too, while another trace's is kept."""
    trace_id = new_trace_id()
    response = small.post(trace_request(*[span(trace_id, name=f"span {index}") for index in range(15)]).SerializeToString())
    assert response.status_code == 200
    answer = trace_response(response)
    assert answer.partial_success.rejected_spans == 5
    assert "most spans" in answer.partial_success.error_message
    entry = summary(small, trace_id.hex())
    assert (entry["span_count"], entry["rejected_spans"]) == (10, 5)
    assert small.traces()["store"]["rejected_spans"] >= 5
    _, spans = stored(small, trace_id.hex())
    assert len(spans) == 10

    other = new_trace_id()
    response = small.post(trace_request(span(trace_id, name="late"), span(other, name="elsewhere")).SerializeToString())
    assert trace_response(response).partial_success.rejected_spans == 1
    assert summary(small, trace_id.hex())["rejected_spans"] == 6
    assert summary(small, other.hex())["span_count"] == 1


def raw_head(port: int, length: int | None = None, chunked: bool = False, expect: bool = False,
             content_type: str = PROTOBUF) -> socket.socket:
    """A connection to the receiver that sent a POST /v1/traces head only."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = f"POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
    if length is not None:
        head += f"Content-Length: {length}\r\n"
    if chunked:
        head += "Transfer-Encoding: chunked\r\n"
    if expect:
        head += "Expect: 100-continue\r\n"
    sock.sendall((head + "\r\n").encode())
    return sock


def read_interim_or_final(sock: socket.socket) -> bytes:
    """The first response head on `sock` (a 100 Continue, or a final answer's head)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"closed after {data!r}"
        data += chunk
    return data


def response_on(sock: socket.socket) -> http.client.HTTPResponse:
    response = http.client.HTTPResponse(sock, method="POST")
    response.begin()
    return response


def test_a_declared_length_over_the_limit_is_413_before_the_body_is_sent(small):
    """`max_body_bytes: 65536`: a Content-Length above it is answered 413 from the head
    alone (nothing of the body was sent)."""
    started = time.monotonic()
    with raw_head(small.receiver, length=65537) as sock:
        response = response_on(sock)
        assert response.status == 413
        body = response.read()
    assert time.monotonic() - started < 3
    assert status(SimpleNamespace(content=body, headers={"Content-Type": response.getheader("Content-Type")})).message
    small.assert_serving()


def test_a_chunked_body_is_cut_with_413_once_it_passes_the_limit(small):
    """A chunked body has no declared length: it is refused as soon as what arrived
    passes the limit. The body here never ends (no last chunk), so only a cut answers."""
    chunk = b"\x00" * 16384
    with raw_head(small.receiver, chunked=True) as sock:
        try:
            for _ in range(16):  # 256 KiB, four times the limit
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused while sending
        sock.settimeout(5)
        response = response_on(sock)
        assert response.status == 413
    small.assert_serving()


def request_of_size(size: int) -> bytes:
    """A valid request of exactly `size` bytes (one span, its name as padding)."""
    trace_id = new_trace_id()
    bare = len(trace_request(span(trace_id, name="")).SerializeToString())
    for padding in range(max(size - bare - 12, 0), size - bare + 1):
        body = trace_request(span(trace_id, name="x" * padding)).SerializeToString()
        if len(body) == size:
            return body
    raise AssertionError(f"no request of {size} bytes")


@pytest.mark.parametrize("coding", ["plain", "gzip"])
def test_the_limit_is_inclusive_as_sent_and_once_inflated(small, coding):
    """`max_body_bytes: 65536`: a body of exactly 65536 bytes is taken, one of 65537
    refused with 413; gzipped, the same holds for the inflated size."""
    for size, expected in ((65536, 200), (65537, 413)):
        body, headers = request_of_size(size), {}
        if coding == "gzip":
            body, headers = gzip.compress(body), {"Content-Encoding": "gzip"}
            assert len(body) < 65536
        response = small.post(body, headers=headers)
        assert response.status_code == expected, f"{size} bytes {coding}: {response.content[:200]!r}"


def test_a_gzip_bomb_is_413_quickly_and_hoptrace_goes_on(start_hoptrace):
    """The limit applies again after gunzip: 100 MiB of zeros gzipped (about 100 KB,
    within a 1 MiB limit as sent) is refused with 413 once it inflates past 1 MiB,
    promptly (not inflated whole); hoptrace goes on, and gzip within the limit is fine."""
    hoptrace = start_hoptrace(receiver="max_body_bytes: 1MiB")
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MiB)
    bomb = b"".join(compressor.compress(zeros) for _ in range(100)) + compressor.flush()
    assert len(bomb) < MiB
    started = time.monotonic()
    response = hoptrace.post(bomb, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 413, response.content[:300]
    assert time.monotonic() - started < 3
    assert status(response).message
    hoptrace.assert_serving()
    trace_id = new_trace_id()
    full_success(hoptrace.post(gzip.compress(trace_request(span(trace_id)).SerializeToString()),
                               headers={"Content-Encoding": "gzip"}))
    assert len(stored(hoptrace, trace_id.hex())[1]) == 1


def test_the_receiver_is_busy_503_while_it_holds_64_mib_of_bodies(start_hoptrace):
    """Bodies being read count from their head: with 40 MiB declared by one upload, a
    second 40 MiB upload would pass 64 MiB held and gets 503 with Retry-After; once
    the first is gone, uploads are taken again."""
    hoptrace = start_hoptrace(receiver="max_body_bytes: 40MiB")
    declared = 40 * MiB
    with raw_head(hoptrace.receiver, length=declared, expect=True) as first:
        assert read_interim_or_final(first).startswith(b"HTTP/1.1 100")
        first.sendall(bytes(MiB))
        with raw_head(hoptrace.receiver, length=declared, expect=True) as second:
            response = response_on(second)
            assert response.status == 503
            assert response.getheader("Retry-After")
    # The first upload's connection is closed: what it held is free again.
    deadline = time.monotonic() + 10
    while True:
        with raw_head(hoptrace.receiver, length=declared, expect=True) as third:
            head = read_interim_or_final(third)
        if head.startswith(b"HTTP/1.1 100") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert head.startswith(b"HTTP/1.1 100"), head
    full_success(hoptrace.post(trace_request(span(new_trace_id())).SerializeToString()))
    hoptrace.assert_serving()


def many_spans(count: int, per_trace: int, first_trace: int = 1, name: str = "flood") -> bytes:
    """A request of `count` small spans, `per_trace` to a trace, trace ids counting up
    from `first_trace` (as 16-byte big-endian numbers)."""
    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    for index in range(count):
        added = scope_spans.spans.add()
        added.trace_id = (first_trace + index // per_trace).to_bytes(16, "big")
        added.span_id = (index + 1).to_bytes(8, "big")
        added.name = name
        added.start_time_unix_nano = T0 + index
        added.end_time_unix_nano = T0 + index + 1
    return request.SerializeToString()


def test_a_flood_of_traces_is_taken_and_the_store_stays_within_max_traces(start_hoptrace):
    """200,000 spans of 20,000 traces in one request (about 10 MB, within 16 MiB):
    200, all accepted; the store keeps the 1,000 newest traces (`max_traces`), counts
    the rest as evicted, and hoptrace goes on."""
    hoptrace = start_hoptrace(store="max_traces: 1000")
    traces = 20_000
    body = many_spans(200_000, 10)
    assert 8 * MiB < len(body) < 16 * MiB
    full_success(hoptrace.post(body, timeout=60))
    store = hoptrace.traces(limit=1)["store"]
    assert store["traces"] == 1000 and store["spans"] == 10_000
    assert store["evicted_traces"] == traces - 1000
    assert store["bytes"] <= store["max_bytes"]
    newest, oldest = traces.to_bytes(16, "big").hex(), (1).to_bytes(16, "big").hex()
    assert len(stored(hoptrace, newest)[1]) == 10
    assert requests.get(hoptrace.admin_url(f"/traces/{oldest}"), timeout=10).status_code == 404
    hoptrace.assert_serving()


def test_the_store_stays_within_max_bytes(start_hoptrace):
    """`store.max_bytes: 64KiB`: a few hundred KB of spans leave the store under it,
    the oldest traces evicted and counted."""
    hoptrace = start_hoptrace(store="max_bytes: 64KiB")
    full_success(hoptrace.post(many_spans(2_000, 5, name="b" * 200)))
    store = hoptrace.traces(limit=1)["store"]
    assert store["max_bytes"] == 65536
    assert 0 < store["bytes"] <= 65536 and store["evicted_traces"] > 0
    assert store["traces"] + store["evicted_traces"] == 400
    newest = (400).to_bytes(16, "big").hex()
    assert len(stored(hoptrace, newest)[1]) == 5


def test_proxying_goes_on_during_a_burst_of_ingest(hoptrace):
    """The receiver has its own thread: while spans pour in, proxied requests answer
    200 promptly."""
    bodies = [many_spans(20_000, 20, first_trace=10**9 + index * 1000, name="burst") for index in range(8)]
    answers = []

    def ingest():
        for body in bodies:
            answers.append(requests.post(hoptrace.receiver_url(), data=body, headers={"Content-Type": PROTOBUF},
                                         timeout=60).status_code)

    sender = threading.Thread(target=ingest)
    sender.start()
    proxied = []
    try:
        while sender.is_alive():
            started = time.monotonic()
            response = requests.get(hoptrace.url("/during-ingest"), timeout=10)
            proxied.append((response.status_code, time.monotonic() - started))
    finally:
        sender.join()
    assert answers == [200] * len(bodies)
    assert len(proxied) >= 5, "the proxied requests ran while spans were being sent"
    assert {code for code, _ in proxied} == {200}
    assert max(took for _, took in proxied) < 2, proxied


# --- gRPC exporters at the HTTP port ---------------------------------------------------


def test_an_http2_preface_is_closed_and_logged_once(hoptrace):
    """What an OTLP/gRPC exporter sends first (the HTTP/2 preface) gets the connection
    closed, and one line in the log saying which protocol to set, however many
    connections try."""
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", hoptrace.receiver), timeout=5) as sock:
            sock.sendall(HTTP2_PREFACE)
            try:
                assert sock.recv(4096) == b"", "nothing is answered to an HTTP/2 preface"
            except ConnectionResetError:
                pass
    deadline = time.monotonic() + 10
    while GRPC_HINT not in hoptrace.proxy.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = hoptrace.proxy.log()
    assert log.count(GRPC_HINT) == 1, log
    hoptrace.assert_serving()
    full_success(hoptrace.post(VALID))


# --- Configuration ---------------------------------------------------------------------


def test_receiver_null_turns_the_receiver_off(start_hoptrace):
    """`receiver: null`: no receiver (the explorer's list says so), proxying and the
    store of the proxy's own spans go on."""
    hoptrace = start_hoptrace(receiver=None)
    listing = hoptrace.traces()
    assert listing["receiver"] is None
    assert listing["service"] == PROXY_SERVICE
    hoptrace.assert_serving()
    assert "otlp_receiver=off" in hoptrace.proxy.log()


def test_the_list_names_the_receiver_and_the_store_limits(small):
    listing = small.traces()
    assert listing["receiver"] == f"127.0.0.1:{small.receiver}"
    assert listing["store"]["max_spans_per_trace"] == 10
    assert listing["store"]["max_traces"] == 2000 and listing["store"]["max_bytes"] == 64 * MiB
