"""Shutdown and the pod lifecycle, on the real program (local backend)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.support.jobwait import wait_for
from tests.support.serverproc import ServerProcess, free_port, process_alive, run_server

TOKEN = "shutdown-token-77aa"
EXIT_TIMEOUT = 60  # generous: an upper bound, not a measurement


class EventRecorder(threading.Thread):
    """Reads /api/v1/events until the server closes the stream."""

    def __init__(self, server: ServerProcess) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.changes: list[dict[str, object]] = []
        self.connected = threading.Event()
        self.ended_cleanly = False

    def run(self) -> None:
        with self.server.client(timeout=120) as http, http.stream("GET", "/api/v1/events") as resp:
            self.connected.set()
            for line in resp.iter_lines():
                if line.startswith("data: "):
                    self.changes.append(json.loads(line[6:]))
            self.ended_cleanly = True


def test_cancel_mode_ends_jobs_and_exits_zero(tmp_path: Path) -> None:
    with run_server(tmp_path, TOKEN) as server, server.client() as http:
        job = http.post("/api/v1/jobs", json={"command": ["sh", "-c", "echo $$; exec sleep 60"]})
        job_id = job.json()["id"]
        with http.stream("GET", f"/api/v1/jobs/{job_id}/output?follow=true") as response:
            pid = int(next(response.iter_lines()))
        recorder = EventRecorder(server)
        recorder.start()
        assert recorder.connected.wait(30)
        response = http.post("/api/v1/shutdown", json={"mode": "cancel"})
        assert response.status_code == 202
        assert response.json()["in_progress"] is True
        assert server.wait_exit(EXIT_TIMEOUT) == 0
        recorder.join(30)
    assert recorder.ended_cleanly
    assert {"id": job_id, "state": "INACTIVE", "result": "CANCELED"}.items() <= next(
        c for c in recorder.changes if c["state"] == "INACTIVE"
    ).items()
    assert not process_alive(pid)
    assert "Traceback" not in server.logs()


def test_drain_waits_for_jobs_and_refuses_new_ones(tmp_path: Path) -> None:
    with run_server(tmp_path, TOKEN) as server, server.client() as http:
        job_id = http.post("/api/v1/jobs", json={"command": ["sleep", "2"]}).json()["id"]
        wait_for(http, job_id, "RUN")
        recorder = EventRecorder(server)
        recorder.start()
        assert recorder.connected.wait(30)
        first = http.post("/api/v1/shutdown", json={"mode": "drain", "timeout_seconds": 120})
        assert first.status_code == 202
        again = http.post("/api/v1/shutdown", json={"mode": "drain", "timeout_seconds": 5})
        assert again.json()["started_at"] == first.json()["started_at"]
        assert http.post("/api/v1/shutdown", json={"mode": "now"}).status_code == 409
        refused = http.post("/api/v1/jobs", json={"command": ["true"]})
        assert refused.status_code == 503
        assert "shutting down" in refused.json()["detail"]
        assert httpx.get(f"{server.url}/readyz").status_code == 503
        progress = http.get("/api/v1/shutdown").json()
        assert progress["phase"] in {"draining", "cancelling", "stopping-broker", "exiting"}
        assert server.wait_exit(EXIT_TIMEOUT) == 0
        recorder.join(30)
    ends = [c for c in recorder.changes if c["id"] == job_id and c["state"] == "INACTIVE"]
    assert [c["result"] for c in ends] == ["COMPLETED"]


def test_sigterm_exits_zero_with_open_streams(tmp_path: Path) -> None:
    with run_server(tmp_path, TOKEN) as server, server.client() as http:
        job_id = http.post("/api/v1/jobs", json={"command": ["sleep", "60"]}).json()["id"]
        wait_for(http, job_id, "RUN")
        recorder = EventRecorder(server)
        recorder.start()
        follower_done = threading.Event()

        def follow() -> None:
            with server.client(timeout=120) as other:
                url = f"/api/v1/jobs/{job_id}/output?follow=true"
                with other.stream("GET", url) as response:
                    for _ in response.iter_lines():
                        pass
            follower_done.set()

        threading.Thread(target=follow, daemon=True).start()
        assert recorder.connected.wait(30)
        time.sleep(0.5)  # let the follower connect; correctness does not depend on it
        server.proc.send_signal(signal.SIGTERM)
        assert server.wait_exit(EXIT_TIMEOUT) == 0
        assert follower_done.wait(30)
        recorder.join(30)
    assert recorder.ended_cleanly


def test_sigterm_cuts_a_drain_short(tmp_path: Path) -> None:
    with run_server(tmp_path, TOKEN) as server, server.client() as http:
        job_id = http.post("/api/v1/jobs", json={"command": ["sleep", "600"]}).json()["id"]
        wait_for(http, job_id, "RUN")
        drain = {"mode": "drain", "timeout_seconds": 3600}
        assert http.post("/api/v1/shutdown", json=drain).status_code == 202
        assert http.get("/api/v1/shutdown").json()["phase"] == "draining"
        server.proc.send_signal(signal.SIGTERM)
        assert server.wait_exit(EXIT_TIMEOUT) == 0
    assert "exiting now" in server.logs()


def test_only_the_lead_pod_serves(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_SIDECAR_")}
    env["JOB_COMPLETION_INDEX"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "sidecar", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=EXIT_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0
    assert "not the lead broker pod" in result.stderr


def test_completion_file_makes_the_server_exit(tmp_path: Path) -> None:
    marker = tmp_path / "flux-operator-complete.txt"
    env = {"FLUX_SIDECAR_COMPLETION_FILE": str(marker)}
    with run_server(tmp_path, TOKEN, env=env) as server:
        marker.write_text("done\n")
        assert server.wait_exit(EXIT_TIMEOUT) == 0
    assert "flux-operator-complete.txt appeared" in server.logs()
