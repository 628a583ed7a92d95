"""/metrics read by Prometheus' own text parser (prometheus_client): after requests of
known routes and statuses, and a retry, every count is exact; a thousand distinct paths
make no new series. /readyz says ready once hoptrace listens."""

import json
import re
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from collector import FakeCollector
from conftest import FAST_BATCHES, HOPTRACE, PROXY_SERVICE, Service, Upstream, free_port, wait_for_http


def scrape(admin):
    text = requests.get(f"http://127.0.0.1:{admin}/metrics", timeout=5).text
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample(families, family, name, **labels):
    for found in families[family].samples:
        if found.name == name and all(found.labels.get(key) == value for key, value in labels.items()):
            return found.value
    return None


def test_metrics_are_exact_and_bounded(tmp_path):
    upstream = Upstream()
    port, admin, down = free_port(), free_port(), free_port()
    config = tmp_path / "hoptrace.yaml"
    config.write_text(f"""
listen: "127.0.0.1:{port}"
workers: 2
admin: "127.0.0.1:{admin}"
receiver: null
access_log: off
routes:
  - {{ name: api, path_prefix: /api, upstream: up }}
  - {{ name: down, path_prefix: /down, upstream: gone }}
upstreams:
  up: {{ servers: ["127.0.0.1:{upstream.port}"] }}
  gone: {{ servers: ["127.0.0.1:{down}"] }}
""")
    proxy = Service("hoptrace", [HOPTRACE, "run", "--config", config], {
        "OTEL_SERVICE_NAME": PROXY_SERVICE, "OTEL_EXPORTER_OTLP_ENDPOINT": None}, tmp_path)
    try:
        wait_for_http(f"http://127.0.0.1:{admin}/healthz", process=proxy)
        assert requests.get(f"http://127.0.0.1:{admin}/readyz", timeout=5).text.strip() == "ready"
        with requests.Session() as session:
            for index in range(20):
                assert session.get(f"http://127.0.0.1:{port}/api/item/{index}", timeout=5).status_code == 200
            # A thousand paths no route takes: hoptrace answers 404 itself.
            for index in range(1000):
                assert session.get(f"http://127.0.0.1:{port}/nowhere/{index}", timeout=5).status_code == 404
            assert session.get(f"http://127.0.0.1:{port}/down", timeout=5).status_code == 502

        api = {"http_request_method": "GET", "http_response_status_code": "200", "http_route": "api",
               "network_protocol_version": "1.1"}
        # Workers hand in their counts every second.
        deadline = time.monotonic() + 10
        while True:
            families = scrape(admin)
            count = sample(families, "http_server_request_duration_seconds", "http_server_request_duration_seconds_count", **api)
            others = sample(families, "http_server_request_duration_seconds", "http_server_request_duration_seconds_count",
                            http_route="_other")
            failed = sample(families, "http_server_request_duration_seconds", "http_server_request_duration_seconds_count",
                            http_route="down")
            if (count, others, failed) == (20, 1000, 1) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert count == 20
        server = families["http_server_request_duration_seconds"]
        assert sample(families, "http_server_request_duration_seconds", "http_server_request_duration_seconds_bucket",
                      le="+Inf", **api) == 20
        series = {tuple(sorted(s.labels.items())) for s in server.samples if s.name.endswith("_count")}
        assert len(series) == 3, series  # api 200, _other 404, down 502: never a path
        assert sample(families, "http_server_request_duration_seconds", "http_server_request_duration_seconds_count",
                      http_route="_other", http_response_status_code="404") == 1000
        assert sample(families, "hoptrace_upstream_attempts", "hoptrace_upstream_attempts_total", outcome="connect_error") == 2
        assert sample(families, "hoptrace_upstream_retries", "hoptrace_upstream_retries_total") == 1
        assert sample(families, "hoptrace_local_responses", "hoptrace_local_responses_total",
                      http_response_status_code="502") == 1
        assert sample(families, "http_client_request_duration_seconds", "http_client_request_duration_seconds_count",
                      upstream="up", http_response_status_code="200") == 20
        assert sample(families, "hoptrace_build_info", "hoptrace_build_info") == 1
        # OpenMetrics when asked for, ending with # EOF.
        open_metrics = requests.get(f"http://127.0.0.1:{admin}/metrics",
                                    headers={"Accept": "application/openmetrics-text"}, timeout=5)
        assert open_metrics.headers["Content-Type"].startswith("application/openmetrics-text")
        assert open_metrics.text.endswith("# EOF\n")
        # The Grafana dashboard in deploy/ asks only for what hoptrace exposes.
        dashboard = json.loads((Path(__file__).parents[2] / "deploy" / "prometheus" / "grafana-dashboard.json").read_text())
        asked = {re.sub(r"_(bucket|count|sum|total)$", "", name)
                 for panel in dashboard["panels"] for target in panel["targets"]
                 for name in re.findall(r"\b(?:http|hoptrace)_[a-z_]+",
                                        re.sub(r"\{[^}]*\}|by \([^)]*\)", "", target["expr"]))}
        assert asked and asked <= set(families), asked - set(families)
    finally:
        proxy.stop()
        upstream.stop()


def start_exporting_proxy(tmp_path, upstream, endpoint, env=None):
    """One worker with the admin listener, a route /api to `upstream`, every request
    sampled and exported to `endpoint` in batches sent within 200 ms."""
    port, admin = free_port(), free_port()
    config = tmp_path / "hoptrace.yaml"
    config.write_text(f"""
listen: "127.0.0.1:{port}"
workers: 1
admin: "127.0.0.1:{admin}"
receiver: null
access_log: off
routes:
  - {{ name: api, path_prefix: /api, upstream: up }}
upstreams:
  up: {{ servers: ["127.0.0.1:{upstream.port}"], keepalive: {{ max_idle: 8 }} }}
""")
    proxy = Service("hoptrace", [HOPTRACE, "run", "--config", config], {
        "OTEL_SERVICE_NAME": PROXY_SERVICE, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_TRACES_SAMPLER": "always_on", **FAST_BATCHES, **(env or {})}, tmp_path)
    try:
        wait_for_http(f"http://127.0.0.1:{admin}/healthz", process=proxy)
    except BaseException:
        proxy.stop()
        raise
    return proxy, port, admin


def scrape_until(admin, done, timeout):
    """Scrapes until `done(families)` (workers and exporters hand in their counts as they
    go), or the deadline; returns the last scrape."""
    deadline = time.monotonic() + timeout
    while True:
        families = scrape(admin)
        if done(families) or time.monotonic() > deadline:
            return families
        time.sleep(0.2)


def test_span_export_is_counted_until_the_collector_has_every_span(tmp_path):
    """10 requests make 20 spans (SERVER and CLIENT): recorded, handed on, exported, none
    dropped or waiting once the collector has them; one export request at least, none
    failed. The open upstream connections include the idle ones kept for reuse."""
    upstream, collector = Upstream(), FakeCollector()
    proxy, port, admin = start_exporting_proxy(tmp_path, upstream, f"http://127.0.0.1:{collector.port}")
    try:
        with requests.Session() as session:
            for index in range(10):
                assert session.get(f"http://127.0.0.1:{port}/api/{index}", timeout=5).status_code == 200
        assert len(collector.wait_for_spans(lambda span: True, 20)) == 20

        def exported(families):
            return sample(families, "hoptrace_spans_exported", "hoptrace_spans_exported_total")

        def connections(families):
            return sample(families, "hoptrace_upstream_connections", "hoptrace_upstream_connections")

        families = scrape_until(admin, lambda found: (exported(found), connections(found)) == (20, 1), timeout=10)
        assert exported(families) == 20
        assert sample(families, "hoptrace_spans_recorded", "hoptrace_spans_recorded_total") == 20
        assert sample(families, "hoptrace_spans_handed_on", "hoptrace_spans_handed_on_total") == 20
        assert sample(families, "hoptrace_span_queue_spans", "hoptrace_span_queue_spans") == 0
        for reason in ("span_queue_full", "export_queue_full", "export_failed", "rejected_by_collector"):
            assert sample(families, "hoptrace_spans_dropped", "hoptrace_spans_dropped_total", reason=reason) == 0, reason
        assert sample(families, "hoptrace_span_export_requests", "hoptrace_span_export_requests_total") >= 1
        assert sample(families, "hoptrace_span_exports_failed", "hoptrace_span_exports_failed_total") == 0
        # One kept connection (the requests came one after another), idle in its pool.
        assert connections(families) == 1
        assert sample(families, "hoptrace_upstream_idle_connections", "hoptrace_upstream_idle_connections") == 1
    finally:
        proxy.stop()
        collector.stop()
        upstream.stop()


def test_a_collector_that_is_down_shows_as_failed_exports_and_dropped_spans(tmp_path):
    upstream = Upstream()
    # Nothing listens on `nowhere`: each export fails to connect, is retried within the
    # export timeout (1 s here), then given up.
    nowhere = free_port()
    proxy, port, admin = start_exporting_proxy(
        tmp_path, upstream, f"http://127.0.0.1:{nowhere}", {"OTEL_EXPORTER_OTLP_TIMEOUT": "1000"})
    try:
        assert requests.get(f"http://127.0.0.1:{port}/api/x", timeout=5).status_code == 200

        def failed(families):
            return sample(families, "hoptrace_spans_dropped", "hoptrace_spans_dropped_total", reason="export_failed")

        families = scrape_until(admin, lambda found: failed(found) == 2, timeout=15)
        assert failed(families) == 2
        assert sample(families, "hoptrace_span_exports_failed", "hoptrace_span_exports_failed_total") == 1
        assert sample(families, "hoptrace_spans_exported", "hoptrace_spans_exported_total") == 0
        assert sample(families, "hoptrace_span_queue_spans", "hoptrace_span_queue_spans") == 0
    finally:
        proxy.stop()
        upstream.stop()
