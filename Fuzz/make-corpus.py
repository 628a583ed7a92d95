#!/usr/bin/env python3
"""Writes the seed corpus of each fuzzer under Fuzz/Corpus/<fuzzer>/ (run from anywhere;
plain Python 3, no packages). The files are committed; run this again after changing
the tables it reads, and commit what changes.

Seeds come from the project's own cases where they exist: the HTTP/1.1 strictness table
(Tests/HTTP1Tests/StrictnessCases.swift), the trace-context vectors
(Tests/TracingTests/IncomingTraceContextTests.swift), the configuration examples (README,
deploy/, Tests/ConfigTests/). Response heads, bodies and OTLP requests are written here.
Each seed is small (a few KB at most): libFuzzer grows the corpus from them.
"""

import gzip
import json
import re
import shutil
import struct
import textwrap
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
CORPUS = FUZZ / "Corpus"
MAX_SEED = 8 * 1024


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "seed"


class Seeds:
    """The seeds of one fuzzer, written by name; a name used twice gets a number."""

    def __init__(self, fuzzer: str):
        self.directory = CORPUS / fuzzer
        shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True)
        self.names: set[str] = set()

    def add(self, name: str, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        if len(data) > MAX_SEED:
            return
        base = slug(name)
        name, number = base, 2
        while name in self.names:
            name, number = f"{base}-{number}", number + 1
        self.names.add(name)
        (self.directory / name).write_bytes(data)

    def __len__(self) -> int:
        return len(self.names)


# MARK: Swift string literals

SWIFT_ESCAPES = {"r": "\r", "n": "\n", "t": "\t", "0": "\0", '"': '"', "\\": "\\", "'": "'"}


def swift_string(body: str) -> str | None:
    """The value of a one-line Swift string literal's body; None if it interpolates."""
    if "\\(" in body:
        return None
    out, index = [], 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        escape = body[index + 1]
        if escape == "u":
            end = body.index("}", index)
            out.append(chr(int(body[index + 3:end], 16)))
            index = end + 1
        else:
            out.append(SWIFT_ESCAPES[escape])
            index += 2
    return "".join(out)


LITERAL = r'"((?:[^"\\\n]|\\.)*)"'


# MARK: HTTP/1.1 requests, from the strictness table

STRICTNESS = ROOT / "Tests/HTTP1Tests/StrictnessCases.swift"
CHUNKED_HEAD = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
TRAILER_HEAD = CHUNKED_HEAD + "5\r\nhello\r\n0\r\n"


def strictness_cases() -> list[tuple[str, str, bytes]]:
    """(kind, name, request bytes) for each case written as plain literals; cases built
    with expressions (64 KiB values, raw bytes) are left out: libFuzzer finds those."""
    source = STRICTNESS.read_text()
    cases = []
    pattern = re.compile(
        r"\b(request|field|chunked|trailer)\(\s*" + LITERAL + r",\s*" + LITERAL
        + r"\s*,\s*\.(?:reject|forward)\(\d+\)(?:,\s*body:\s*" + LITERAL + r")?")
    for match in pattern.finditer(source):
        kind, name, text, body = match.group(1), match.group(2), swift_string(match.group(3)), match.group(4)
        if text is None:
            continue
        if kind == "request":
            request = text
        elif kind == "field":
            request = f"POST / HTTP/1.1\r\nHost: a\r\n{text}\r\n\r\n" + ((swift_string(body) or "") if body else "")
        elif kind == "chunked":
            request = CHUNKED_HEAD + text
        else:
            request = TRAILER_HEAD + text
        cases.append((kind, swift_string(name) or name, request.encode("utf-8")))
    return cases


def request_seeds(cases) -> None:
    seeds = Seeds("FuzzRequestHead")
    for _, name, request in cases:
        seeds.add(name, request)
    seeds.add("get with query and fields",
              "GET /search?q=a&b=c HTTP/1.1\r\nHost: example.com\r\nUser-Agent: fuzz\r\nAccept: */*\r\n"
              "Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
              "tracestate: rojo=00f067aa0ba902b7\r\n\r\n")
    seeds.add("websocket upgrade",
              "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    seeds.add("chunked with extension and trailers then pipelined get",
              CHUNKED_HEAD + "3;x=y\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")
    seeds.add("connection close stops the stream",
              "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\nHost: a\r\n\r\n")
    seeds.add("three pipelined with bodies",
              "PUT /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
              "DELETE /b HTTP/1.1\r\nHost: a\r\n\r\n"
              "PATCH /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
    print(f"FuzzRequestHead: {len(seeds)} seeds")


# MARK: HTTP/1.1 responses

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "CONNECT", "OTHER"]


def response_seeds() -> None:
    """The first byte picks the request method (its index in METHODS); the rest is what
    the upstream sends."""
    seeds = Seeds("FuzzResponseHead")
    responses = {
        "200 content-length": "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
        "200 chunked with trailers": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n",
        "200 chunked no trailers": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        "200 until close": "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>until the end</html>",
        "http 1.0 keep-alive": "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
        "http 1.0 until close": "HTTP/1.0 200 OK\r\n\r\nbody",
        "204 no content": "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
        "304 not modified": "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 100\r\n\r\n",
        "100 continue then 200": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        "103 early hints then 201": "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        "101 switching protocols": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi",
        "te and cl": "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        "te not chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nrest",
        "te gzip chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "connection close with options": "HTTP/1.1 502 Bad Gateway\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nContent-Length: 0\r\n\r\n",
        "no reason phrase": "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
        "conflicting content-lengths": "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        "bare lf": "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        "obs-fold": "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
        "status 99": "HTTP/1.1 099 Low\r\n\r\n",
        "http 2": "HTTP/2.0 200 OK\r\n\r\n",
        "te in http 1.0": "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "leading empty lines": "\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
        "server timing and traceresponse": "HTTP/1.1 200 OK\r\nServer-Timing: upstream;dur=1.2\r\n"
                                           "traceresponse: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nContent-Length: 0\r\n\r\n",
    }
    for name, text in responses.items():
        data = text.encode("latin-1")
        seeds.add(f"get {name}", bytes([METHODS.index("GET")]) + data)
    for name in ("200 content-length", "200 chunked with trailers", "200 until close"):
        seeds.add(f"head {name}", bytes([METHODS.index("HEAD")]) + responses[name].encode("latin-1"))
    seeds.add("connect 200", bytes([METHODS.index("CONNECT")]) + b"HTTP/1.1 200 Connection established\r\n\r\n")
    seeds.add("post 413", bytes([METHODS.index("POST")]) + b"HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbig")
    print(f"FuzzResponseHead: {len(seeds)} seeds")


# MARK: Bodies

CHUNKED, LENGTH, UNTIL_CLOSE, SMALL_LIMITS, HUGE_LENGTH = 0, 2, 3, 4, 8


def body_seed(framing: int, body: bytes, length: int = 0, seed: int = 0) -> bytes:
    """The four control bytes FuzzBodyDecoder reads (framing and limits, split seed,
    Content-Length little-endian), then the body."""
    return bytes([framing, seed]) + struct.pack("<H", length) + body


def body_seeds(cases) -> None:
    seeds = Seeds("FuzzBodyDecoder")
    head = CHUNKED_HEAD.encode()
    trailer_head = TRAILER_HEAD.encode()
    for kind, name, request in cases:
        if kind == "chunked" and request.startswith(head):
            seeds.add(f"chunked {name}", body_seed(CHUNKED, request[len(head):], seed=len(seeds)))
        elif kind == "trailer" and request.startswith(trailer_head):
            body = request[len(head):]
            seeds.add(f"trailer {name}", body_seed(CHUNKED, body, seed=len(seeds)))
            seeds.add(f"trailer {name} small limits", body_seed(CHUNKED | SMALL_LIMITS, body, seed=len(seeds)))
    seeds.add("chunked several chunks then next message",
              body_seed(CHUNKED, b"1\r\na\r\n10\r\n0123456789abcdef\r\nA;x=\"q\"\r\n0123456789\r\n0\r\n\r\nGET / HTTP/1.1\r\n"))
    seeds.add("chunked long extension small limits",
              body_seed(CHUNKED | SMALL_LIMITS, b"2;" + b"e" * 20 + b"\r\nok\r\n0\r\n\r\n"))
    seeds.add("chunked uppercase hex", body_seed(CHUNKED, b"1F\r\n" + b"x" * 31 + b"\r\n0\r\n\r\n"))
    seeds.add("chunked sixteen digits", body_seed(CHUNKED, b"0000000000000001\r\nx\r\n0\r\n\r\n"))
    seeds.add("length exact", body_seed(LENGTH, b"hello", length=5))
    seeds.add("length with next message", body_seed(LENGTH, b"helloGET / HTTP/1.1\r\n\r\n", length=5))
    seeds.add("length truncated", body_seed(LENGTH, b"hel", length=5))
    seeds.add("length zero", body_seed(LENGTH, b"anything", length=0))
    seeds.add("length near 2^64", body_seed(LENGTH | HUGE_LENGTH, b"some data", length=1))
    seeds.add("until close", body_seed(UNTIL_CLOSE, b"all of it, to the end"))
    print(f"FuzzBodyDecoder: {len(seeds)} seeds")


# MARK: Trace context

TRACE_TESTS = ROOT / "Tests/TracingTests/IncomingTraceContextTests.swift"
VALID_PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def trace_context_seeds() -> None:
    """First line `traceparent`, each further line one `tracestate` field."""
    seeds = Seeds("FuzzTraceContext")
    source = TRACE_TESTS.read_text()
    # The table of invalid values, by their names; then every other parent the tests use.
    named = {swift_string(value): name for name, value in re.findall(r'\(\s*"([^"\\]+)",\s*' + LITERAL + r'\s*\)', source)}
    for value, name in named.items():
        seeds.add(f"parent {name}", value)
    others = sorted({m for m in re.findall(r'"([0-9a-f]{2}-[0-9a-f]{32}-[^"\n]*)"', source)} - set(named))
    for index, parent in enumerate(others):
        seeds.add(f"parent {index}", parent)
        seeds.add(f"parent {index} with state", f"{parent}\nrojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
    members = [swift_string(m.group(1)) for m in re.finditer(r'"((?:[^"\\\n]|\\.)*=(?:[^"\\\n]|\\.)*)"', source)]
    for member in sorted({m for m in members if m is not None and "-" not in m[:3]}):
        seeds.add(f"state {member[:30]}", f"{VALID_PARENT}\nok=1,{member}")
    seeds.add("state across two fields", f"{VALID_PARENT}\nrojo=00f067aa0ba902b7, congo=t61rcWkgMzE\nvendor@tenant=x")
    seeds.add("state empty members", f"{VALID_PARENT}\na=1,, ,b=2")
    seeds.add("state 32 members", VALID_PARENT + "\n" + ",".join(f"k{i}=v" for i in range(32)))
    seeds.add("state 33 members", VALID_PARENT + "\n" + ",".join(f"k{i}=v" for i in range(33)))
    seeds.add("state long values", VALID_PARENT + "\n" + ",".join(f"key{i}=" + "v" * 200 for i in range(4)))
    seeds.add("empty", "")
    print(f"FuzzTraceContext: {len(seeds)} seeds")


# MARK: Configuration

def config_seeds() -> None:
    seeds = Seeds("FuzzConfig")
    minimal = 'routes:\n  - { name: web, path_prefix: /, upstream: frontend }\nupstreams:\n  frontend: { servers: ["127.0.0.1:3000"] }\n'
    readme = (ROOT / "README.md").read_text()
    for index, block in enumerate(re.findall(r"```yaml\n(.*?)```", readme, re.S)):
        # A section shown alone (tracing:) is a configuration with the minimal one.
        seeds.add(f"readme {index}", block if "routes:" in block else minimal + block)
    for path in sorted((ROOT / "deploy").glob("hoptrace*.yaml")):
        seeds.add(f"deploy {path.stem}", path.read_text())
    configmap = (ROOT / "deploy/kubernetes/configmap.yaml").read_text()
    embedded = re.search(r"hoptrace\.yaml: \|\n((?:    .*\n|\n)+)", configmap)
    if embedded:
        seeds.add("kubernetes configmap", textwrap.dedent(embedded.group(1)))
    for path in sorted((ROOT / "Tests/ConfigTests").glob("*.swift")):
        # Multi-line literals: the closing delimiter's indentation is stripped (Swift's rule).
        for index, match in enumerate(re.finditer(r'"""\n(.*?)\n([ ]*)"""', path.read_text(), re.S)):
            body, indent = match.group(1), match.group(2)
            if "\\(" in body:
                continue
            lines = [swift_string(line[len(indent):] if line.startswith(indent) else line.lstrip())
                     for line in body.split("\n")]
            seeds.add(f"{path.stem} {index}", "\n".join(lines) + "\n")
    seeds.add("anchors and aliases", minimal + "x-shared: &shared { max_idle: 1 }\n")
    seeds.add("not a mapping", "- a\n- b\n")
    seeds.add("invalid yaml", "routes: [ { name: a \n")
    seeds.add("ipv6 and names", 'listen: "[::1]:8080"\nroutes:\n  - { name: a, host: "*.example.com", path: /x, upstream: b }\n'
              'upstreams:\n  b: { servers: ["[::1]:80", "backend:8080", "http://svc"], resolve_interval: 0 }\n'
              'tracing: { trusted_networks: ["10.0.0.0/8", "::1/128", "192.168.1.1"], untrusted_context: ignore }\n')
    print(f"FuzzConfig: {len(seeds)} seeds")


# MARK: OTLP

def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def tag(number: int, wire: int) -> bytes:
    return varint(number << 3 | wire)


def pb_varint(number: int, value: int) -> bytes:
    return tag(number, 0) + varint(value & 0xFFFF_FFFF_FFFF_FFFF)


def pb_bytes(number: int, value: bytes | str) -> bytes:
    if isinstance(value, str):
        value = value.encode()
    return tag(number, 2) + varint(len(value)) + value


def pb_fixed64(number: int, value: int) -> bytes:
    return tag(number, 1) + struct.pack("<Q", value)


def pb_double(number: int, value: float) -> bytes:
    return tag(number, 1) + struct.pack("<d", value)


def pb_fixed32(number: int, value: int) -> bytes:
    return tag(number, 5) + struct.pack("<I", value)


def any_value(value) -> tuple[bytes, dict]:
    """An AnyValue as protobuf and as OTLP/JSON."""
    if isinstance(value, bool):
        return pb_varint(2, int(value)), {"boolValue": value}
    if isinstance(value, int):
        return pb_varint(3, value), {"intValue": str(value)}
    if isinstance(value, float):
        return pb_double(4, value), {"doubleValue": value}
    if isinstance(value, bytes):
        import base64
        return pb_bytes(7, value), {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, list):
        items = [any_value(item) for item in value]
        return pb_bytes(5, b"".join(pb_bytes(1, p) for p, _ in items)), {"arrayValue": {"values": [j for _, j in items]}}
    if isinstance(value, dict):
        pairs = key_values(value)
        return pb_bytes(6, b"".join(pb_bytes(1, p) for p, _ in pairs)), {"kvlistValue": {"values": [j for _, j in pairs]}}
    return pb_bytes(1, str(value)), {"stringValue": str(value)}


def key_values(attributes: dict) -> list[tuple[bytes, dict]]:
    result = []
    for key, value in attributes.items():
        proto, js = any_value(value)
        result.append((pb_bytes(1, key) + pb_bytes(2, proto), {"key": key, "value": js}))
    return result


T0 = 1_767_225_600_000_000_000
TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")


def span(span_id: bytes, name: str, trace: bytes = TRACE, parent: bytes = b"", kind: int = 2,
         attributes: dict | None = None, events=(), links=(), status: tuple[int, str] | None = None,
         trace_state: str = "", flags: int | None = None) -> tuple[bytes, dict]:
    proto = pb_bytes(1, trace) + pb_bytes(2, span_id)
    js: dict = {"traceId": trace.hex(), "spanId": span_id.hex()}
    if trace_state:
        proto += pb_bytes(3, trace_state)
        js["traceState"] = trace_state
    if parent:
        proto += pb_bytes(4, parent)
        js["parentSpanId"] = parent.hex()
    if flags is not None:
        proto += pb_fixed32(16, flags)
        js["flags"] = flags
    proto += pb_bytes(5, name) + pb_varint(6, kind) + pb_fixed64(7, T0) + pb_fixed64(8, T0 + 1_500_000)
    js.update({"name": name, "kind": kind, "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 1_500_000)})
    pairs = key_values(attributes or {})
    proto += b"".join(pb_bytes(9, p) for p, _ in pairs)
    if pairs:
        js["attributes"] = [j for _, j in pairs]
    for event_name, event_attributes in events:
        event_pairs = key_values(event_attributes)
        proto += pb_bytes(11, pb_fixed64(1, T0 + 1000) + pb_bytes(2, event_name) + b"".join(pb_bytes(3, p) for p, _ in event_pairs))
        js.setdefault("events", []).append({"timeUnixNano": str(T0 + 1000), "name": event_name, "attributes": [j for _, j in event_pairs]})
    for link_trace, link_span in links:
        proto += pb_bytes(13, pb_bytes(1, link_trace) + pb_bytes(2, link_span))
        js.setdefault("links", []).append({"traceId": link_trace.hex(), "spanId": link_span.hex()})
    if status:
        proto += pb_bytes(15, pb_bytes(2, status[1]) + pb_varint(3, status[0]))
        js["status"] = {"message": status[1], "code": status[0]}
    return proto, js


def resource_spans(service: str, scopes: list[tuple[str, list[tuple[bytes, dict]]]], schema_url: str = "") -> tuple[bytes, dict]:
    resource_pairs = key_values({"service.name": service, "host.name": "fuzz"})
    proto = pb_bytes(1, b"".join(pb_bytes(1, p) for p, _ in resource_pairs))
    js: dict = {"resource": {"attributes": [j for _, j in resource_pairs]}, "scopeSpans": []}
    for scope_name, spans in scopes:
        scope = pb_bytes(1, pb_bytes(1, scope_name) + pb_bytes(2, "1.0"))
        proto += pb_bytes(2, scope + b"".join(pb_bytes(2, p) for p, _ in spans))
        js["scopeSpans"].append({"scope": {"name": scope_name, "version": "1.0"}, "spans": [j for _, j in spans]})
    if schema_url:
        proto += pb_bytes(3, schema_url)
        js["schemaUrl"] = schema_url
    return proto, js


def trace_request(*resources: tuple[bytes, dict]) -> tuple[bytes, bytes]:
    proto = b"".join(pb_bytes(1, p) for p, _ in resources)
    js = json.dumps({"resourceSpans": [j for _, j in resources]}, separators=(",", ":")).encode()
    return proto, js


def otlp_requests() -> dict[str, tuple[bytes, bytes]]:
    server = span(bytes.fromhex("b7ad6b7169203331"), "GET /api/activities", kind=2,
                  attributes={"http.request.method": "GET", "http.response.status_code": 200, "url.path": "/api"},
                  trace_state="rojo=00f067aa0ba902b7", flags=0x301)
    client = span(bytes.fromhex("00f067aa0ba902b7"), "SELECT", parent=bytes.fromhex("b7ad6b7169203331"), kind=3,
                  attributes={"db.system": "postgresql", "retry": True, "ratio": 0.25, "tags": ["a", 1, False],
                              "nested": {"k": "v"}, "raw": b"\x00\x01"},
                  events=[("exception", {"exception.type": "Timeout"})],
                  links=[(bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736"), bytes.fromhex("00f067aa0ba902b8"))],
                  status=(2, "timed out"))
    return {
        "one span": trace_request(resource_spans("backend-flask", [("flask", [server])])),
        "parent and child": trace_request(resource_spans("backend-flask", [("flask", [server, client])],
                                                         schema_url="https://opentelemetry.io/schemas/1.24.0")),
        "two services": trace_request(resource_spans("frontend", [("fetch", [client])]),
                                      resource_spans("backend", [("flask", [server]), ("sql", [client])])),
        "rejected ids": trace_request(resource_spans("bad", [("ids", [
            span(b"\x00" * 8, "zero span id"), span(b"\x01" * 7, "short span id"),
            span(b"\x02" * 8, "zero trace", trace=b"\x00" * 16), span(b"\x03" * 8, "short trace", trace=b"\x04" * 15)])])),
        "empty request": (b"", b"{}"),
        "empty resource": trace_request((b"", {})),
    }


def metrics_request() -> tuple[bytes, bytes]:
    point = pb_fixed64(3, T0) + pb_double(4, 1.5)
    metric = pb_bytes(1, "requests") + pb_bytes(5, pb_bytes(1, point) + pb_bytes(1, point))
    proto = pb_bytes(1, pb_bytes(2, pb_bytes(2, metric)))
    js = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "requests", "gauge": {"dataPoints": [
        {"timeUnixNano": str(T0), "asDouble": 1.5}, {"timeUnixNano": str(T0), "asDouble": 1.5}]}}]}]}]}
    return proto, json.dumps(js).encode()


def logs_request() -> tuple[bytes, bytes]:
    record = pb_fixed64(1, T0) + pb_varint(2, 9) + pb_bytes(3, "INFO") + pb_bytes(5, pb_bytes(1, "hello"))
    proto = pb_bytes(1, pb_bytes(2, pb_bytes(2, record)))
    js = {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": str(T0), "severityNumber": 9,
                                                           "severityText": "INFO", "body": {"stringValue": "hello"}}]}]}]}
    return proto, json.dumps(js).encode()


TRACES, METRICS, LOGS, GZIP_HERE, GZIP_RAW = 0, 1, 2, 4, 8


def otlp_seeds() -> None:
    """The first byte picks path and coding (see IngestCheck); the rest is the body."""
    proto_seeds, json_seeds = Seeds("FuzzOTLPProtobuf"), Seeds("FuzzOTLPJSON")
    for name, (proto, js) in otlp_requests().items():
        proto_seeds.add(name, bytes([TRACES]) + proto)
        json_seeds.add(name, bytes([TRACES]) + js)
    proto, js = otlp_requests()["parent and child"]
    proto_seeds.add("gzip here", bytes([TRACES | GZIP_HERE]) + proto)
    proto_seeds.add("gzip as sent", bytes([TRACES | GZIP_RAW]) + gzip.compress(proto, mtime=0))
    proto_seeds.add("gzip two members", bytes([TRACES | GZIP_RAW]) + gzip.compress(proto[:10], mtime=0) + gzip.compress(proto[10:], mtime=0))
    json_seeds.add("gzip as sent", bytes([TRACES | GZIP_RAW]) + gzip.compress(js, mtime=0))
    proto_seeds.add("truncated", bytes([TRACES]) + proto[:-3])
    proto_seeds.add("wrong wire type", bytes([TRACES]) + pb_varint(1, 5))
    proto_seeds.add("deep nesting", bytes([TRACES]) + deep_any_value(40))
    for name, (proto, js) in {"metrics": metrics_request(), "logs": logs_request()}.items():
        signal = METRICS if name == "metrics" else LOGS
        proto_seeds.add(name, bytes([signal]) + proto)
        json_seeds.add(name, bytes([signal]) + js)
    # JSON spellings the receiver also takes: snake_case, enum names, numbers for 64-bit
    # integers, uppercase hex, unknown fields.
    variant = json.dumps({"resource_spans": [{"scope_spans": [{"spans": [{
        "trace_id": TRACE.hex().upper(), "span_id": "B7AD6B7169203331", "name": "x", "kind": "SPAN_KIND_CLIENT",
        "start_time_unix_nano": T0, "end_time_unix_nano": T0 + 5, "status": {"code": "STATUS_CODE_ERROR"},
        "unknown": [1, {"a": None}], "attributes": [{"key": "n", "value": {"int_value": 7, "double_value": 1e300}}],
    }]}]}]})
    json_seeds.add("snake case and names", bytes([TRACES]) + variant.encode())
    json_seeds.add("escapes", bytes([TRACES]) + '{"resourceSpans":[{"resource":{"attributes":[{"key":"\\u00e9\\ud83d\\ude00\\n","value":{"stringValue":"\\"q\\" \\\\ \\/"}}]}}]}'.encode())
    json_seeds.add("not an object", bytes([TRACES]) + b"[1, 2.5e-3, true, null]")
    json_seeds.add("deep arrays", bytes([TRACES]) + b"[" * 64 + b"]" * 64)
    print(f"FuzzOTLPProtobuf: {len(proto_seeds)} seeds, FuzzOTLPJSON: {len(json_seeds)} seeds")


def deep_any_value(depth: int) -> bytes:
    """A span attribute whose value is an array in an array … `depth` deep."""
    value = pb_bytes(1, "leaf")
    for _ in range(depth):
        value = pb_bytes(5, pb_bytes(1, value))
    attribute = pb_bytes(1, "deep") + pb_bytes(2, value)
    one_span = pb_bytes(1, TRACE) + pb_bytes(2, b"\x05" * 8) + pb_bytes(9, attribute)
    return pb_bytes(1, pb_bytes(2, pb_bytes(2, one_span)))


def main() -> None:
    cases = strictness_cases()
    request_seeds(cases)
    response_seeds()
    body_seeds(cases)
    trace_context_seeds()
    config_seeds()
    otlp_seeds()


if __name__ == "__main__":
    main()
