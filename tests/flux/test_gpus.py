"""GPUs on a broker configured with some (Flux's resource config takes a ``gpus`` field).

job-list reports no GPUs: a job's come from its R, whether the sidecar saw
it being allocated (the journal's alloc entry) or not (a lookup of R), and
the instance's from its resource set, by state.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.support.flux import own_broker
from tests.support.jobwait import wait_for
from tests.support.serverproc import run_server

pytestmark = pytest.mark.flux

TOKEN = "gpu-token-0123456789"
RESOURCES = """[resource]
noverify = true
[[resource.config]]
hosts = "gpunode0"
cores = "0-3"
gpus = "0-3"
"""


def _submit_when_up(env: dict[str, str], *args: str) -> str:
    """``flux submit`` once the new broker takes jobs (its socket appears before that)."""
    deadline = time.monotonic() + 60
    while True:
        done = subprocess.run(["flux", "submit", *args], env=env, capture_output=True, text=True)
        if done.returncode == 0:
            return done.stdout.strip()
        assert time.monotonic() < deadline, done.stderr
        time.sleep(0.2)


def test_jobs_and_resources_count_gpus(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "resource.toml").write_text(RESOURCES)
    options = ("--test-size=1", "--test-hosts=gpunode0", f"--config-path={config}")
    (tmp_path / "broker").mkdir()
    with own_broker(tmp_path / "broker", options=options) as broker:
        env = {"FLUX_URI": broker.uri}
        # Allocated before the sidecar started: its GPUs come from a lookup of R.
        before = _submit_when_up(broker.env(), "-n1", "-g1", "sleep", "300")
        with (
            run_server(tmp_path, TOKEN, args=("--backend", "flux"), env=env) as server,
            server.client() as http,
        ):
            body = {"command": ["sleep", "300"], "tasks": 2, "gpus_per_task": 1}
            job = http.post("/api/v1/jobs", json=body).json()
            assert wait_for(http, job["id"], "RUN")["gpus"] == 2
            assert wait_for(http, before, "RUN")["gpus"] == 1
            gpus = http.get("/api/v1/resources").json()["gpus"]
            assert gpus == {"total": 4, "up": 4, "down": 0, "allocated": 3, "free": 1}
            listed = {j["id"]: j["gpus"] for j in http.get("/api/v1/jobs").json()["jobs"]}
            assert listed[job["id"]] == 2
            for job_id in (job["id"], before):
                http.post(f"/api/v1/jobs/{job_id}/cancel")
            # An ended job keeps the GPUs it held.
            assert wait_for(http, job["id"], "INACTIVE")["gpus"] == 2
            assert http.get("/api/v1/resources").json()["gpus"]["free"] == 4
