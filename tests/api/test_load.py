"""Load on the real server: 32 concurrent clients, none lost, none duplicated, no 5xx."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.serverproc import ServerProcess, run_server

CLIENTS = 32
JOBS_PER_CLIENT = 20
TOKEN = "load-token-5d2e"


def _client_run(server: ServerProcess, client_no: int) -> tuple[list[str], list[int]]:
    accepted: list[str] = []
    statuses: list[int] = []
    with server.client(timeout=120) as http:
        for job_no in range(JOBS_PER_CLIENT):
            key = f"load-{client_no}-{job_no}-{uuid.uuid4().hex[:8]}"
            body = {"command": ["true"], "name": f"load-{client_no}"}
            response = http.post("/api/v1/jobs", json=body, headers={"Idempotency-Key": key})
            statuses.append(response.status_code)
            if response.status_code == 201:
                accepted.append(response.json()["id"])
                if job_no % 5 == 0:  # a client that retries: it must get the same job
                    again = http.post("/api/v1/jobs", json=body, headers={"Idempotency-Key": key})
                    statuses.append(again.status_code)
                    assert again.json()["id"] == accepted[-1]
    return accepted, statuses


def _all_job_ids(http: httpx.Client | TestClient) -> list[str]:
    ids: list[str] = []
    params: dict[str, Any] = {"limit": 1000}
    while True:
        page = http.get("/api/v1/jobs", params=params).json()
        # One Flux instance serves every flux test: count this test's jobs only.
        ids += [job["id"] for job in page["jobs"] if job["name"].startswith("load-")]
        if not page["next"]:
            return ids
        params["cursor"] = page["next"]


@pytest.mark.parametrize("backend", ["local", pytest.param("flux", marks=pytest.mark.flux)])
def test_concurrent_submissions_are_each_listed_once(tmp_path: Path, backend: str) -> None:
    with run_server(tmp_path, TOKEN, args=("--backend", backend)) as server:
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(lambda n: _client_run(server, n), range(CLIENTS)))
        statuses = Counter(code for _, codes in results for code in codes)
        accepted = [job for ids, _ in results for job in ids]
        with server.client() as http:
            listed = _all_job_ids(http)
    assert not [code for code in statuses if code >= 500], statuses
    assert len(accepted) == CLIENTS * JOBS_PER_CLIENT
    assert len(set(accepted)) == len(accepted)
    counts = Counter(listed)
    assert all(counts[job] == 1 for job in accepted)
    assert set(listed) == set(accepted)
