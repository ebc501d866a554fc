"""``flux-sidecar serve --backend flux`` as a process, on a real broker (``make test-flux``)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import httpx
import pytest

from sidecar.backends.flux.backend import FluxBackend
from sidecar.jobid import encode_f58, parse_jobid
from tests.support.app import make_settings
from tests.support.flux import EventListener, flux, own_broker
from tests.support.jobwait import wait_for
from tests.support.serverproc import run_server

pytestmark = pytest.mark.flux

TOKEN = "flux-server-token-7c1e"
FLUX = ("--backend", "flux")


def _outside_job(name: str, env: dict[str, str] | None = None) -> str:
    """A job submitted with `flux submit`, not through the sidecar; its f58 id."""
    return encode_f58(parse_jobid(flux("submit", f"--job-name={name}", "true", env=env).strip()))


def test_a_job_submitted_outside_shows_in_list_and_events(tmp_path: Path) -> None:
    with run_server(tmp_path, TOKEN, args=FLUX) as server, server.client() as http:
        with EventListener(server.client()) as events:
            job_id = _outside_job("outside")
            events.wait_for(job_id, "INACTIVE")
        assert events.states_of(job_id) == [
            "DEPEND",
            "PRIORITY",
            "SCHED",
            "RUN",
            "CLEANUP",
            "INACTIVE",
        ]
        assert events.changes[-1]["result"] == "COMPLETED"
        listed = http.get("/api/v1/jobs", params={"name": "outside"}).json()["jobs"]
        assert job_id in [job["id"] for job in listed]
        assert http.get(f"/api/v1/jobs/{job_id}").json()["result"] == "COMPLETED"


def test_events_resume_after_a_restart_without_loss(tmp_path: Path) -> None:
    with run_server(tmp_path, TOKEN, args=FLUX) as server:
        with EventListener(server.client()) as events:
            first = _outside_job("before-restart")
            last = events.wait_for(first, "INACTIVE")
        with EventListener(server.client(), last["event_id"]) as resumed:
            again = _outside_job("same-run")
            resumed.wait_for(again, "INACTIVE")
        assert first not in [c["id"] for c in resumed.changes]
    missed = _outside_job("while-away")  # no sidecar runs now
    with run_server(tmp_path, TOKEN, args=FLUX) as server:
        with EventListener(server.client(), last["event_id"]) as resumed:
            resumed.wait_for(missed, "INACTIVE")
            resumed.wait_for(again, "INACTIVE")
        assert first not in [c["id"] for c in resumed.changes]


def test_broker_down_means_503_until_it_is_back(tmp_path: Path) -> None:
    with own_broker(tmp_path, started=False) as broker:
        env = {"FLUX_URI": broker.uri}
        with (
            run_server(tmp_path, TOKEN, args=FLUX, env=env, wait=False) as server,
            server.client() as http,
        ):
            _wait_status(http, "/healthz", 200)
            assert http.get("/readyz").status_code == 503
            refused = http.post("/api/v1/jobs", json={"command": ["true"]})
            assert refused.status_code == 503
            assert str(broker.socket) in refused.json()["detail"]

            broker.start()
            _wait_status(http, "/readyz", 200)
            job = http.post("/api/v1/jobs", json={"command": ["true"]}).json()
            assert wait_for(http, job["id"])["result"] == "COMPLETED"

            assert broker.shutdown() == 0
            _wait_status(http, "/readyz", 503)
            gone = http.post("/api/v1/jobs", json={"command": ["true"]})
            assert gone.status_code == 503, server.logs()
            assert "broker" in gone.json()["detail"]

            broker.start()
            _wait_status(http, "/readyz", 200)
            job = http.post("/api/v1/jobs", json={"command": ["echo", "back"]}).json()
            assert wait_for(http, job["id"])["result"] == "COMPLETED"
            assert http.get(f"/api/v1/jobs/{job['id']}/output").text == "back\n"


def test_stop_broker_ends_the_broker_with_status_0(tmp_path: Path) -> None:
    with own_broker(tmp_path) as broker:
        backend = FluxBackend(make_settings(backend="flux"), environ={"FLUX_URI": broker.uri})

        async def stop() -> bool:
            await backend.start()
            try:
                ready = await backend.ready()
                await backend.stop_broker()
                return ready
            finally:
                await backend.close()

        assert asyncio.run(stop())
        assert broker.proc is not None
        assert broker.proc.wait(60) == 0


def _watchers() -> int:
    stats: dict[str, int] = json.loads(flux("module", "stats", "job-info"))
    return stats["watchers"] + stats["guest_watchers"]


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def test_clients_that_leave_cancel_their_watches(tmp_path: Path) -> None:
    with run_server(tmp_path, TOKEN, args=FLUX) as server, server.client() as http:
        job = http.post("/api/v1/jobs", json={"command": ["sh", "-c", "echo up; sleep 300"]})
        job_id = job.json()["id"]
        # The job's shell watches eventlogs too: count once it is up and running.
        deadline = time.monotonic() + 60
        while http.get(f"/api/v1/jobs/{job_id}/output").text != "up\n":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        watchers, threads = _watchers(), _threads(server.proc.pid)
        for _ in range(5):
            with server.client() as reader:
                url = f"/api/v1/jobs/{job_id}/output?follow=true"
                with reader.stream("GET", url) as response:
                    assert next(response.iter_lines()) == "up"
                with reader.stream("GET", f"/api/v1/jobs/{job_id}/events") as response:
                    assert any(line.startswith("data: ") for line in response.iter_lines())
        deadline = time.monotonic() + 30
        while _watchers() > watchers:
            assert time.monotonic() < deadline, f"{_watchers()} watchers, {watchers} before"
            time.sleep(0.1)
        assert _threads(server.proc.pid) == threads
        http.post(f"/api/v1/jobs/{job_id}/cancel")


def _wait_status(http: httpx.Client, path: str, status: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if http.get(path).status_code == status:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{path} never answered {status}"
        time.sleep(0.1)
