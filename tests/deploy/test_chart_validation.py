"""The chart against real validators: Helm's strict lint and schema check, Kubernetes'
own JSON schemas (kubernetes-validate) and the Flux Operator's MiniCluster CRD."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from sidecar.config import Settings
from tests.deploy.test_chart import (
    CHART,
    CI_VALUES,
    REPO,
    Object,
    load_values,
    render_values,
    render_values_file,
    values_id,
)

# A current release that kubernetes-validate ships schemas for.
KUBERNETES_VERSION = "1.35.0"
OPERATOR_DATA = REPO / "tests" / "data" / "flux-operator"
# The newest operator's CRD (what the README installs), and the copy the design
# refers to beside the repository where that exists.
CRD_FILES = {
    "operator-0d75cef": OPERATOR_DATA / "0d75cef" / "minicluster-crd.yaml",
    "design-data": REPO.parent / "shared" / "data" / "minicluster-crd-v1alpha2.yaml",
}
CORE_KINDS = {"Secret", "Service", "Pod"}
# Prometheus Operator CRDs: kubernetes-validate has no schema for them and the
# CRDs are not vendored here; tests/test_chart.py checks the fields they rely on.
MONITOR_KINDS = {"ServiceMonitor", "PodMonitor"}
VALUES_FILES = [None, *CI_VALUES]


@pytest.mark.parametrize("values_file", VALUES_FILES, ids=values_id)
def test_strict_lint(values_file: Path | None) -> None:
    report = helm.lint(
        CHART, load_values(values_file), strict=True, kube_version=f"v{KUBERNETES_VERSION}"
    )
    assert report["errors"] == []
    # Severity 1 is INFO ("icon is recommended"); warnings and errors fail.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def _strict(schema: Any) -> Any:
    """The CRD schema with unknown fields refused: the API server would silently
    prune them, so a misspelt field would otherwise pass and do nothing."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {key: _strict(value) for key, value in schema.items()}
    if "properties" in strict and "additionalProperties" not in strict:
        strict["additionalProperties"] = False
    return strict


def load_minicluster_schema(crd_file: Path) -> dict[str, Any]:
    crd = yaml.safe_load(crd_file.read_text(encoding="utf-8"))
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha2"]
    schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object"}
    strict: dict[str, Any] = _strict(schema)
    return strict


@pytest.fixture(scope="module", params=sorted(CRD_FILES), ids=str)
def minicluster_schema(request: pytest.FixtureRequest) -> dict[str, Any]:
    crd_file = CRD_FILES[request.param]
    if not crd_file.exists():
        pytest.skip(f"{request.param}: no {crd_file.name} beside the repository")
    return load_minicluster_schema(crd_file)


@pytest.mark.parametrize("values_file", VALUES_FILES, ids=values_id)
def test_every_object_validates(
    values_file: Path | None, minicluster_schema: dict[str, Any]
) -> None:
    rendered = render_values_file(values_file)
    kinds = {obj["kind"] for obj in rendered.objects}
    assert kinds <= CORE_KINDS | MONITOR_KINDS | {"MiniCluster"}
    for obj in rendered.objects:
        if obj["kind"] in CORE_KINDS:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        elif obj["kind"] == "MiniCluster":
            jsonschema.validate(obj, minicluster_schema)
        else:
            assert obj["apiVersion"] == "monitoring.coreos.com/v1"


def test_operator_0_2_1_would_drop_only_the_fields_the_readme_lists() -> None:
    """0.2.1's CRD predates these container fields; its API server prunes them."""
    schema = load_minicluster_schema(OPERATOR_DATA / "0.2.1" / "minicluster-crd.yaml")
    minicluster = render_values_file(None).one("MiniCluster")
    unknown = {
        (".".join(map(str, error.absolute_path)), error.message.split("(")[1].split(")")[0])
        for error in jsonschema.Draft7Validator(schema).iter_errors(minicluster)
    }
    assert unknown == {
        ("spec.containers.0", "'imagePullPolicy' was unexpected"),
        ("spec.containers.1", "'imagePullPolicy' was unexpected"),
        (
            "spec.containers.1.securityContext",
            "'allowPrivilegeEscalation', 'capabilities', 'readOnlyRootFilesystem', "
            "'runAsUser', 'seccompProfile' were unexpected",
        ),
    }


# job-index: the operator patches it onto pods that lack it (labels.go), so one given
# here would stand, the same wrong index on every pod.
@pytest.mark.parametrize(
    "label",
    [
        "app.kubernetes.io/name",
        "namespace",
        "hpa-selector",
        "app",
        "job-name",
        "job-index",
        "batch.kubernetes.io/job-completion-index",
    ],
)
def test_pod_labels_the_operator_owns_are_refused(label: str) -> None:
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmRenderError, match="itself"):
        chart.render({"minicluster": {"podLabels": {label: "x"}}}, name="mc")
    labels = render_values_file(None).one("MiniCluster")["spec"]["pod"]["labels"]
    assert labels == {"app.kubernetes.io/instance": "mc"}


def test_crd_schema_catches_a_misspelt_field(minicluster_schema: dict[str, Any]) -> None:
    minicluster = copy.deepcopy(render_values_file(None).one("MiniCluster"))
    minicluster["spec"]["containers"][1]["noWrapEntryPoint"] = True
    with pytest.raises(jsonschema.ValidationError, match="noWrapEntryPoint"):
        jsonschema.validate(minicluster, minicluster_schema)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"minicluster": {"size": "two"}}, id="size-string"),
        pytest.param({"minicluster": {"cleanup": "yes"}}, id="cleanup-string"),
        pytest.param({"sidecar": {"port": "5000"}}, id="port-string"),
        pytest.param({"sidecar": {"port": 70000}}, id="port-range"),
        pytest.param({"sidecar": {"logLevel": "loud"}}, id="log-level"),
        pytest.param({"sidecar": {"extraEnv": {"FLUX_SIDECAR_PORT": "1"}}}, id="reserved-env"),
        pytest.param({"auth": {"existingSecret": 7}}, id="secret-int"),
        pytest.param({"metrics": {"serviceMonitor": {"enabled": "true"}}}, id="monitor-string"),
        pytest.param({"minicluster": {"sizee": 2}}, id="unknown-key"),
    ],
)
def test_schema_rejects(values: dict[str, Any]) -> None:
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError):
        chart.validate_schema(chart.merge_values(values))


def test_command_needs_a_non_interactive_broker() -> None:
    with pytest.raises(helm.HelmRenderError, match=r"minicluster\.interactive=false"):
        render_values({"application": {"command": "sleep 60"}})
    batch = render_values({"minicluster": {"interactive": False}, "application": {"command": "x"}})
    assert batch.one("MiniCluster")["spec"]["interactive"] is False
    assert batch.application["command"] == "x"


def _setting_names() -> set[str]:
    names: set[str] = set()
    for info in Settings.model_fields.values():
        alias = info.validation_alias
        choices = getattr(alias, "choices", [alias])
        names.update(c for c in choices if isinstance(c, str))
    return names


def _service_link_names(service: Object) -> set[str]:
    """The variables the kubelet derives from a Service for every pod in its namespace."""
    prefix = service["metadata"]["name"].upper().replace("-", "_")
    names = {f"{prefix}_SERVICE_HOST", f"{prefix}_SERVICE_PORT", f"{prefix}_PORT"}
    for port in service["spec"]["ports"]:
        proto = f"{prefix}_PORT_{port['port']}_{port['protocol']}"
        names |= {proto, f"{proto}_PROTO", f"{proto}_PORT", f"{proto}_ADDR"}
        names.add(f"{prefix}_SERVICE_PORT_{port['name'].upper().replace('-', '_')}")
    return names


@pytest.mark.parametrize(
    "release",
    ["mc", "flux-sidecar", "flux", "flux-sidecar-port"],
    ids=lambda name: f"release={name}",
)
def test_service_links_cannot_override_settings(release: str) -> None:
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render({}, name=release, namespace="hpc", is_install=True)
    (service,) = [
        doc
        for doc in yaml.safe_load_all(rendered["flux-sidecar/templates/service.yaml"])
        if doc and doc["kind"] == "Service"
    ]
    settings = _setting_names()
    assert "FLUX_SIDECAR_PORT" in settings
    assert _service_link_names(service).isdisjoint(settings)


@pytest.mark.parametrize(
    "release", ["flux-sidecar", "mc", "flux-sidecar-api-2"], ids=lambda name: f"release={name}"
)
def test_container_names_stay_distinct(release: str) -> None:
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render({}, name=release, namespace="hpc", is_install=True)
    minicluster = yaml.safe_load(rendered["flux-sidecar/templates/minicluster.yaml"])
    # The operator names the broker's container after the MiniCluster.
    names = [
        c.get("name") or minicluster["metadata"]["name"] for c in minicluster["spec"]["containers"]
    ]
    assert len(set(names)) == len(names) == 2


def test_release_named_like_the_sidecar_container_is_refused() -> None:
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmRenderError, match="release name"):
        chart.render({}, name="flux-sidecar-api", namespace="hpc", is_install=True)
