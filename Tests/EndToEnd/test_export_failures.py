"""What a collector that is down, or not who it claims to be, does to hoptrace: nothing
to the requests it proxies, and a clear line in its log. And HTTPS export, verified."""

import subprocess
import time

import pytest
import requests

from collector import KIND_SERVER, FakeCollector
from conftest import PROXY_SERVICE, Stack, free_port


def wait_for_log(stack, text, timeout=10.0):
    deadline = time.monotonic() + timeout
    while text not in stack.proxy.log():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_collector_down_leaves_requests_alone_and_sigterm_is_prompt(tmp_path):
    stack = Stack(tmp_path, {}, {}, collector_url=f"http://127.0.0.1:{free_port()}")
    try:
        started = time.monotonic()
        for _ in range(50):
            assert requests.get(stack.url("/api/activities/home"), timeout=5).status_code == 200
        assert time.monotonic() - started < 10
        # The export gives up after its timeout (10 s by default), retrying meanwhile.
        assert wait_for_log(stack, "span export failed", timeout=20.0), stack.proxy.log()
        assert stack.proxy.popen.poll() is None
        exit_took = stack.proxy.stop()
        assert exit_took < 6, "shutdown flush is bounded (3 s) even with the collector down"
        assert stack.proxy.popen.returncode == 0
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A throwaway CA and a certificate for `localhost` it signed."""
    folder = tmp_path_factory.mktemp("tls")

    def openssl(*arguments):
        subprocess.run(["openssl", *arguments], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=hoptrace e2e CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (folder / "server.ext").write_text("subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
    return folder


def tls_collector(certificates):
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates / "server.pem", certificates / "server.key")
    return FakeCollector(tls_context=context)


def test_https_export_verifies_the_collector_and_delivers(tmp_path, certificates):
    collector = tls_collector(certificates)
    stack = Stack(tmp_path, {"SSL_CERT_FILE": str(certificates / "ca.pem")}, {}, collector=collector,
                  collector_url=f"https://localhost:{collector.port}")
    try:
        assert requests.get(stack.url("/?tls=yes"), timeout=5).status_code == 200
        spans = collector.wait_for_spans(lambda span: span.service == PROXY_SERVICE and span.kind == KIND_SERVER, 1)
        assert spans, f"no spans over HTTPS; hoptrace log:\n{stack.proxy.log()}"
    finally:
        stack.stop()


def test_https_export_refuses_a_certificate_for_another_name(tmp_path, certificates):
    collector = tls_collector(certificates)
    # The certificate names localhost, not 127.0.0.1.
    stack = Stack(tmp_path, {"SSL_CERT_FILE": str(certificates / "ca.pem"), "OTEL_EXPORTER_OTLP_TIMEOUT": "1000"}, {},
                  collector=collector, collector_url=f"https://127.0.0.1:{collector.port}")
    try:
        assert requests.get(stack.url("/?tls=wrong-name"), timeout=5).status_code == 200
        assert wait_for_log(stack, "certificate not trusted"), stack.proxy.log()
        assert not [span for span in collector.spans if span.service == PROXY_SERVICE]
    finally:
        stack.stop()


def test_https_export_refuses_an_unknown_authority(tmp_path, certificates):
    collector = tls_collector(certificates)
    # No SSL_CERT_FILE: the system store does not know the test CA.
    stack = Stack(tmp_path, {"OTEL_EXPORTER_OTLP_TIMEOUT": "1000"}, {}, collector=collector,
                  collector_url=f"https://localhost:{collector.port}")
    try:
        assert requests.get(stack.url("/?tls=unknown-ca"), timeout=5).status_code == 200
        assert wait_for_log(stack, "certificate not trusted"), stack.proxy.log()
        assert not [span for span in collector.spans if span.service == PROXY_SERVICE]
    finally:
        stack.stop()
