"""The Flux Operator's own broker script, rendered as the operator renders it.

The operator fills ``pkg/flux/templates/wait.sh`` (with ``components.sh``) with
Go's text/template into the ConfigMap every MiniCluster pod runs as its broker
container's command (``pkg/flux/entrypoint.go``, ``generateEntrypointScript``).
Here the copies in ``tests/data/flux-operator/`` are rendered by the same Go
engine (Helm's, through helm-python-sdk) from a MiniCluster the chart renders,
after the defaults the API server (the CRD's) and the operator (``Validate``)
apply. ``tests/support/pods.py`` runs the result.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

DATA = Path(__file__).resolve().parents[1] / "data" / "flux-operator"


@dataclass(frozen=True)
class Revision:
    """One operator revision: where its broker finds its config, and who writes what."""

    name: str
    config_root: str  # under the operator's volume: "view" up to 0.2.1, "config" after
    init_writes_resources: bool  # 0.2.1's init container ran `flux R encode`; later wait.sh does

    @property
    def folder(self) -> Path:
        return DATA / self.name

    def crd_spec_schema(self) -> dict[str, Any]:
        crd = yaml.safe_load((self.folder / "minicluster-crd.yaml").read_text(encoding="utf-8"))
        (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha2"]
        schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
        return schema


# The newest release, and the commit the README installs (its CRD has the
# container securityContext fields the chart sets).
REVISIONS = (
    Revision("0.2.1", config_root="view", init_writes_resources=True),
    Revision("0d75cef", config_root="config", init_writes_resources=False),
)

# Template fields as the Go structs name them: .Spec.Flux.LogLevel is spec.flux.logLevel.
_FIELD = re.compile(r"\.(Spec|Container)((?:\.[A-Z][A-Za-z0-9]*)+)")
_ZERO: dict[str, Any] = {"string": "", "boolean": False, "integer": 0, "array": [], "object": {}}
# Go's text/template compares numbers by kind, and Helm hands values over as
# float64: the harness makes whole numbers ints again before the operator's
# templates (`eq .Spec.Tasks 0`) see them.
_HARNESS = """{{- define "harness.ints" -}}
{{- range $key, $value := . -}}
{{- if kindIs "float64" $value -}}
{{- $_ := set $ $key (int $value) -}}
{{- else if kindIs "map" $value -}}
{{- include "harness.ints" $value -}}
{{- end -}}
{{- end -}}
{{- end -}}
"""


def _kube_defaults(value: Any, schema: dict[str, Any]) -> Any:
    """The CRD's defaults, applied as the API server does: only under objects that exist."""
    if isinstance(value, dict) and "properties" in schema:
        for name, child in schema["properties"].items():
            if name not in value and "default" in child:
                value[name] = copy.deepcopy(child["default"])
            if name in value:
                value[name] = _kube_defaults(value[name], child)
    elif isinstance(value, list) and "items" in schema:
        return [_kube_defaults(item, schema["items"]) for item in value]
    return value


def _go_names(value: Any, schema: dict[str, Any]) -> Any:
    """JSON field names as the Go structs spell them (``logLevel`` -> ``LogLevel``)."""
    if isinstance(value, dict) and "properties" in schema:
        return {
            name[:1].upper() + name[1:]: _go_names(item, schema["properties"].get(name, {}))
            for name, item in value.items()
        }
    if isinstance(value, list) and "items" in schema:
        return [_go_names(item, schema["items"]) for item in value]
    return value


def _fill_zero(data: dict[str, Any], path: list[str], schema: dict[str, Any]) -> None:
    """A field a template reads and the object lacks gets Go's zero value for its type."""
    for depth, go_name in enumerate(path):
        json_name = go_name[:1].lower() + go_name[1:]
        child = schema.get("properties", {}).get(json_name)
        assert child is not None, f"template field {'.'.join(path)} is not in the CRD"
        last = depth == len(path) - 1
        if go_name not in data:
            data[go_name] = copy.deepcopy(_ZERO[child.get("type", "object")]) if last else {}
        data, schema = data[go_name], child


def _required_ranks(spec: dict[str, Any]) -> str:
    """``getRequiredRanks`` (pkg/flux/config.go): the quorum, empty for all ranks."""
    if spec.get("minSize"):
        return str(spec["minSize"])
    return "" if spec["maxSize"] == spec["size"] else str(spec["size"])


def template_input(revision: Revision, minicluster: dict[str, Any]) -> dict[str, Any]:
    """The ``WaitTemplate`` the operator fills for the broker container (container 0)."""
    schema = revision.crd_spec_schema()
    spec = _kube_defaults(copy.deepcopy(minicluster["spec"]), schema)
    # MiniCluster.Validate (api/v1alpha2/minicluster_types.go): the defaults set in Go.
    container_defaults = spec.setdefault("flux", {}).setdefault("container", {})
    container_defaults.setdefault("mountPath", "/mnt/flux")
    container_defaults.setdefault("name", "flux-view")
    if not spec.get("maxSize"):
        spec["maxSize"] = spec["size"]
    if len(spec["containers"]) == 1:
        spec["containers"][0]["runFlux"] = True
    (broker,) = [c for c in spec["containers"] if c.get("runFlux")]
    assert spec["containers"][0] is broker, "the chart puts the broker first"
    go_spec = _go_names(spec, schema)
    go_container = _go_names(broker, schema["properties"]["containers"]["items"])
    for kind, dotted in _FIELD.findall(_templates_text(revision)):
        path = dotted.strip(".").split(".")
        if kind == "Spec":
            _fill_zero(go_spec, path, schema)
        else:
            _fill_zero(go_container, path, schema["properties"]["containers"]["items"])
    return {
        "ViewBase": spec["flux"]["container"]["mountPath"],
        "MainHost": f"{minicluster['metadata']['name']}-0",
        "FluxToken": "",
        "RequiredRanks": _required_ranks(spec),
        "Batch": str(broker.get("command", "")).split("\n"),
        "Container": go_container,
        "Spec": go_spec,
    }


def _templates_text(revision: Revision) -> str:
    return "".join((revision.folder / f).read_text(encoding="utf-8") for f in _TEMPLATES)


_TEMPLATES = ("components.sh", "wait.sh")


def render_broker_script(revision: Revision, minicluster: dict[str, Any], workdir: Path) -> str:
    """``wait-0.sh`` of the operator's ConfigMap, for this MiniCluster."""
    chart = workdir / "operator-scripts"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: operator-scripts\nversion: 0.0.0\n")
    folder = revision.folder
    # The operator parses components.sh and `{{define "start"}}` + wait.sh + `{{end}}`
    # into one template set and executes "start" (pkg/flux/entrypoint.go).
    (chart / "templates" / "_components.tpl").write_text(
        (folder / "components.sh").read_text(encoding="utf-8")
    )
    (chart / "templates" / "_start.tpl").write_text(
        '{{define "start"}}' + (folder / "wait.sh").read_text(encoding="utf-8") + "{{end}}"
    )
    (chart / "templates" / "_harness.tpl").write_text(_HARNESS)
    (chart / "templates" / "wait-0.sh").write_text(
        '{{- include "harness.ints" .Values -}}{{ template "start" .Values }}'
    )
    with helm.Chart.load(chart) as loaded:
        rendered = loaded.render(template_input(revision, minicluster), name="operator")
    return rendered["operator-scripts/templates/wait-0.sh"]
