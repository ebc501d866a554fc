"""Shutdown against a real broker started as the operator's interactive mode does.

The broker has no initial program (``broker.rc2_none``), so ``shutdown.start``
is what ends it: it must exit 0, the sidecar must exit 0, and the running job
must have ended CANCELED before the broker went away.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.jobwait import wait_for
from tests.support.serverproc import ServerProcess, run_server

pytestmark = pytest.mark.flux

TOKEN = "flux-shutdown-token-31"
EXIT_TIMEOUT = 120  # generous upper bounds, not measurements


@pytest.fixture
def interactive_broker(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A standalone broker without an initial program, listening on its own socket."""
    rundir = tmp_path / "broker"
    rundir.mkdir()
    uri = f"local://{rundir}/local"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_URI")}
    flux = shutil.which("flux")
    assert flux is not None
    log = (tmp_path / "broker.log").open("wb")
    broker = subprocess.Popen(
        [flux, "start", "-Sbroker.rc2_none=1", f"-Slocal-uri={uri}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while not (rundir / "local").exists():
        assert broker.poll() is None, (tmp_path / "broker.log").read_text()
        assert time.monotonic() < deadline, "broker socket never appeared"
        time.sleep(0.1)
    try:
        yield broker, uri
    finally:
        if broker.poll() is None:
            broker.kill()
            broker.wait()
        log.close()


def _record_events(server: ServerProcess, changes: list[dict[str, object]]) -> threading.Event:
    connected = threading.Event()

    def run() -> None:
        with server.client(timeout=EXIT_TIMEOUT) as http, http.stream("GET", "/api/v1/events") as r:
            connected.set()
            for line in r.iter_lines():
                if line.startswith("data: "):
                    changes.append(json.loads(line[6:]))

    threading.Thread(target=run, daemon=True).start()
    return connected


def test_shutdown_stops_the_broker_and_cancels_jobs(
    tmp_path: Path, interactive_broker: tuple[subprocess.Popen[bytes], str]
) -> None:
    broker, uri = interactive_broker
    with (
        run_server(tmp_path, TOKEN, args=("--backend", "flux"), env={"FLUX_URI": uri}) as server,
        server.client() as http,
    ):
        job_id = http.post("/api/v1/jobs", json={"command": ["sleep", "100"]}).json()["id"]
        assert wait_for(http, job_id, "RUN", timeout=EXIT_TIMEOUT)["state"] == "RUN"
        changes: list[dict[str, object]] = []
        assert _record_events(server, changes).wait(30)
        assert http.post("/api/v1/shutdown", json={"mode": "cancel"}).status_code == 202
        assert broker.wait(timeout=EXIT_TIMEOUT) == 0
        assert server.wait_exit(EXIT_TIMEOUT) == 0
    ends = [c for c in changes if c["id"] == job_id and c["state"] == "INACTIVE"]
    assert [c["result"] for c in ends] == ["CANCELED"]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/healthz", timeout=2)
