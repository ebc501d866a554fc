"""Clients that drop streaming connections leave nothing behind on the server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from sidecar.backends.local.backend import LocalBackend
from sidecar.server.app import create_app
from tests.support.app import AUTH, make_settings
from tests.support.inprocess import LiveServer, serve_in_thread

DROPS = 200


@pytest.fixture
def live() -> Iterator[LiveServer]:
    with serve_in_thread(create_app(make_settings(), LocalBackend(cores=2))) as server:
        yield server


def _settled(live: LiveServer, baseline_tasks: int, baseline_threads: int) -> tuple[int, int]:
    deadline = time.monotonic() + 30
    while True:
        tasks, threads = live.count_tasks(), threading.active_count()
        if (tasks <= baseline_tasks and threads <= baseline_threads) or time.monotonic() > deadline:
            return tasks, threads
        time.sleep(0.1)


def test_dropped_streams_leave_no_tasks_or_threads(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, headers=AUTH, timeout=30) as http:
        job = http.post("/api/v1/jobs", json={"command": ["sh", "-c", "echo up; sleep 120"]})
        job_id = job.json()["id"]
        paths = [
            f"/api/v1/jobs/{job_id}/output?follow=true",
            f"/api/v1/jobs/{job_id}/events",
            "/api/v1/events",
        ]
        # One connect-and-drop first, so lazily created machinery is in the baseline.
        with http.stream("GET", paths[0]) as response:
            next(response.iter_raw())
        baseline_tasks, baseline_threads = _settled(live, 10**6, 10**6)
        for number in range(DROPS):
            with http.stream("GET", paths[number % len(paths)]) as response:
                assert response.status_code == 200
                next(response.iter_raw())
        tasks, threads = _settled(live, baseline_tasks, baseline_threads)
        http.post(f"/api/v1/jobs/{job_id}/cancel")
    assert tasks <= baseline_tasks
    assert threads <= baseline_threads
