"""The user's path on a real cluster: kind, the Flux Operator, the image, the chart, a job,
metrics, and a shutdown that ends with the lead pod Succeeded and the MiniCluster gone.

Run it with ``make e2e`` where Docker, kind and kubectl exist. It creates (and deletes)
a kind cluster; E2E_KEEP_CLUSTER=1 keeps it for a look afterwards.
"""

from __future__ import annotations

import base64
import importlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import helm_python as helm
import httpx
import pytest

from sidecar.client import SidecarClient
from sidecar.models import JobResult
from tests.support.serverproc import free_port


def _missing() -> list[str]:
    missing = [f"{tool} is not on PATH" for tool in ("kind", "kubectl") if not shutil.which(tool)]
    if shutil.which("docker") is None:
        return ["docker is not on PATH", *missing]
    try:
        engine = subprocess.run(["docker", "info"], capture_output=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return ["the Docker engine does not answer", *missing]
    return (
        missing if engine.returncode == 0 else ["no Docker engine (docker info failed)", *missing]
    )


def _kubernetes() -> Any:
    # An optional extra (`.[e2e]`) whose generated API is untyped: used as Any.
    try:
        return importlib.import_module("kubernetes")
    except ImportError:
        return None


def _skip_reason() -> str | None:
    missing = _missing()
    if missing:
        return f"kind end-to-end needs Docker, kind and kubectl: {'; '.join(missing)}"
    if not os.environ.get("RUN_E2E"):
        return "kind end-to-end runs only through `make e2e`"
    if kube is None:
        return "kind end-to-end needs the kubernetes client: pip install -e '.[e2e]'"
    return None


kube = _kubernetes()
_SKIP = _skip_reason()
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")]

REPO = Path(__file__).resolve().parents[2]
CLUSTER = os.environ.get("E2E_CLUSTER", "flux-sidecar-e2e")
IMAGE_REPOSITORY, IMAGE_TAG = "flux-sidecar", "e2e"
RELEASE, NAMESPACE = "e2e", "default"
# The operator at the commit whose MiniCluster CRD the chart is validated against
# (its CRD is the one in ../shared/data/minicluster-crd-v1alpha2.yaml). The
# 0.2.1 release's CRD predates corev1 security contexts, which the chart uses.
OPERATOR_MANIFEST = os.environ.get(
    "FLUX_OPERATOR_MANIFEST",
    "https://raw.githubusercontent.com/flux-framework/flux-operator/"
    "0d75cef855dee5351d68e32ec139a70e892b5268/examples/dist/flux-operator.yaml",
)
LEAD_POD = f"job-name={RELEASE},batch.kubernetes.io/job-completion-index=0"
# pullPolicy Never: the image is loaded into kind, not pulled from a registry.
VALUES = {
    "sidecar": {"image": {"repository": IMAGE_REPOSITORY, "tag": IMAGE_TAG, "pullPolicy": "Never"}}
}
# Upper bounds for slow steps (image pulls on a fresh cluster), not measurements.
STARTUP_TIMEOUT = 900.0
STEP_TIMEOUT = 300.0

T = TypeVar("T")


def run(*argv: str) -> None:
    print("+", " ".join(argv), flush=True)
    subprocess.run(argv, check=True)


def poll(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(2)


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("kind") / "kubeconfig"
    run("kind", "create", "cluster", "--name", CLUSTER, "--kubeconfig", str(path), "--wait", "5m")
    try:
        yield path
    finally:
        if not os.environ.get("E2E_KEEP_CLUSTER"):
            run("kind", "delete", "cluster", "--name", CLUSTER)


@pytest.fixture(scope="module")
def api(kubeconfig: Path) -> Any:
    return kube.config.new_client_from_config(config_file=str(kubeconfig))


@pytest.fixture(scope="module")
def release(kubeconfig: Path, api: Any) -> Iterator[helm.Config]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    print("+ kubectl apply --server-side -f", OPERATOR_MANIFEST, flush=True)
    subprocess.run(
        ["kubectl", "apply", "--server-side", "-f", OPERATOR_MANIFEST], check=True, env=env
    )
    apps = kube.client.AppsV1Api(api)

    def operator_ready() -> bool | None:
        status = apps.read_namespaced_deployment("operator-controller-manager", "operator-system")
        return True if (status.status.available_replicas or 0) >= 1 else None

    poll("the Flux Operator", operator_ready, STEP_TIMEOUT)
    image = f"{IMAGE_REPOSITORY}:{IMAGE_TAG}"
    run("docker", "build", "-t", image, str(REPO))
    run("kind", "load", "docker-image", image, "--name", CLUSTER)
    with helm.Config(kubeconfig_path=kubeconfig, namespace=NAMESPACE) as config:
        config.install(str(REPO / "chart"), RELEASE, VALUES, timeout=int(STEP_TIMEOUT))
        try:
            yield config
        finally:
            config.uninstall(RELEASE, ignore_not_found=True)


def _token(api: Any) -> str:
    secret = kube.client.CoreV1Api(api).read_namespaced_secret(f"{RELEASE}-flux-sidecar", NAMESPACE)
    return base64.b64decode(secret.data["token"]).decode()


@contextmanager
def port_forward(kubeconfig: Path) -> Iterator[str]:
    port = free_port()
    target = f"svc/{RELEASE}-flux-sidecar-api"
    kubectl = ["kubectl", "--kubeconfig", str(kubeconfig), "--namespace", NAMESPACE]
    forward = subprocess.Popen([*kubectl, "port-forward", target, f"{port}:5000"])
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool | None:
        try:
            return True if httpx.get(f"{url}/readyz", timeout=5).status_code == 200 else None
        except httpx.TransportError:
            return None

    try:
        poll("the sidecar to be ready", ready, STEP_TIMEOUT)
        yield url
    finally:
        forward.terminate()
        forward.wait(timeout=30)


class PhaseWatch:
    """Phases the lead pod goes through; with cleanup it may be deleted soon after."""

    def __init__(self, api: Any) -> None:
        self.phases: list[str] = []
        self._watch = kube.watch.Watch()
        core = kube.client.CoreV1Api(api)
        self._thread = threading.Thread(
            target=self._follow, args=(core,), daemon=True, name="lead-pod-watch"
        )
        self._thread.start()

    def _follow(self, core: Any) -> None:
        stream = self._watch.stream(
            core.list_namespaced_pod, NAMESPACE, label_selector=LEAD_POD, timeout_seconds=600
        )
        for event in stream:
            self.phases.append(event["object"].status.phase)

    def stop(self) -> None:
        self._watch.stop()


def test_the_users_path(kubeconfig: Path, api: Any, release: helm.Config) -> None:
    core = kube.client.CoreV1Api(api)

    def lead_running() -> bool | None:
        pods = core.list_namespaced_pod(NAMESPACE, label_selector=LEAD_POD).items
        return True if pods and pods[0].status.phase == "Running" else None

    poll("the lead broker pod", lead_running, STARTUP_TIMEOUT)
    token = _token(api)
    with port_forward(kubeconfig) as url, SidecarClient(url, token) as client:
        assert client.info() is not None
        job = client.submit(command=["echo", "hello from kind"])
        done = client.wait(job.id, timeout=STEP_TIMEOUT)
        assert done.result == JobResult.COMPLETED
        assert "hello from kind" in client.output(job.id)

        metrics = httpx.get(f"{url}/metrics", timeout=30)
        assert metrics.status_code == 200
        assert "flux_sidecar_http_requests_total" in metrics.text

        # An upgrade keeps the generated token (the Secret template looks it up).
        release.upgrade(str(REPO / "chart"), RELEASE, VALUES, timeout=int(STEP_TIMEOUT))
        assert _token(api) == token
        release.test(RELEASE, timeout=int(STEP_TIMEOUT))

        watch = PhaseWatch(api)
        client.shutdown("cancel")

    custom = kube.client.CustomObjectsApi(api)

    def minicluster_gone() -> bool | None:
        try:
            custom.get_namespaced_custom_object(
                "flux-framework.org", "v1alpha2", NAMESPACE, "miniclusters", RELEASE
            )
        except kube.client.ApiException as exc:
            return True if exc.status == 404 else None
        return None

    try:
        poll("the lead pod to succeed", lambda: True if "Succeeded" in watch.phases else None, 300)
        poll("the operator to delete the MiniCluster", minicluster_gone, STEP_TIMEOUT)
    finally:
        watch.stop()
