"""A full scenario with a recognizable token: it must show up nowhere but in requests."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.jobwait import wait_for
from tests.support.serverproc import run_server

CANARY = "CANARY-token-9f8e7d6c5b4a"


def test_token_appears_nowhere(tmp_path: Path) -> None:
    seen: list[str] = []
    env = {"FLUX_SIDECAR_LOG_LEVEL": "debug", "FLUX_SIDECAR_TOKEN": CANARY, "FLUX_TOKEN": CANARY}
    with run_server(tmp_path, CANARY, env=env) as server, server.client() as http:
        job = http.post("/api/v1/jobs", json={"command": ["env"], "name": "env-dump"}).json()
        seen.append(str(job))
        wait_for(http, job["id"])
        for path in (
            f"/api/v1/jobs/{job['id']}",
            f"/api/v1/jobs/{job['id']}/output",
            f"/api/v1/jobs/{job['id']}/events",
            "/api/v1/jobs",
            "/api/v1/info",
            "/api/v1/resources",
            "/api/v1/shutdown",
            "/metrics",
            "/openapi.json",
        ):
            seen.append(http.get(path).text)
        # Failed attempts, including ones that carry parts of the real token.
        for header in (f"Bearer {CANARY}x", f"Basic {CANARY}", f"Token {CANARY}"):
            seen.append(
                httpx.get(f"{server.url}/api/v1/jobs", headers={"Authorization": header}).text
            )
        seen.append(http.get("/metrics").text)
        shutdown = http.post("/api/v1/shutdown", json={"mode": "cancel"})
        seen.append(shutdown.text)
        assert server.wait_exit(60) == 0
    output = seen[2]
    assert "PATH=" in output  # the job's environment was really captured
    for text in seen:
        assert CANARY not in text
    assert CANARY not in server.logs()
