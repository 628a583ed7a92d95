"""The explorer's JSON API on the admin listener, and the join it exists for: the
example Flask backend sends its spans to hoptrace's OTLP receiver, hoptrace keeps them
with its own (no exporter needed), and one trace holds both, each under its own
`service.name`. With `receiver.forward`, what the backend sent also reaches the
collector through hoptrace's exporter. Spans are waited for with a deadline, never a
fixed sleep."""

import time
import uuid

import pytest
import requests

from collector import KIND_CLIENT, KIND_INTERNAL, KIND_SERVER
from conftest import PROXY_SERVICE, VARIANTS, LoneHoptrace, Stack
from otlp import T0, new_span_id, new_trace_id, span, stored_spans, trace_request

DEADLINE = 10.0
LIST_KEYS = {"version", "total", "matched", "traces", "facets", "store", "receiver", "service"}
ENTRY_KEYS = {"trace_id", "name", "root", "start_unix_nano", "duration_ms", "span_count", "error", "method", "route",
              "status", "services", "attempts", "retried", "changing", "missing_parents", "rejected_spans"}
STORE_KEYS = {"traces", "spans", "bytes", "max_traces", "max_bytes", "max_spans_per_trace", "evicted_traces",
              "rejected_spans"}


def marked(path: str) -> tuple[str, str]:
    """The path with a unique query, to find the request's trace."""
    marker = uuid.uuid4().hex
    return f"{path}?request={marker}", marker


def one(spans, predicate, what):
    matching = [span for span in spans if predicate(span)]
    assert len(matching) == 1, f"expected one {what}, got {matching} among {spans}"
    return matching[0]


def listing(admin_url, **filters) -> dict:
    response = requests.get(admin_url("/traces"), params=filters, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def trace_of_request(stack, marker) -> str:
    """The id of the trace whose proxy SERVER span has the request's marker in
    `url.query` (found with the `attr` filter), once it is kept."""
    deadline = time.monotonic() + DEADLINE
    while True:
        found = listing(stack.admin_url, attr=f"url.query=request={marker}")["traces"]
        if found:
            assert len(found) == 1, found
            return found[0]["trace_id"]
        assert time.monotonic() < deadline, f"no trace for request {marker}; hoptrace log:\n{stack.proxy.log()}"
        time.sleep(0.05)


def kept_spans(stack, trace_id, count):
    """The trace's spans from `GET /traces/{id}` once it holds at least `count`."""
    deadline = time.monotonic() + DEADLINE
    while True:
        response = requests.get(stack.admin_url(f"/traces/{trace_id}"), timeout=10)
        if response.status_code == 200:
            document = response.json()
            spans = stored_spans(document)
            if len(spans) >= count:
                return document, spans
        assert time.monotonic() < deadline, (
            f"trace {trace_id}: {response.status_code} {response.text[:2000]}\nbackend log:\n{stack.backend.log()}")
        time.sleep(0.05)


def entry_for(admin_url, trace_id) -> dict:
    [entry] = listing(admin_url, trace_id=trace_id)["traces"]
    assert set(entry) == ENTRY_KEYS
    return entry


@pytest.fixture(scope="module")
def explorer_stack(tmp_path_factory):
    """The backend sends to hoptrace's receiver; hoptrace exports nowhere (no
    OTEL_EXPORTER_OTLP_ENDPOINT): everything is kept for the explorer only."""
    running = Stack(tmp_path_factory.mktemp("explorer"), {}, {}, backend_to_receiver=True, proxy_exports=False)
    yield running
    running.stop()


def test_an_api_request_is_one_trace_of_proxy_and_flask_spans_in_the_store(explorer_stack):
    """hoptrace's SERVER and CLIENT spans and Flask's SERVER and inner spans, joined by
    trace id: Flask's SERVER span's parent is hoptrace's CLIENT span, each resource
    names its own service; the list entry says both services, one attempt, the route."""
    stack = explorer_stack
    path, marker = marked("/api/activities/home")
    response = requests.get(stack.url(path), timeout=10)
    assert response.status_code == 200 and response.json()[0]["handle"] == "Andrew Brown"

    trace_id = trace_of_request(stack, marker)
    document, spans = kept_spans(stack, trace_id, 4)
    assert len(spans) == 4, spans
    server = one(spans, lambda span: span.service == PROXY_SERVICE and span.kind == KIND_SERVER, "proxy SERVER span")
    client = one(spans, lambda span: span.service == PROXY_SERVICE and span.kind == KIND_CLIENT, "proxy CLIENT span")
    flask = one(spans, lambda span: span.service == "backend-flask" and span.kind == KIND_SERVER, "Flask SERVER span")
    inner = one(spans, lambda span: span.name == "home-activities-mock-data", "Flask inner span")
    assert server.name == "GET /api/*" and server.parent_span_id == ""
    assert client.parent_span_id == server.span_id
    assert flask.parent_span_id == client.span_id, "Flask continued the trace from hoptrace's CLIENT span"
    assert inner.parent_span_id == flask.span_id and inner.kind == KIND_INTERNAL and inner.service == "backend-flask"
    assert {span.trace_id for span in spans} == {trace_id}
    assert server.attribute("http.response.status_code") == 200

    # One ResourceSpans per sender: hoptrace's own resource, and the backend's.
    assert server.resource["telemetry.sdk.name"][1] == "hoptrace"
    assert flask.resource["telemetry.sdk.name"][1] == "opentelemetry"
    services = sorted(
        attribute["value"]["stringValue"] for group in document["resourceSpans"]
        for attribute in group["resource"]["attributes"] if attribute["key"] == "service.name")
    assert services == sorted([PROXY_SERVICE, "backend-flask"]), (
        "one ResourceSpans per sending resource (a resource's scopes are its scopeSpans)")
    assert server.scope == "hoptrace"

    entry = entry_for(stack.admin_url, trace_id)
    assert entry["services"] == [PROXY_SERVICE, "backend-flask"]
    assert (entry["name"], entry["root"], entry["method"], entry["route"], entry["status"]) == (
        "GET /api/*", "GET /api/*", "GET", "/api/*", 200)
    assert (entry["attempts"], entry["retried"], entry["span_count"], entry["error"]) == (1, False, 4, False)
    assert (entry["missing_parents"], entry["rejected_spans"]) == (0, 0)
    assert entry["start_unix_nano"] == server.start
    assert entry["duration_ms"] == pytest.approx((server.end - server.start) / 1e6, abs=0.001)

    for filters in ({"service": "backend-flask"}, {"service": PROXY_SERVICE}, {"route": "/api/*"},
                    {"status": "2xx"}, {"attr": "app.result_length=3"}, {"trace_id": trace_id[:6]}):
        assert trace_id in [item["trace_id"] for item in listing(stack.admin_url, **filters)["traces"]], filters
    for filters in ({"status": "5xx"}, {"error": "1"}, {"retry": "1"}, {"route": "/"}):
        assert trace_id not in [item["trace_id"] for item in listing(stack.admin_url, **filters)["traces"]], filters

    whole = listing(stack.admin_url)
    assert set(whole) == LIST_KEYS and set(whole["store"]) == STORE_KEYS
    assert whole["receiver"] == f"127.0.0.1:{stack.receiver}" and whole["service"] == PROXY_SERVICE
    assert {PROXY_SERVICE, "backend-flask"} <= set(whole["facets"]["services"])
    assert "/api/*" in whole["facets"]["routes"]
    # Nothing went to the collector: hoptrace has no exporter, the backend sends to hoptrace.
    assert stack.collector.spans == []


def test_a_frontend_request_is_a_trace_of_the_proxys_spans_only(explorer_stack):
    """The static frontend is not instrumented: its trace holds hoptrace's SERVER and
    CLIENT spans, under hoptrace's service only."""
    stack = explorer_stack
    path, marker = marked("/")
    response = requests.get(stack.url(path), timeout=10)
    assert response.status_code == 200 and "Cruddur" in response.text
    trace_id = trace_of_request(stack, marker)
    document, spans = kept_spans(stack, trace_id, 2)
    assert len(document["resourceSpans"]) == 1
    assert sorted(span.kind for span in spans) == [KIND_SERVER, KIND_CLIENT]
    assert {span.service for span in spans} == {PROXY_SERVICE}
    entry = entry_for(stack.admin_url, trace_id)
    assert entry["services"] == [PROXY_SERVICE]
    assert (entry["name"], entry["route"], entry["status"], entry["attempts"], entry["span_count"]) == (
        "GET /", "/", 200, 1, 2)


@pytest.fixture(scope="module", params=["protobuf", "json-gzip"])
def forwarding_stack(request, tmp_path_factory):
    """`receiver.forward: true`, hoptrace exporting to the fake collector (in the
    variant's protocol); the backend sends to hoptrace's receiver only."""
    proxy_env, _ = VARIANTS[request.param]
    running = Stack(tmp_path_factory.mktemp(f"forward-{request.param}"), proxy_env, {}, backend_to_receiver=True,
                    forward=True)
    running.variant = request.param
    yield running
    running.stop()


def test_forwarded_spans_reach_the_collector_and_stay_in_the_store(forwarding_stack):
    """The collector gets both hoptrace's spans and backend-flask's (which the backend
    sent to hoptrace only), all through hoptrace's exporter, in its protocol; the store
    keeps the same trace as well, although spans are exported."""
    stack = forwarding_stack
    path, marker = marked("/api/activities/home")
    assert requests.get(stack.url(path), timeout=10).status_code == 200

    found = stack.collector.wait_for_spans(
        lambda span: span.kind == KIND_SERVER and marker in (span.attribute("url.query") or ""), 1)
    assert found, f"no SERVER span from hoptrace for request {marker}; hoptrace log:\n{stack.proxy.log()}"
    trace_id = found[0].trace_id
    spans = stack.collector.trace(trace_id, 4, timeout=DEADLINE)
    assert sorted((span.service, span.kind) for span in spans) == sorted([
        (PROXY_SERVICE, KIND_SERVER), (PROXY_SERVICE, KIND_CLIENT), ("backend-flask", KIND_SERVER),
        ("backend-flask", KIND_INTERNAL)]), spans
    flask = one(spans, lambda span: span.service == "backend-flask" and span.kind == KIND_SERVER, "Flask SERVER span")
    client = one(spans, lambda span: span.service == PROXY_SERVICE and span.kind == KIND_CLIENT, "proxy CLIENT span")
    assert flask.parent_span_id == client.span_id
    assert flask.resource["telemetry.sdk.name"][1] == "opentelemetry", "forwarded with the backend's own resource"

    # Every export came from hoptrace, in the protocol its variables ask for.
    with stack.collector.lock:
        exports = list(stack.collector.exports)
    assert exports and all(export["headers"].get("user-agent", "").startswith("hoptrace/") for export in exports)
    content_type = "application/json" if stack.variant.startswith("json") else "application/x-protobuf"
    assert {export["headers"].get("content-type") for export in exports} == {content_type}
    encoding = "gzip" if stack.variant.endswith("gzip") else None
    assert {export["headers"].get("content-encoding") for export in exports} == {encoding}

    _, kept = kept_spans(stack, trace_id, 4)
    assert sorted((span.service, span.kind, span.span_id) for span in kept) == sorted(
        (span.service, span.kind, span.span_id) for span in spans)
    assert entry_for(stack.admin_url, trace_id)["services"] == [PROXY_SERVICE, "backend-flask"]


def test_a_kept_trace_is_one_resource_spans_per_sending_resource(tmp_path):
    """`GET /traces/{id}` groups spans as OTLP does: one ResourceSpans per resource that
    sent spans, its scopes as its scopeSpans (an SDK's instrumentation libraries and
    the application's own tracer are scopes of one resource)."""
    hoptrace = LoneHoptrace(tmp_path)
    try:
        trace_id = new_trace_id()
        root_id = new_span_id()
        request = trace_request(span(trace_id, root_id, name="GET /x", kind=KIND_SERVER), service="app", scope="flask")
        second_scope = request.resource_spans[0].scope_spans.add()
        second_scope.scope.name = "__main__"
        second_scope.spans.append(span(trace_id, name="inner", parent=root_id))
        other = trace_request(span(trace_id, name="elsewhere", parent=root_id), service="other-app").resource_spans[0]
        request.resource_spans.append(other)
        response = hoptrace.post(request.SerializeToString())
        assert response.status_code == 200 and response.content == b""
        document = requests.get(hoptrace.admin_url(f"/traces/{trace_id.hex()}"), timeout=10).json()
        groups = {
            next(item["value"]["stringValue"] for item in group["resource"]["attributes"] if item["key"] == "service.name"):
                sorted(scope["scope"]["name"] for scope in group["scopeSpans"])
            for group in document["resourceSpans"]}
        assert len(document["resourceSpans"]) == 2, document
        assert groups == {"app": ["__main__", "flask"], "other-app": ["e2e"]}
    finally:
        hoptrace.stop()


# --- Filters, on traces made by hand --------------------------------------------------


@pytest.fixture(scope="module")
def three_traces(tmp_path_factory):
    """hoptrace holding three received traces (and nothing else):
    cart  (shop; GET /cart 200, 5 ms, tenant=acme), the oldest;
    pay   (shop and payments; POST /pay 503, an error, 250 ms);
    query (search; GET /q 302, 40 ms), the newest."""
    hoptrace = LoneHoptrace(tmp_path_factory.mktemp("filters"))
    ids = {name: new_trace_id() for name in ("cart", "pay", "query")}
    cart_root = span(ids["cart"], name="GET /cart", kind=KIND_SERVER, start=T0, duration_ns=5_000_000, attributes={
        "http.request.method": "GET", "http.route": "/cart", "http.response.status_code": 200, "tenant": "acme"})
    pay_root_id = new_span_id()
    pay_root = span(ids["pay"], pay_root_id, name="POST /pay", kind=KIND_SERVER, start=T0 + 10**9,
                    duration_ns=250_000_000, error=True, attributes={
                        "http.request.method": "POST", "http.route": "/pay", "http.response.status_code": 503})
    pay_child = span(ids["pay"], name="charge", parent=pay_root_id, start=T0 + 10**9 + 1000, duration_ns=1_000_000)
    query_root = span(ids["query"], name="GET /q", kind=KIND_SERVER, start=T0 + 2 * 10**9, duration_ns=40_000_000,
                      attributes={"http.request.method": "GET", "http.route": "/q", "http.response.status_code": 302})
    for request in (trace_request(cart_root, service="shop"), trace_request(pay_root, service="shop"),
                    trace_request(pay_child, service="payments"), trace_request(query_root, service="search")):
        response = hoptrace.post(request.SerializeToString())
        assert response.status_code == 200 and response.content == b""
    hoptrace.ids = {name: trace_id.hex() for name, trace_id in ids.items()}
    yield hoptrace
    hoptrace.stop()


@pytest.mark.parametrize("filters, expected", [
    ({}, ["query", "pay", "cart"]),
    ({"service": "shop"}, ["pay", "cart"]),
    ({"service": "payments"}, ["pay"]),
    ({"route": "/pay"}, ["pay"]),
    ({"status": "2xx"}, ["cart"]),
    ({"status": "3xx"}, ["query"]),
    ({"status": "5xx"}, ["pay"]),
    ({"status": "4xx"}, []),
    ({"error": "1"}, ["pay"]),
    ({"error": "0"}, ["query", "pay", "cart"]),
    ({"retry": "1"}, []),
    ({"min_ms": "100"}, ["pay"]),
    ({"max_ms": "10"}, ["cart"]),
    ({"min_ms": "10", "max_ms": "100"}, ["query"]),
    ({"attr": "tenant=acme"}, ["cart"]),
    ({"attr": "http.response.status_code=503"}, ["pay"]),
    ({"attr": "service.name=payments"}, ["pay"]),
    ({"attr": "tenant=other"}, []),
    ({"service": "shop", "status": "5xx", "min_ms": "200"}, ["pay"]),
    ({"unknown_parameter": "is ignored"}, ["query", "pay", "cart"]),
], ids=lambda value: "&".join(f"{key}={item}" for key, item in value.items()) if isinstance(value, dict) else None)
def test_the_list_filters(three_traces, filters, expected):
    """Each filter keeps the traces it names, newest first; `matched` counts them."""
    answer = listing(three_traces.admin_url, **filters)
    names = {trace_id: name for name, trace_id in three_traces.ids.items()}
    assert [names[item["trace_id"]] for item in answer["traces"]] == expected
    assert answer["matched"] == len(expected) and answer["total"] == 3


def test_the_list_by_trace_id_prefix_and_limit(three_traces):
    ids = three_traces.ids
    assert [item["trace_id"] for item in listing(three_traces.admin_url, trace_id=ids["pay"][:5])["traces"]] == [ids["pay"]]
    assert [item["trace_id"] for item in listing(three_traces.admin_url, trace_id=ids["pay"].upper())["traces"]] == [ids["pay"]]
    limited = listing(three_traces.admin_url, limit=1)
    assert [item["trace_id"] for item in limited["traces"]] == [ids["query"]] and limited["matched"] == 3


def test_a_received_trace_is_summarised_from_its_entry_span(three_traces):
    entry = entry_for(three_traces.admin_url, three_traces.ids["pay"])
    assert (entry["name"], entry["method"], entry["route"], entry["status"], entry["error"]) == (
        "POST /pay", "POST", "/pay", 503, True)
    assert entry["services"] == ["shop", "payments"], "the entry span's service first"
    assert (entry["span_count"], entry["attempts"], entry["missing_parents"]) == (2, 0, 0)
    assert entry["start_unix_nano"] == T0 + 10**9 and entry["duration_ms"] == 250.0
    facets = listing(three_traces.admin_url)["facets"]
    assert facets == {"services": ["payments", "search", "shop"], "routes": ["/cart", "/pay", "/q"]}


@pytest.mark.parametrize("query", [
    "status=6xx", "status=200", "error=maybe", "retry=2", "min_ms=-1", "min_ms=abc", "max_ms=soon", "limit=0",
    "limit=2001", "limit=ten", "trace_id=xyz", "trace_id=abc", "attr=novalue", "attr=%3Dvalue", "min_ms=5&max_ms=1",
])
def test_a_bad_filter_value_is_400_text(three_traces, query):
    response = requests.get(three_traces.admin_url(f"/traces?{query}"), timeout=10)
    assert response.status_code == 400, response.text
    assert response.headers["Content-Type"].startswith("text/plain") and response.text.strip()


def test_a_trace_that_is_not_kept_is_404_and_a_bad_id_400(three_traces):
    assert requests.get(three_traces.admin_url(f"/traces/{new_trace_id().hex()}"), timeout=10).status_code == 404
    for bad in ("xyz", "a" * 31, "a" * 33, "g" * 32):
        assert requests.get(three_traces.admin_url(f"/traces/{bad}"), timeout=10).status_code == 400, bad
    # Either case names the same trace.
    assert requests.get(three_traces.admin_url(f"/traces/{three_traces.ids['cart'].upper()}"), timeout=10).status_code == 200


def test_a_browser_gets_the_explorer_page_at_the_same_urls(three_traces):
    for path in ("/", "/traces", f"/traces/{three_traces.ids['cart']}"):
        response = requests.get(three_traces.admin_url(path), headers={"Accept": "text/html"}, timeout=10)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html"), path
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
