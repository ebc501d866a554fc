"""Idle teardown on the real program: nothing to do for long enough, and the cluster ends.

Bounds on the waits are generous; what is asserted is the order of things (a
running job ends COMPLETED before the sidecar goes) and the exit status, never
a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from tests.support.serverproc import ServerProcess, run_server

TOKEN = "idle-token-0123456789"
EXIT_TIMEOUT = 60.0
SERVE = (sys.executable, "-m", "sidecar", "serve", "--backend", "local", "--no-auth")


def _serve(tmp_path: Path, duration: str) -> AbstractContextManager[ServerProcess]:
    return run_server(tmp_path, TOKEN, args=("--backend", "local", "--idle-shutdown", duration))


def test_a_sidecar_with_nothing_to_do_shuts_down(tmp_path: Path) -> None:
    with _serve(tmp_path, "1s") as server:
        # Probes and scrapes are not calls: they must not keep the cluster alive.
        deadline = time.monotonic() + EXIT_TIMEOUT
        while server.proc.poll() is None:
            assert time.monotonic() < deadline, "never shut down"
            try:
                httpx.get(f"{server.url}/healthz", timeout=2)
                httpx.get(f"{server.url}/metrics", timeout=2)
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert server.proc.returncode == 0
    assert "no job active, no API call" in server.logs()
    assert "shutdown requested (idle): mode drain" in server.logs()


def _poll(server: ServerProcess, paths: tuple[str, ...], *, seconds: float) -> None:
    """GET each path every 0.2 s for ``seconds``, while the server lives."""
    deadline = time.monotonic() + seconds
    with server.client() as http, httpx.Client(base_url=server.url) as anonymous:
        while server.proc.poll() is None and time.monotonic() < deadline:
            try:
                for path in paths:
                    http.get(path, timeout=2)
                anonymous.get("/api/v1/jobs", timeout=2)  # no token: 401, not a call
            except httpx.TransportError:
                pass
            time.sleep(0.2)


def test_status_reads_and_refused_calls_do_not_keep_it_alive(tmp_path: Path) -> None:
    # What the web page polls, what asks how long is left, and paths no route serves.
    reads = ("/api/v1/info", "/api/v1/resources", "/api/v1/shutdown", "/v1/nodes", "/api/v1/nope")
    with _serve(tmp_path, "1s") as server:
        _poll(server, reads, seconds=EXIT_TIMEOUT)  # returns early once the server exits
        assert server.proc.poll() == 0, "status reads kept the sidecar alive"
    assert "shutdown requested (idle): mode drain" in server.logs()


def test_calls_keep_it_alive(tmp_path: Path) -> None:
    with _serve(tmp_path, "3s") as server:
        assert "idle teardown on: shutting down after 3s" in server.logs()
        _poll(server, ("/api/v1/jobs", "/api/v1/files"), seconds=8)
        assert server.proc.poll() is None, "shut down while calls kept arriving"
        assert server.wait_exit(EXIT_TIMEOUT) == 0
    assert "shutdown requested (idle): mode drain" in server.logs()


def test_a_running_job_is_waited_for(tmp_path: Path) -> None:
    with _serve(tmp_path, "1s") as server:
        changes: list[dict[str, object]] = []
        opened = threading.Event()

        def watch() -> None:
            with (
                server.client(timeout=EXIT_TIMEOUT) as http,
                http.stream("GET", "/api/v1/events") as response,
            ):
                opened.set()
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        changes.append(json.loads(line[6:]))

        reader = threading.Thread(target=watch, daemon=True)
        reader.start()
        assert opened.wait(30)
        with server.client() as http:
            job = http.post("/api/v1/jobs", json={"command": ["sleep", "3"]}).json()
        assert server.wait_exit(EXIT_TIMEOUT) == 0
        reader.join(10)
    ends = [c for c in changes if c["id"] == job["id"] and c["state"] == "INACTIVE"]
    assert [c["result"] for c in ends] == ["COMPLETED"]
    # Idle means no job active: the shutdown began after the job ended, not while it ran.
    (line,) = [x for x in server.logs().splitlines() if "shutdown requested (idle)" in x]
    logged = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    assert logged >= float(str(ends[0]["timestamp"])) - 0.001


def test_info_and_metrics_say_how_long_is_left(tmp_path: Path) -> None:
    with _serve(tmp_path, "10m") as server, server.client() as http:
        idle = http.get("/api/v1/info").json()["idle_shutdown"]
        assert idle["after_seconds"] == 600
        assert 0 < idle["seconds_left"] <= 600
        assert idle["idle_seconds"] >= 0
        metrics = httpx.get(f"{server.url}/metrics").text
        assert "flux_sidecar_idle_shutdown_seconds_left " in metrics
        assert "flux_sidecar_idle_seconds " in metrics


@pytest.mark.parametrize("args", [(), ("--idle-shutdown", "0")], ids=["unset", "zero"])
def test_without_the_option_there_is_no_idle_teardown(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    with (
        run_server(tmp_path, TOKEN, args=("--backend", "local", *args)) as server,
        server.client() as http,
    ):
        assert http.get("/api/v1/info").json()["idle_shutdown"] is None
        assert (
            "flux_sidecar_idle_shutdown_seconds_left" not in httpx.get(f"{server.url}/metrics").text
        )


@pytest.mark.parametrize("duration", ["soon", "-5", "10 minutes", "5x", "nan", "1e9"])
def test_a_bad_duration_is_refused_at_start(tmp_path: Path, duration: str) -> None:
    done = subprocess.run(
        [*SERVE, "--idle-shutdown", duration],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "invalid setting idle_shutdown" in done.stderr
