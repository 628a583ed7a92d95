"""The stack of the end-to-end suite, started for real on 127.0.0.1 with ports the
system picks: the example Flask backend (OpenTelemetry SDK, exporting by itself, to the
collector or to hoptrace's OTLP receiver), a static frontend, a backend that answers
garbage, a fake OTLP collector, and hoptrace in front, configured for tracing only by
the OTEL_* variables. hoptrace's receiver always listens on a port of its own here
(its default, 127.0.0.1:4318, may be taken on the machine running the suite)."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from collector import FakeCollector

ROOT = Path(__file__).resolve().parents[2]
HOPTRACE = Path(os.environ.get("HOPTRACE_BIN", ROOT / ".build" / "debug" / "hoptrace"))
BACKEND_APP = ROOT / "deploy" / "example" / "backend-flask" / "app.py"
FRONTEND_DIR = ROOT / "deploy" / "example" / "frontend-react-js"
TEST_KEY = "e2e-test-key"
PROXY_SERVICE = "edge-proxy"
# Spans reach the collector within a second (the standard batch delay is 5 s).
FAST_BATCHES = {"OTEL_BSP_SCHEDULE_DELAY": "200"}


_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now, never one this run handed out before.

    The probe is closed before the port is used, so the kernel may offer the same port
    to the next probe: a stack that asked for its listener and its admin port in a row
    would then get one port twice, and hoptrace would fail with "Address already in use"."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def wait_for_http(url: str, timeout: float = 30.0, process: "Service | None" = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{process.log()}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answers on {url}" + (f":\n{process.log()}" if process else ""))


class Service:
    """A child process with its output in a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, command: list, env: dict, folder: Path):
        """`env` adds to this process's environment; a value of None removes the variable."""
        self.name = name
        self.log_path = folder / f"{name}.log"
        self.log_file = open(self.log_path, "wb")
        environment = {key: value for key, value in {**os.environ, **env}.items() if value is not None}
        self.popen = subprocess.Popen(
            [str(part) for part in command], env=environment,
            stdout=self.log_file, stderr=subprocess.STDOUT, cwd=folder)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> float:
        """Sends SIGTERM; returns how long the process took to exit."""
        started = time.monotonic()
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.log_file.close()
        return time.monotonic() - started


class GarbageBackend:
    """Reads a request and answers bytes that are not HTTP."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(b"THIS IS NOT HTTP\r\n\r\n")

    def stop(self):
        self.listener.close()


def hoptrace_config(folder: Path, port: int, admin: int, receiver: int, backend: int, frontend: int, garbage: int,
                    down: int, forward: bool = False, extra: str = "") -> Path:
    path = folder / "hoptrace.yaml"
    path.write_text(f"""
listen: "127.0.0.1:{port}"
workers: 2
admin: "127.0.0.1:{admin}"
receiver: {{ listen: "127.0.0.1:{receiver}", forward: {str(forward).lower()} }}
access_log: off
timeouts: {{ upstream_header: 2s }}
routes:
  - {{ name: down, path_prefix: /api/down, upstream: down }}
  - {{ name: garbage, path_prefix: /api/garbage, upstream: garbage }}
  - {{ name: api, path_prefix: /api, upstream: backend }}
  - {{ name: web, path_prefix: /, upstream: frontend }}
upstreams:
  backend: {{ servers: ["127.0.0.1:{backend}"] }}
  frontend: {{ servers: ["127.0.0.1:{frontend}"] }}
  garbage: {{ servers: ["127.0.0.1:{garbage}"] }}
  down: {{ servers: ["127.0.0.1:{down}"] }}
{extra}
""")
    return path


class Stack:
    """Everything of one run of the suite; `stop()` stops all of it.

    By default both hoptrace and the backend export to the fake collector. With
    `backend_to_receiver` the backend sends its spans to hoptrace's OTLP receiver
    instead; with `proxy_exports=False` hoptrace has no OTLP endpoint (its spans and the
    received ones are only kept for the explorer); `forward` is `receiver.forward`."""

    def __init__(self, folder: Path, proxy_env: dict, backend_env: dict, collector: FakeCollector | None = None,
                 collector_url: str | None = None, *, backend_to_receiver: bool = False, proxy_exports: bool = True,
                 forward: bool = False, extra_config: str = ""):
        if not HOPTRACE.exists():
            raise RuntimeError(f"{HOPTRACE} is missing: build it first (swift build), or set HOPTRACE_BIN")
        self.folder = folder
        self.services: list[Service] = []
        self.collector = collector if collector is not None else FakeCollector()
        endpoint = collector_url or f"http://127.0.0.1:{self.collector.port}"
        self.garbage = GarbageBackend()
        try:
            backend_port, frontend_port = free_port(), free_port()
            self.port, self.admin, self.receiver = free_port(), free_port(), free_port()
            backend_endpoint = self.receiver if backend_to_receiver else self.collector.port
            self.backend = self._start("backend", [sys.executable, BACKEND_APP], {
                "HOST": "127.0.0.1", "PORT": str(backend_port),
                "OTEL_SERVICE_NAME": "backend-flask",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{backend_endpoint}",
                "OTEL_EXPORTER_OTLP_HEADERS": f"x-honeycomb-team={TEST_KEY}",
                **FAST_BATCHES, **backend_env})
            self.frontend = self._start("frontend", [
                sys.executable, "-m", "http.server", frontend_port, "--bind", "127.0.0.1", "--directory", FRONTEND_DIR], {})
            config = hoptrace_config(folder, self.port, self.admin, self.receiver, backend_port, frontend_port,
                                     self.garbage.port, free_port(), forward=forward, extra=extra_config)
            self.proxy = self._start("hoptrace", [HOPTRACE, "run", "--config", config], {
                "OTEL_SERVICE_NAME": PROXY_SERVICE,
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint if proxy_exports else None,
                "OTEL_EXPORTER_OTLP_HEADERS": f"x-honeycomb-team={TEST_KEY}",
                **FAST_BATCHES, **proxy_env})
            wait_for_http(f"http://127.0.0.1:{backend_port}/api/health", process=self.backend)
            wait_for_http(f"http://127.0.0.1:{frontend_port}/", process=self.frontend)
            wait_for_http(f"http://127.0.0.1:{self.admin}/healthz", process=self.proxy)
        except BaseException:
            self.stop()
            raise

    def _start(self, name, command, env) -> Service:
        service = Service(name, command, env, self.folder)
        self.services.append(service)
        return service

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def admin_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.admin}{path}"

    def stop(self):
        for service in reversed(self.services):
            service.stop()
        self.garbage.stop()
        self.collector.stop()


class Upstream:
    """A backend that answers every GET with 200 `upstream ok`."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "11")
                self.end_headers()
                self.wfile.write(b"upstream ok")

            def log_message(self, *_):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class LoneHoptrace:
    """hoptrace by itself: one route to `Upstream`, the admin listener and the OTLP
    receiver, each on a port of its own, and no exporter (spans are kept for the
    explorer only). `receiver` and `store` are extra YAML flow-mapping entries;
    `receiver=None` turns the receiver off (`receiver: null`)."""

    def __init__(self, folder: Path, receiver: str | None = "", store: str = "", env: dict | None = None):
        self.folder = folder
        self.upstream = Upstream()
        self.port, self.admin, self.receiver = free_port(), free_port(), free_port()
        if receiver is None:
            receiver_yaml = "null"
        else:
            receiver_yaml = f'{{ listen: "127.0.0.1:{self.receiver}"' + (f", {receiver}" if receiver else "") + " }"
        config = folder / "hoptrace.yaml"
        config.write_text(f"""
listen: "127.0.0.1:{self.port}"
workers: 1
admin: "127.0.0.1:{self.admin}"
access_log: off
receiver: {receiver_yaml}
store: {{ {store} }}
routes:
  - {{ name: web, path_prefix: /, upstream: up }}
upstreams:
  up: {{ servers: ["127.0.0.1:{self.upstream.port}"] }}
""")
        try:
            self.proxy = Service("hoptrace", [HOPTRACE, "run", "--config", config], {
                "OTEL_SERVICE_NAME": PROXY_SERVICE, "OTEL_EXPORTER_OTLP_ENDPOINT": None,
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": None, **(env or {})}, folder)
            wait_for_http(self.admin_url("/healthz"), process=self.proxy)
        except BaseException:
            self.stop()
            raise

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def admin_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.admin}{path}"

    def receiver_url(self, path: str = "/v1/traces") -> str:
        return f"http://127.0.0.1:{self.receiver}{path}"

    def post(self, body: bytes, content_type: str | None = "application/x-protobuf", path: str = "/v1/traces",
             headers: dict | None = None, timeout: float = 30) -> requests.Response:
        fields = {"Content-Type": content_type} if content_type else {}
        return requests.post(self.receiver_url(path), data=body, headers={**fields, **(headers or {})}, timeout=timeout)

    def traces(self, **filters) -> dict:
        """`GET /traces` with `filters` as the query."""
        response = requests.get(self.admin_url("/traces"), params=filters, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def assert_serving(self):
        """Still alive, still proxying, still healthy."""
        assert self.proxy.popen.poll() is None, f"hoptrace exited with {self.proxy.popen.returncode}:\n{self.proxy.log()}"
        response = requests.get(self.url("/still-there"), timeout=5)
        assert (response.status_code, response.text) == (200, "upstream ok")
        assert requests.get(self.admin_url("/healthz"), timeout=5).status_code == 200

    def stop(self):
        if hasattr(self, "proxy"):
            self.proxy.stop()
        self.upstream.stop()


VARIANTS = {
    "protobuf": ({}, {}),
    "json": ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, {}),
    "protobuf-gzip": ({"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}, {"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}),
    "json-gzip": ({"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"},
                  {"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}),
}


@pytest.fixture(scope="module", params=list(VARIANTS), ids=list(VARIANTS))
def stack(request, tmp_path_factory):
    """The whole stack, once per export variant of hoptrace (the Python exporter only
    speaks protobuf; it follows the gzip setting)."""
    proxy_env, backend_env = VARIANTS[request.param]
    running = Stack(tmp_path_factory.mktemp(request.param), proxy_env, backend_env)
    running.variant = request.param
    yield running
    running.stop()
