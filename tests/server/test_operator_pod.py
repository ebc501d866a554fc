"""The pod lifecycle against the Flux Operator's own broker script, without Kubernetes.

A two-pod MiniCluster rendered by the chart: each pod runs the operator's
``wait-0.sh`` (rendered from ``tests/data/flux-operator/``, see
``tests/support/operator.py``) as its broker container and the sidecar as the
chart's container does (``tests/support/pods.py``). Shutdown in each mode must
end the jobs as the mode says, and end both brokers' scripts, the lead
sidecar and the worker's sidecar with 0, which is what lets every pod
complete and the operator (``cleanup: true``) delete the MiniCluster.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy.test_chart import render_values
from tests.support.flux import EventListener, flux
from tests.support.jobwait import wait_for
from tests.support.operator import REVISIONS, Revision, render_broker_script
from tests.support.pods import EXIT_TIMEOUT, Pod, flux_environment, pods_unavailable
from tests.support.serverproc import ServerProcess, free_port

pytestmark = pytest.mark.flux

TOKEN = "operator-pod-token-0123456789"
SECRET_MOUNT = "/var/run/secrets/flux-sidecar"


@dataclass
class MiniCluster:
    revision: Revision
    pods: list[Pod]
    script: str
    sidecar_env: dict[str, str]
    brokers: list[subprocess.Popen[bytes]]

    def start_broker(self, index: int) -> None:
        pod = self.pods[index]
        self.brokers.append(pod.start_broker_container(pod.rebase(self.script)))
        if index == 0:
            pod.wait_for_socket(self.revision, self.brokers[0])

    def start_sidecar(self, index: int = 0, *, wait: bool = True) -> ServerProcess:
        return self.pods[index].start_sidecar_container(self.sidecar_env, TOKEN, wait=wait)

    def broker_exits(self) -> list[int]:
        return [broker.wait(timeout=EXIT_TIMEOUT) for broker in self.brokers]


def render_minicluster(extra_env: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The chart's MiniCluster for two pods, and its sidecar container."""
    rendered = render_values({"minicluster": {"size": 2}, "sidecar": {"extraEnv": extra_env}})
    return rendered.one("MiniCluster"), rendered.sidecar


def answer_of(http: httpx.Client, path: str) -> int:
    """The status of ``path`` once the server listens."""
    deadline = time.monotonic() + EXIT_TIMEOUT
    while True:
        try:
            return http.get(path).status_code
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the sidecar never listened"
            time.sleep(0.1)


@pytest.fixture(params=REVISIONS, ids=lambda r: f"operator-{r.name}")
def revision(request: pytest.FixtureRequest) -> Revision:
    chosen: Revision = request.param
    return chosen


@pytest.fixture
def extra_env() -> dict[str, str]:
    return {}


@pytest.fixture
def cluster(tmp_path: Path, revision: Revision, extra_env: dict[str, str]) -> Iterator[MiniCluster]:
    reason = pods_unavailable()
    if reason is not None:
        pytest.skip(reason)
    minicluster, sidecar = render_minicluster(extra_env)
    name = minicluster["metadata"]["name"]
    pods = [Pod(tmp_path / f"pod-{i}", name, i) for i in range(2)]
    curve_cert = tmp_path / "curve.cert"
    flux("keygen", str(curve_cert), env=flux_environment())
    hosts = [(pod.hostname, free_port()) for pod in pods]
    script = render_broker_script(revision, minicluster, tmp_path / "render")
    for pod in pods:
        pod.prepare(revision, hosts, curve_cert)
        assert pod.unrebased_paths(pod.rebase(script)) == set(), "a path the pod does not mount"
        pod.mount_secret(SECRET_MOUNT, {"token": TOKEN + "\n", "secret-key": "k" * 32})
    sidecar_env = {str(k): str(v) for k, v in sidecar["environment"].items()}
    try:
        yield MiniCluster(revision, pods, script, sidecar_env, [])
    finally:
        for pod in pods:
            pod.kill_everything()


def test_the_chart_mounts_the_token_where_the_sidecar_reads_it(cluster: MiniCluster) -> None:
    assert cluster.sidecar_env["FLUX_SIDECAR_TOKEN_FILE"] == f"{SECRET_MOUNT}/token"
    assert "FLUX_URI" not in cluster.sidecar_env, "the sidecar finds the operator's socket"


def test_a_worker_pods_sidecar_exits_at_once(cluster: MiniCluster) -> None:
    worker = cluster.start_sidecar(1, wait=False)
    assert worker.wait_exit(EXIT_TIMEOUT) == 0
    assert "not the lead broker pod" in worker.logs()


@pytest.mark.parametrize(
    ("mode", "command", "result"),
    [
        ("cancel", ["sleep", "300"], "CANCELED"),
        ("drain", ["sleep", "2"], "COMPLETED"),
        ("now", ["sleep", "300"], None),
    ],
    ids=["cancel", "drain", "now"],
)
def test_shutdown_completes_every_pod(
    cluster: MiniCluster, mode: str, command: list[str], result: str | None
) -> None:
    cluster.start_broker(0)
    cluster.start_broker(1)
    lead = cluster.start_sidecar(0)
    worker = cluster.start_sidecar(1, wait=False)
    with lead.client() as http:
        assert http.get("/api/v1/resources").json()["nodes"]["up"] == 2
        job_id = http.post("/api/v1/jobs", json={"command": command}).json()["id"]
        assert wait_for(http, job_id, "RUN", timeout=EXIT_TIMEOUT)["state"] == "RUN"
        with EventListener(lead.client(timeout=EXIT_TIMEOUT)) as events:
            answer = http.post("/api/v1/shutdown", json={"mode": mode, "timeout_seconds": 60})
            assert answer.status_code == 202, answer.text
            assert cluster.broker_exits() == [0, 0], cluster.pods[0].broker_log()
            assert lead.wait_exit(EXIT_TIMEOUT) == 0, lead.logs()
    assert worker.wait_exit(EXIT_TIMEOUT) == 0
    assert all(pod.completion_file.exists() for pod in cluster.pods)
    if result is not None:
        ends = [c for c in events.changes if c["id"] == job_id and c["state"] == "INACTIVE"]
        assert [c["result"] for c in ends] == [result], lead.logs()


def test_shutdown_before_every_broker_joined_waits_for_them(cluster: MiniCluster) -> None:
    cluster.start_broker(0)
    lead = cluster.start_sidecar(0, wait=False)
    with lead.client() as http:
        assert answer_of(http, "/readyz") == 503, "the lead broker waits for its quorum"
        assert http.post("/api/v1/shutdown", json={"mode": "cancel"}).status_code == 202
        cluster.start_broker(1)
        assert cluster.broker_exits() == [0, 0], cluster.pods[0].broker_log()
    assert lead.wait_exit(EXIT_TIMEOUT) == 0
    assert "waiting for the broker's run state" in lead.logs()


def test_a_broker_that_has_not_joined_yet_is_waited_for(cluster: MiniCluster) -> None:
    # Until a broker enters its INIT state it answers its local clients' requests,
    # all but a few, with EAGAIN, "Upstream Flux broker is offline. Try again later."
    # (flux-core src/broker/modhash.c); a broker other than rank 0 stays there until
    # its parent answers. A sidecar that connects in that window must ask again.
    worker = cluster.pods[1]
    cluster.start_broker(1)
    worker.wait_for_socket(cluster.revision, cluster.brokers[0])
    env = {**cluster.sidecar_env, "JOB_COMPLETION_INDEX": "0"}  # serve it as a lead would
    sidecar = worker.start_sidecar_container(env, TOKEN, wait=False)
    with sidecar.client() as http:
        assert answer_of(http, "/readyz") == 503
        deadline = time.monotonic() + EXIT_TIMEOUT
        while "offline" not in sidecar.logs():
            assert time.monotonic() < deadline, sidecar.logs()
            time.sleep(0.1)
        cluster.start_broker(0)
        while answer_of(http, "/readyz") != 200:
            assert time.monotonic() < deadline + EXIT_TIMEOUT, sidecar.logs()
            time.sleep(0.1)
        assert http.post("/api/v1/jobs", json={"command": ["true"]}).status_code == 201
    assert sidecar.logs().count("offline") == 1, "said once, not at every retry"


@pytest.mark.parametrize("extra_env", [{"FLUX_SIDECAR_BROKER_GONE_SECONDS": "3"}], ids=["gone=3s"])
def test_a_broker_container_that_dies_ends_the_sidecar(cluster: MiniCluster) -> None:
    cluster.start_broker(0)
    cluster.start_broker(1)
    lead = cluster.start_sidecar(0)
    # The whole container dies (its script never writes the completion file).
    cluster.pods[0].kill_broker_container()
    assert lead.wait_exit(EXIT_TIMEOUT) == 0
    assert not cluster.pods[0].completion_file.exists()
    assert "went away" in lead.logs()


def test_the_completion_file_ends_the_sidecar(cluster: MiniCluster) -> None:
    cluster.start_broker(0)
    cluster.start_broker(1)
    lead = cluster.start_sidecar(0)
    # Someone stops the broker from its own container: its script then marks completion.
    socket = cluster.pods[0].broker_socket(cluster.revision)
    flux("shutdown", "--quiet", env={**flux_environment(), "FLUX_URI": f"local://{socket}"})
    assert cluster.broker_exits() == [0, 0]
    assert lead.wait_exit(EXIT_TIMEOUT) == 0
    assert "flux-operator-complete.txt appeared" in lead.logs()


def test_a_job_finds_what_was_uploaded(cluster: MiniCluster) -> None:
    # The chart points the sidecar's files root and the broker's working directory
    # at one path both containers mount; a job given no cwd runs there.
    root = cluster.pods[0].rebase(cluster.sidecar_env["FLUX_SIDECAR_FILES_ROOT"])
    cluster.start_broker(0)
    cluster.start_broker(1)
    lead = cluster.start_sidecar(0)
    with lead.client() as http:
        assert http.put("/api/v1/files/input.txt", content=b"a\nb\nc\n").status_code == 201
        script = "pwd; wc -l < input.txt > count.txt"
        job_id = http.post("/api/v1/jobs", json={"command": ["sh", "-c", script]}).json()["id"]
        done = wait_for(http, job_id, timeout=EXIT_TIMEOUT)
        assert (done["result"], done["cwd"]) == ("COMPLETED", root), lead.logs()
        assert http.get(f"/api/v1/jobs/{job_id}/output").text == f"{root}\n"
        assert http.get("/api/v1/files/count.txt").content.strip() == b"3"
