"""How fast the explorer lists and filters a full trace store.

Starts hoptrace (the binary given, release build by default) with the default store
limits, fills it through the OTLP receiver with 2,000 traces of 12 spans from three
services (OTLP/JSON, gzip off), then asks the admin listener's JSON API for the list with
each filter, many times, and prints the median and 99th percentile of the answer time
(over keep-alive HTTP on loopback, so the HTTP round trip is included), with the time
hoptrace took to ingest it all.

    python3 Tests/Benchmarks/store.py [path/to/hoptrace]
"""
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "hoptrace")
TRACES = 2000
SPANS_PER_TRACE = 12
REPEATS = 200


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def attribute(key, value):
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def request_for(traces, service, service_index, now):
    """One OTLP/JSON request: `service`'s spans of each trace in `traces`."""
    spans = []
    for number in traces:
        trace_id = f"{number + 1:032x}"
        base = now - (TRACES - number) * 1_000_000
        for index in range(SPANS_PER_TRACE // 3):
            span_id = f"{(number << 8) + service_index * 16 + index + 1:016x}"
            parent = f"{(number << 8) + service_index * 16 + index:016x}" if index else ""
            status = random.choice([200, 200, 200, 404, 500])
            spans.append({
                "traceId": trace_id, "spanId": span_id, "parentSpanId": parent,
                "name": f"GET /api/items/{index}", "kind": 2 if index == 0 else 1,
                "startTimeUnixNano": str(base + index * 1000), "endTimeUnixNano": str(base + random.randint(2_000, 50_000_000)),
                "attributes": [attribute("http.request.method", "GET"), attribute("http.route", f"/api/items/{number % 20}"),
                               attribute("http.response.status_code", status), attribute("app.user", f"user-{number % 97}"),
                               attribute("app.cached", number % 2 == 0)],
                "status": {"code": 2 if status == 500 else 0},
            })
    return {"resourceSpans": [{"resource": {"attributes": [attribute("service.name", service)]},
                               "scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}]}]}


def main():
    folder = tempfile.mkdtemp()
    port, admin, receiver, upstream = free_port(), free_port(), free_port(), free_port()
    config = os.path.join(folder, "hoptrace.yaml")
    with open(config, "w") as file:
        file.write(f"""listen: "127.0.0.1:{port}"
workers: 1
admin: "127.0.0.1:{admin}"
receiver: {{ listen: "127.0.0.1:{receiver}" }}
access_log: off
routes:
  - {{ name: all, path_prefix: /, upstream: backend }}
upstreams:
  backend: {{ servers: ["127.0.0.1:{upstream}"] }}
""")
    process = subprocess.Popen([BINARY, "run", "--config", config], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", admin), timeout=0.1).close()
                socket.create_connection(("127.0.0.1", receiver), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        now = time.time_ns()
        bodies = []
        for service_index, service in enumerate(("web", "api", "db")):
            for start in range(0, TRACES, 100):
                bodies.append(json.dumps(request_for(range(start, start + 100), service, service_index, now)).encode())
        ingest = http.client.HTTPConnection("127.0.0.1", receiver)
        started = time.perf_counter()
        for body in bodies:
            ingest.request("POST", "/v1/traces", body, {"Content-Type": "application/json"})
            response = ingest.getresponse()
            response.read()
            assert response.status == 200, response.status
        ingest_seconds = time.perf_counter() - started
        spans = TRACES * SPANS_PER_TRACE // 3 * 3
        api = http.client.HTTPConnection("127.0.0.1", admin)

        def ask(query):
            api.request("GET", "/traces" + query, headers={"Accept": "application/json"})
            response = api.getresponse()
            body = response.read()
            assert response.status == 200, (query, response.status, body[:200])
            return json.loads(body)

        listing = ask("?limit=1")
        print(f"trace store: {listing['store']['traces']} traces, {listing['store']['spans']} spans, "
              f"{listing['store']['bytes'] / 1048576:.1f} MiB estimated; "
              f"ingest of {spans} spans (OTLP/JSON, {len(bodies)} requests) took {ingest_seconds:.2f}s "
              f"({spans / ingest_seconds:,.0f} spans/s)")
        queries = [
            ("newest 100", ""),
            ("service", "?service=db"),
            ("route", "?route=%2Fapi%2Fitems%2F7"),
            ("status 5xx", "?status=5xx"),
            ("errors only", "?error=1"),
            ("duration range", "?min_ms=10&max_ms=30"),
            ("attribute", "?attr=app.user%3Duser-42"),
            ("trace id prefix", "?trace_id=0000"),
            ("everything, 2000", "?limit=2000"),
        ]
        print(f"listing and filtering {TRACES} traces, {REPEATS} times each, answer time over HTTP:")
        for name, query in queries:
            times = []
            matched = 0
            for _ in range(REPEATS):
                started = time.perf_counter()
                matched = ask(query)["matched"]
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            print(f"  {name:<17} matched {matched:>5}   median {statistics.median(times):6.2f} ms   "
                  f"p99 {times[int(len(times) * 0.99) - 1]:6.2f} ms")
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
