"""Polling helpers shared by the API tests (bounded waits, never timing assertions)."""

from __future__ import annotations

import time
from typing import Any, Protocol


class _Getter(Protocol):
    def get(self, url: str) -> Any: ...


def job_of(client: _Getter, job_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


def wait_for(client: _Getter, job_id: str, *states: str, timeout: float = 60.0) -> dict[str, Any]:
    """The job once it is in one of ``states`` (or INACTIVE); fails after ``timeout``."""
    wanted = {*states, "INACTIVE"}
    deadline = time.monotonic() + timeout
    while True:
        job = job_of(client, job_id)
        if job["state"] in wanted:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']}"
        time.sleep(0.05)
