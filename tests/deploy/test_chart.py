"""The Helm chart, rendered by real Helm (the helm-python-sdk package embeds Helm's Go SDK).

Each values set (the defaults and every ``chart/ci/*-values.yaml``) is rendered
once per module; the tests read the objects Helm produced.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "chart"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
RELEASE = "mc"
NAMESPACE = "hpc"
NOTES = "flux-sidecar/templates/NOTES.txt"
SECRET_MOUNT = "/var/run/secrets/flux-sidecar"
SIDECAR_CONTAINER = "flux-sidecar-api"

Object = dict[str, Any]


def load_values(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    values: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return values


def render_chart(
    values: dict[str, Any] | None = None, *, release: str = RELEASE, namespace: str = NAMESPACE
) -> dict[str, str]:
    """Template path -> rendered text, as `helm template` (no cluster: lookup finds nothing)."""
    with helm.Chart.load(CHART) as chart:
        return chart.render(values, name=release, namespace=namespace, is_install=True)


def parse_objects(rendered: dict[str, str]) -> list[Object]:
    """Every Kubernetes object in the rendered templates, in template order."""
    objects: list[Object] = []
    for path in sorted(rendered):
        if path.endswith(".yaml"):
            objects.extend(doc for doc in yaml.safe_load_all(rendered[path]) if doc)
    return objects


def is_hook(obj: Object) -> bool:
    return "helm.sh/hook" in (obj["metadata"].get("annotations") or {})


@dataclass
class Rendered:
    values: dict[str, Any]
    merged: dict[str, Any]
    objects: list[Object]
    notes: str
    by_kind: dict[str, list[Object]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for obj in self.objects:
            self.by_kind.setdefault(obj["kind"], []).append(obj)

    def one(self, kind: str) -> Object:
        found = self.by_kind.get(kind, [])
        assert len(found) == 1, f"expected one {kind}, got {len(found)}"
        return found[0]

    def count(self, kind: str) -> int:
        return len(self.by_kind.get(kind, []))

    @property
    def sidecar(self) -> Object:
        containers = self.one("MiniCluster")["spec"]["containers"]
        found: Object = next(c for c in containers if c.get("name") == SIDECAR_CONTAINER)
        return found

    @property
    def application(self) -> Object:
        containers = self.one("MiniCluster")["spec"]["containers"]
        found: Object = next(c for c in containers if c.get("runFlux"))
        return found


def render_values(values: dict[str, Any]) -> Rendered:
    with helm.Chart.load(CHART) as chart:
        merged = chart.merge_values(values)
    rendered = render_chart(values)
    return Rendered(values, merged, parse_objects(rendered), rendered[NOTES])


def values_id(path: Path | None) -> str:
    return "defaults" if path is None else path.name.removesuffix("-values.yaml")


@functools.cache
def render_values_file(path: Path | None) -> Rendered:
    """Rendered once per test session for each values set; tests must not modify it."""
    return render_values(load_values(path))


@pytest.fixture(params=[None, *CI_VALUES], ids=values_id)
def rendered(request: pytest.FixtureRequest) -> Rendered:
    return render_values_file(request.param)


@pytest.fixture
def defaults() -> Rendered:
    return render_values_file(None)


# --- the MiniCluster -------------------------------------------------------------------


def test_minicluster_is_named_after_the_release(rendered: Rendered) -> None:
    minicluster = rendered.one("MiniCluster")
    assert minicluster["apiVersion"] == "flux-framework.org/v1alpha2"
    assert minicluster["metadata"]["name"] == RELEASE
    spec = minicluster["spec"]
    assert spec["size"] == rendered.merged["minicluster"]["size"]
    # Shutdown ends the broker with exit 0 only without an initial program.
    assert spec["interactive"] is True
    assert spec["cleanup"] is True


def test_application_runs_the_broker(rendered: Rendered) -> None:
    containers = rendered.one("MiniCluster")["spec"]["containers"]
    assert [c.get("runFlux", False) for c in containers] == [True, False]
    assert rendered.application["image"] == rendered.merged["application"]["image"]


def test_sidecar_container(rendered: Rendered) -> None:
    sidecar, merged = rendered.sidecar, rendered.merged["sidecar"]
    tag = merged["image"]["tag"] or "0.1.0"
    assert sidecar["image"] == f"{merged['image']['repository']}:{tag}"
    assert sidecar["noWrapEntrypoint"] is True
    assert "runFlux" not in sidecar
    # Declared ports would make the operator create a Service over every pod.
    assert "ports" not in sidecar
    env = sidecar["environment"]
    assert env["FLUX_SIDECAR_PORT"] == str(merged["port"])
    assert env.get("FLUX_URI", "") == merged["fluxUri"]
    assert env["FLUX_SIDECAR_LOG_LEVEL"] == merged["logLevel"]
    for name, value in merged["extraEnv"].items():
        assert env[name] == value


def test_token_is_a_mounted_secret_file_never_an_env_value(rendered: Rendered) -> None:
    sidecar, auth = rendered.sidecar, rendered.merged["auth"]
    secret_name = auth["existingSecret"] or f"{RELEASE}-flux-sidecar"
    volume = sidecar["volumes"]["flux-sidecar-auth"]
    assert volume == {"secretName": secret_name, "path": SECRET_MOUNT, "readOnly": True}
    env = sidecar["environment"]
    assert env["FLUX_SIDECAR_TOKEN_FILE"] == f"{SECRET_MOUNT}/{auth['tokenKey']}"
    assert env["FLUX_SIDECAR_SECRET_KEY_FILE"] == f"{SECRET_MOUNT}/{auth['secretKeyKey']}"
    assert not {"FLUX_SIDECAR_TOKEN", "FLUX_TOKEN", "FLUX_SIDECAR_SECRET_KEY"} & env.keys()
    assert "secrets" not in sidecar
    # The operator mounts a container's volumes into it and every later one.
    assert "flux-sidecar-auth" not in rendered.application.get("volumes", {})
    if rendered.count("Secret"):
        for encoded in rendered.one("Secret")["data"].values():
            assert base64.b64decode(encoded).decode() not in env.values()


def test_sidecar_is_locked_down(rendered: Rendered) -> None:
    context = rendered.sidecar["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["readOnlyRootFilesystem"] is True
    # Submitting and stopping the broker are owner-only: the broker's uid.
    assert context["runAsUser"] == 0
    assert rendered.sidecar["volumes"]["flux-sidecar-tmp"] == {"emptyDir": True}
    assert rendered.sidecar["environment"]["TMPDIR"] == "/dev/shm"
    assert rendered.sidecar["resources"] == rendered.merged["sidecar"]["resources"]


# --- Secret, Service, monitors -------------------------------------------------------------


def test_secret_is_generated_or_existing(rendered: Rendered) -> None:
    auth = rendered.merged["auth"]
    if auth["existingSecret"]:
        assert rendered.count("Secret") == 0
        return
    secret = rendered.one("Secret")
    assert secret["metadata"]["name"] == f"{RELEASE}-flux-sidecar"
    assert set(secret["data"]) == {auth["tokenKey"], auth["secretKeyKey"]}
    assert all(len(base64.b64decode(v)) >= 48 for v in secret["data"].values())


def test_each_install_generates_a_new_token(defaults: Rendered) -> None:
    again = render_values({})
    assert again.one("Secret")["data"] != defaults.one("Secret")["data"]


def test_service_selects_the_lead_broker_pod_only(rendered: Rendered) -> None:
    service = rendered.one("Service")
    assert service["metadata"]["name"] == f"{RELEASE}-flux-sidecar-api"
    assert service["spec"]["selector"] == {
        "job-name": RELEASE,
        "batch.kubernetes.io/job-completion-index": "0",
    }
    (port,) = service["spec"]["ports"]
    assert port["port"] == rendered.merged["service"]["port"]
    assert port["targetPort"] == rendered.merged["sidecar"]["port"]


def test_monitors_only_when_enabled(rendered: Rendered) -> None:
    metrics = rendered.merged["metrics"]
    assert rendered.count("ServiceMonitor") == int(metrics["serviceMonitor"]["enabled"])
    assert rendered.count("PodMonitor") == int(metrics["podMonitor"]["enabled"])


def test_monitors_scrape_the_sidecar() -> None:
    monitored = render_values_file(CHART / "ci" / "monitors-values.yaml")
    service = monitored.one("Service")
    endpoint = monitored.one("ServiceMonitor")["spec"]["endpoints"][0]
    selector = monitored.one("ServiceMonitor")["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["path"] == "/metrics"
    credentials = {"name": f"{RELEASE}-flux-sidecar", "key": "token"}
    assert endpoint["authorization"] == {"type": "Bearer", "credentials": credentials}
    pod_monitor = monitored.one("PodMonitor")["spec"]
    assert pod_monitor["selector"]["matchLabels"] == service["spec"]["selector"]
    keep = pod_monitor["podMetricsEndpoints"][0]["relabelings"][0]
    assert keep["action"] == "keep"
    assert keep["regex"] == monitored.sidecar["name"]


def test_monitors_wait_for_the_monitoring_api() -> None:
    values = {"metrics": {"serviceMonitor": {"enabled": True}, "podMonitor": {"enabled": True}}}
    unforced = render_values(values)
    assert unforced.count("ServiceMonitor") == unforced.count("PodMonitor") == 0
    assert "The ServiceMonitor was NOT created" in unforced.notes
    assert "The PodMonitor was NOT created" in unforced.notes


# --- NOTES.txt and the helm test hook -------------------------------------------------------


def test_notes_tell_the_next_commands(rendered: Rendered) -> None:
    notes = rendered.notes
    service, port = f"{RELEASE}-flux-sidecar-api", rendered.merged["service"]["port"]
    secret = rendered.merged["auth"]["existingSecret"] or f"{RELEASE}-flux-sidecar"
    assert f"kubectl --namespace {NAMESPACE} port-forward svc/{service} 5000:{port}" in notes
    assert f"get secret {secret} -o jsonpath='{{.data.{rendered.merged['auth']['tokenKey']}}}'" in (
        notes
    )
    assert "http://127.0.0.1:5000/api/v1/jobs" in notes
    assert "-X POST" in notes
    assert "http://127.0.0.1:5000/api/v1/shutdown" in notes
    assert "http://127.0.0.1:5000/metrics" in notes


def test_helm_test_hook_calls_the_service_with_the_token(rendered: Rendered) -> None:
    (hook,) = [obj for obj in rendered.objects if is_hook(obj)]
    assert hook["metadata"]["annotations"]["helm.sh/hook"] == "test"
    command = hook["spec"]["containers"][0]["command"]
    port = rendered.merged["service"]["port"]
    assert command[-2] == f"http://{RELEASE}-flux-sidecar-api:{port}"
    assert command[-1] == f"{SECRET_MOUNT}/{rendered.merged['auth']['tokenKey']}"


def test_idle_teardown_is_off_unless_asked_for(defaults: Rendered) -> None:
    assert "FLUX_SIDECAR_IDLE_SHUTDOWN" not in defaults.sidecar["environment"]
    asked = render_values({"sidecar": {"idleShutdown": "30m"}})
    assert asked.sidecar["environment"]["FLUX_SIDECAR_IDLE_SHUTDOWN"] == "30m"


@pytest.mark.parametrize(("given", "env"), [(600, "600"), ("600", "600"), (0, None), ("", None)])
def test_idle_teardown_takes_seconds_as_a_number_too(given: object, env: str | None) -> None:
    environment = render_values({"sidecar": {"idleShutdown": given}}).sidecar["environment"]
    assert environment.get("FLUX_SIDECAR_IDLE_SHUTDOWN") == env


def test_a_bad_idle_duration_fails_the_render() -> None:
    with pytest.raises(helm.HelmValuesError), helm.Chart.load(CHART) as chart:
        chart.render({"sidecar": {"idleShutdown": "soon"}}, name=RELEASE)
    with pytest.raises(helm.HelmValuesError), helm.Chart.load(CHART) as chart:
        chart.render({"sidecar": {"idleShutdown": -5}}, name=RELEASE)
