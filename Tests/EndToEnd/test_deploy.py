"""deploy/ cannot run here (no Docker, no cluster, no systemd), so what can be checked
is checked: every YAML parses, every file the compose file and the Dockerfiles refer
to exists, every hoptrace configuration passes `hoptrace check`, and the manifests wire
what the README promises (health checks on the admin listener, the key from a secret)."""

import configparser
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import HOPTRACE, ROOT

DEPLOY = ROOT / "deploy"
YAML_FILES = sorted(list(DEPLOY.rglob("*.yaml")) + list(DEPLOY.rglob("*.yml")))


def documents(path):
    return [document for document in yaml.safe_load_all(path.read_text()) if document is not None]


def check(config: Path, resolve: bool):
    arguments = [HOPTRACE, "check", "--config", config] + ([] if resolve else ["--no-resolve"])
    result = subprocess.run([str(part) for part in arguments], capture_output=True, text=True)
    assert result.returncode == 0, f"hoptrace check {config}:\n{result.stderr}"
    assert "OK" in result.stdout


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda path: str(path.relative_to(DEPLOY)))
def test_every_yaml_file_parses(path):
    assert documents(path), f"{path} is empty"


def test_the_local_configuration_passes_check():
    check(DEPLOY / "hoptrace.local.yaml", resolve=True)


def test_the_compose_configuration_passes_check_without_its_network():
    check(DEPLOY / "hoptrace.yaml", resolve=False)


def test_the_kubernetes_configuration_passes_check(tmp_path):
    config_map = documents(DEPLOY / "kubernetes" / "configmap.yaml")[0]
    assert config_map["kind"] == "ConfigMap"
    config = tmp_path / "hoptrace.yaml"
    config.write_text(config_map["data"]["hoptrace.yaml"])
    check(config, resolve=False)


def dockerfile_copies(dockerfile: Path):
    """The sources of each COPY that reads the build context (not another stage)."""
    text = dockerfile.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0].upper() == "COPY" and not any(part.startswith("--from") for part in parts):
            yield from (part for part in parts[1:-1] if not part.startswith("--"))


def test_compose_builds_and_mounts_only_files_that_exist():
    compose = documents(DEPLOY / "docker-compose.yml")[0]
    services = compose["services"]
    assert set(services) == {"hoptrace", "frontend-react-js", "backend-flask"}
    for name, service in services.items():
        build = service["build"]
        context = DEPLOY / (build if isinstance(build, str) else build["context"])
        dockerfile = context / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")
        assert context.is_dir(), f"{name}: build context {context}"
        assert dockerfile.is_file(), f"{name}: {dockerfile}"
        for source in dockerfile_copies(dockerfile):
            assert (context / source).exists(), f"{dockerfile} copies {source}, missing from {context}"
        for volume in service.get("volumes", []):
            host = volume.split(":")[0]
            assert (DEPLOY / host).exists(), f"{name} mounts {host}"
    hoptrace = services["hoptrace"]
    environment = hoptrace["environment"]
    assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "https://api.honeycomb.io"
    assert environment["OTEL_EXPORTER_OTLP_HEADERS"] == "x-honeycomb-team=${HONEYCOMB_API_KEY}"
    assert environment["OTEL_SERVICE_NAME"]
    assert "127.0.0.1:9901:9901" in hoptrace["ports"], "the admin port is published on loopback only"
    assert "4318" in hoptrace["expose"], "the receiver is reachable in the compose network"
    backend = services["backend-flask"]["environment"]
    assert backend["OTEL_SERVICE_NAME"] == "backend-flask"
    # The API sends its spans to hoptrace's receiver, which forwards them: no key of its own.
    assert backend["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://hoptrace:4318"
    assert "OTEL_EXPORTER_OTLP_HEADERS" not in backend
    receiver = documents(DEPLOY / "hoptrace.yaml")[0]["receiver"]
    assert receiver == {"listen": "0.0.0.0:4318", "forward": True}


def test_the_image_runs_as_a_user_and_checks_its_health():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM .* AS build$", dockerfile, re.MULTILINE), "multi-stage"
    assert "--static-swift-stdlib" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK .*\n?.*9901/healthz", dockerfile, re.MULTILINE)
    for package in ("libevent-core-2.1-7", "libssl3", "ca-certificates"):
        assert package in dockerfile
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert ".build" in ignored


def test_kubernetes_probes_the_admin_listener_and_takes_the_key_from_a_secret():
    deployment = documents(DEPLOY / "kubernetes" / "deployment.yaml")[0]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["admin"] == 9901
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
    environment = {item["name"]: item for item in container["env"]}
    assert environment["HONEYCOMB_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "honeycomb"
    assert environment["OTEL_EXPORTER_OTLP_HEADERS"]["value"] == "x-honeycomb-team=$(HONEYCOMB_API_KEY)"
    volume = deployment["spec"]["template"]["spec"]["volumes"][0]
    assert volume["configMap"]["name"] == documents(DEPLOY / "kubernetes" / "configmap.yaml")[0]["metadata"]["name"]
    service = documents(DEPLOY / "kubernetes" / "service.yaml")[0]
    # The proxied port and the receiver for the namespace's services; the admin port stays off.
    assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http", "otlp"]
    assert ports["otlp"] == 4318
    config = yaml.safe_load(documents(DEPLOY / "kubernetes" / "configmap.yaml")[0]["data"]["hoptrace.yaml"])
    assert config["receiver"] == {"listen": "0.0.0.0:4318", "forward": True}


def test_the_collector_forwards_traces_to_honeycomb():
    config = documents(DEPLOY / "collector" / "otel-collector.yaml")[0]
    pipeline = config["service"]["pipelines"]["traces"]
    assert "otlp" in pipeline["receivers"]
    for exporter in pipeline["exporters"]:
        assert config["exporters"][exporter]["endpoint"] == "api.honeycomb.io:443"
        assert "x-honeycomb-team" in config["exporters"][exporter]["headers"]
    for processor in pipeline["processors"]:
        assert processor in config["processors"]


def test_the_systemd_unit_checks_runs_reloads_and_drains():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(DEPLOY / "systemd" / "hoptrace.service")
    service = unit["Service"]
    assert service["ExecStartPre"].startswith("/usr/local/bin/hoptrace check --config /etc/hoptrace/hoptrace.yaml")
    assert service["ExecStart"] == "/usr/local/bin/hoptrace run --config /etc/hoptrace/hoptrace.yaml"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["KillSignal"] == "SIGTERM"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
