"""The real program: ``python -m sidecar serve`` on a loopback port, spoken to over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.jobwait import wait_for
from tests.support.serverproc import free_port, process_alive, run_server

TOKEN = "process-token-4f1c2a"


def test_echo_hello(tmp_path: Path) -> None:
    with run_server(tmp_path, TOKEN) as server, server.client() as http:
        job = http.post("/api/v1/jobs", json={"command": "echo hello"}).json()
        assert wait_for(http, job["id"])["result"] == "COMPLETED"
        assert http.get(f"/api/v1/jobs/{job['id']}/output").text == "hello\n"


def test_cancel_ends_the_process_group(tmp_path: Path) -> None:
    with run_server(tmp_path, TOKEN) as server, server.client() as http:
        # The task reports its own pid and that of a child in its process group.
        command = ["sh", "-c", "sleep 60 & echo $$ $!; wait"]
        job = http.post("/api/v1/jobs", json={"command": command}).json()
        with http.stream("GET", f"/api/v1/jobs/{job['id']}/output?follow=true") as response:
            pids = [int(p) for p in next(response.iter_lines()).split()]
        assert all(process_alive(pid) for pid in pids)
        assert http.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 202
        assert wait_for(http, job["id"])["result"] == "CANCELED"
        deadline = time.monotonic() + 30
        while any(process_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(process_alive(pid) for pid in pids)


def test_follow_streams_while_the_job_runs(tmp_path: Path) -> None:
    with run_server(tmp_path, TOKEN) as server, server.client() as http:
        command = ["sh", "-c", "echo first; sleep 60; echo never"]
        job = http.post("/api/v1/jobs", json={"command": command}).json()
        url = f"/api/v1/jobs/{job['id']}/output?follow=true"
        with http.stream("GET", url, headers={"Accept": "application/x-ndjson"}) as response:
            lines = response.iter_lines()
            assert next(lines) == '{"stream":"stdout","rank":0,"data":"first\\n"}'
            # The job is still running while its first line has already arrived.
            assert http.get(f"/api/v1/jobs/{job['id']}").json()["state"] == "RUN"
            http.post(f"/api/v1/jobs/{job['id']}/cancel")
            assert list(lines) == []


def test_token_never_reaches_a_job(tmp_path: Path) -> None:
    env = {"FLUX_SIDECAR_TOKEN": TOKEN, "FLUX_TOKEN": TOKEN}
    with run_server(tmp_path, TOKEN, env=env) as server, server.client() as http:
        job = http.post("/api/v1/jobs", json={"command": ["env"]}).json()
        wait_for(http, job["id"])
        output = http.get(f"/api/v1/jobs/{job['id']}/output").text
        assert "PATH=" in output
        assert TOKEN not in output
    assert TOKEN not in server.logs()


def test_token_rotation_without_restart(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("old-token-aaaa\n")
    with run_server(tmp_path, "old-token-aaaa", token_file=token_file) as server:
        old = {"Authorization": "Bearer old-token-aaaa"}
        assert httpx.get(f"{server.url}/api/v1/info", headers=old).status_code == 200
        # The kubelet swaps a symlink; an atomic rename is the same for stat().
        (tmp_path / "token.next").write_text("new-token-bbbb\n")
        (tmp_path / "token.next").replace(token_file)
        new = {"Authorization": "Bearer new-token-bbbb"}
        assert httpx.get(f"{server.url}/api/v1/info", headers=new).status_code == 200
        assert httpx.get(f"{server.url}/api/v1/info", headers=old).status_code == 401


def test_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLUX_SIDECAR_", "FLUX_TOKEN"))}
    env["FLUX_SIDECAR_TOKEN_FILE"] = str(tmp_path / "missing")
    port = str(free_port())
    result = subprocess.run(
        [sys.executable, "-m", "sidecar", "serve", "--backend", "local", "--port", port],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "no token" in result.stderr
    assert "--no-auth" in result.stderr
