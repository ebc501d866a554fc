"""The backend contract: the same API on every backend (local always, flux when present)."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient


def submit(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def wait_inactive(client: TestClient, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] == "INACTIVE" or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def wait_state(
    client: TestClient, job_id: str, state: str, timeout: float = 60.0
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] == state or job["state"] == "INACTIVE" or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_echo_completes_with_output(any_client: TestClient) -> None:
    job = submit(any_client, command=["echo", "hello"], name="greeting")
    assert job["id"].startswith("ƒ")
    assert int(job["id_dec"]) > 0
    done = wait_inactive(any_client, job["id"])
    assert done["result"] == "COMPLETED"
    assert done["returncode"] == 0
    assert done["name"] == "greeting"
    output = any_client.get(f"/api/v1/jobs/{job['id']}/output")
    assert output.status_code == 200
    assert output.text == "hello\n"
