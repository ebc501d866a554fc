"""The chart's files root: one directory the sidecar serves and the broker's jobs run in.

The sidecar's root filesystem is read-only and jobs run in the broker's
container, so the root must be a mount both containers get at the same path:
the operator's /home/flux-operator emptyDir (in every container of the pod),
or a claim declared on the broker, which the operator also mounts into every
container after it.
"""

from __future__ import annotations

from typing import Any

import helm_python as helm
import pytest

from sidecar.config import Settings
from tests.deploy.test_chart import (
    CHART,
    CI_VALUES,
    Rendered,
    render_values,
    render_values_file,
    values_id,
)

OPERATOR_HOME = "/home/flux-operator"  # the operator's emptyDir in every container (after 0.2.1)
CLAIM_VALUES = CHART / "ci" / "files-claim-values.yaml"


@pytest.fixture(params=[None, *CI_VALUES], ids=values_id)
def rendered(request: pytest.FixtureRequest) -> Rendered:
    return render_values_file(request.param)


def files_env(rendered: Rendered) -> dict[str, str]:
    env = rendered.sidecar["environment"]
    return {k: v for k, v in env.items() if k.startswith("FLUX_SIDECAR_")}


def test_jobs_run_where_the_sidecar_serves_files(rendered: Rendered) -> None:
    root = rendered.merged["files"]["root"]
    assert files_env(rendered)["FLUX_SIDECAR_FILES_ROOT"] == root
    # An application.workingDir of the user's own is the broker's; jobs still get the root.
    assert rendered.application["workingDir"] == (
        rendered.merged["application"]["workingDir"] or root
    )
    claim = rendered.merged["files"]["claimName"]
    if claim:
        volume = rendered.application["volumes"]["flux-sidecar-files"]
        assert volume == {"claimName": claim, "path": root}
    else:
        # Writable under the read-only root filesystem only because it is that mount.
        assert root.startswith(OPERATOR_HOME + "/")
    assert "flux-sidecar-files" not in rendered.sidecar["volumes"]
    containers = rendered.one("MiniCluster")["spec"]["containers"]
    assert containers.index(rendered.application) < containers.index(rendered.sidecar)


def test_the_sidecar_reads_the_settings_the_chart_renders(rendered: Rendered) -> None:
    settings = Settings(**files_env(rendered))  # type: ignore[arg-type]
    assert str(settings.files_path) == rendered.merged["files"]["root"]
    assert settings.max_upload_bytes == rendered.merged["files"]["maxUploadBytes"]


def test_a_claim_and_a_large_limit() -> None:
    claimed = render_values_file(CLAIM_VALUES)
    # Helm reads numbers as floats: 10 GiB must still render as digits the sidecar parses.
    assert files_env(claimed)["FLUX_SIDECAR_MAX_UPLOAD_BYTES"] == "10737418240"
    assert claimed.application["volumes"]["flux-sidecar-files"]["claimName"] == "shared-work"


def test_an_explicit_working_directory_is_the_brokers_own() -> None:
    rendered = render_values({"application": {"workingDir": "/opt/app"}})
    assert rendered.application["workingDir"] == "/opt/app"
    assert files_env(rendered)["FLUX_SIDECAR_FILES_ROOT"] == "/home/flux-operator/work"


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"files": {"root": "work"}}, id="relative-root"),
        pytest.param({"files": {"root": ""}}, id="empty-root"),
        pytest.param({"files": {"claimName": "Not_A_Name"}}, id="claim-name"),
        pytest.param({"files": {"maxUploadBytes": -1}}, id="negative-limit"),
        pytest.param({"files": {"maxUploadBytes": "1G"}}, id="limit-string"),
        pytest.param({"files": {"rooot": "/x"}}, id="unknown-key"),
        pytest.param({"application": {"workingDir": "rel"}}, id="relative-workdir"),
        pytest.param(
            {"sidecar": {"extraEnv": {"FLUX_SIDECAR_FILES_ROOT": "/x"}}}, id="reserved-env"
        ),
    ],
)
def test_schema_rejects(values: dict[str, Any]) -> None:
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError):
        chart.validate_schema(chart.merge_values(values))
