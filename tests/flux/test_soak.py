"""Soak: 5,000 submissions from 32 clients while the jobs run, on a real broker.

Every submission is answered 201 with a job of its own, each job is listed
exactly once, and the server's memory stays bounded. The clients are the
benchmark's lean keep-alive connections: an httpx client per thread would
spend more CPU than the server and measure itself.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench.load import Request, load
from bench.servers import resident_mib
from tests.support.serverproc import run_server

pytestmark = pytest.mark.flux

CLIENTS = 32
SUBMISSIONS = 5000
WARM_UP = 500
TOKEN = "soak-token-0123456789"
# Generous: the hub's replay window and the idempotency store hold a bounded
# number of entries; growth past this would be a leak, not a cache.
RSS_GROWTH_MIB = 60.0
DRAIN_SECONDS = 600  # a bound on waiting for the queue to run out, not a measurement


def _listed(http: Any, name: str) -> list[str]:
    ids: list[str] = []
    params: dict[str, Any] = {"name": name, "limit": 1000}
    while True:
        page = http.get("/api/v1/jobs", params=params).json()
        ids += [job["id"] for job in page["jobs"]]
        if not page["next"]:
            return ids
        params["cursor"] = page["next"]


def _wait_until_done(http: Any, name: str) -> None:
    active = {"name": name, "state": "DEPEND,PRIORITY,SCHED,RUN,CLEANUP", "limit": 1}
    deadline = time.monotonic() + DRAIN_SECONDS
    while http.get("/api/v1/jobs", params=active).json()["jobs"]:
        assert time.monotonic() < deadline, "the soak's jobs did not finish"
        time.sleep(1)


def test_thousands_of_running_jobs_none_lost_none_duplicated(tmp_path: Path) -> None:
    name = f"soak-{uuid.uuid4().hex[:8]}"
    body = json.dumps({"command": ["true"], "name": name}).encode()
    with run_server(tmp_path, TOKEN, args=("--backend", "flux")) as server:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        submit = Request("POST", "/api/v1/jobs", headers, body, ok=(201,))
        port = int(server.url.rsplit(":", 1)[1])
        answers = load(port, submit, CLIENTS, WARM_UP, keep=True).bodies
        before = resident_mib(server.proc.pid)
        answers += load(port, submit, CLIENTS, SUBMISSIONS - WARM_UP, keep=True).bodies
        after = resident_mib(server.proc.pid)
        accepted = [json.loads(answer)["id"] for answer in answers]
        with server.client(timeout=120) as http:
            listed = _listed(http, name)
            _wait_until_done(http, name)  # the instance is shared with the tests after this
    assert len(accepted) == SUBMISSIONS
    assert len(set(accepted)) == SUBMISSIONS, "a job id was answered twice"
    duplicates = [job for job, seen in Counter(listed).items() if seen > 1]
    assert duplicates == []
    assert set(listed) == set(accepted)
    assert after - before < RSS_GROWTH_MIB, f"{before:.1f} -> {after:.1f} MiB"
