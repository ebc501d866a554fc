"""Limits that keep one client or one stuck broker from hurting everyone else."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient

from sidecar.backends.local.backend import LocalBackend
from sidecar.hub import EventHub
from sidecar.models import Job
from sidecar.server.app import create_app
from tests.support.app import AUTH, make_settings


class StuckBackend(LocalBackend):
    """A broker that accepts connections but never answers a query."""

    async def get_job(self, jobid: int) -> Job:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


def test_a_stuck_backend_call_times_out() -> None:
    settings = make_settings(request_timeout_seconds=0.2)
    with TestClient(create_app(settings, StuckBackend(cores=1)), headers=AUTH) as client:
        response = client.get("/api/v1/jobs/ƒ2")
        assert response.status_code == 504
        assert "did not answer" in response.json()["detail"]
        assert client.get("/api/v1/jobs").status_code == 200


def test_page_size_is_bounded(client: TestClient) -> None:
    assert client.get("/api/v1/jobs", params={"limit": 1000}).status_code == 200
    response = client.get("/api/v1/jobs", params={"limit": 1001})
    assert response.status_code == 422
    assert "limit" in response.json()["detail"]


def test_a_reader_that_never_reads_is_dropped_not_buffered() -> None:
    async def scenario() -> tuple[int, int]:
        hub: EventHub[int] = EventHub(history=100, queue_size=10)
        received = 0

        async def slow_reader() -> None:
            nonlocal received
            async for _ in hub.subscribe():
                received += 1
                await asyncio.sleep(3600)

        task = asyncio.ensure_future(slow_reader())
        await asyncio.sleep(0)
        for number in range(10_000):
            hub.publish(number)
        await asyncio.sleep(0)
        subscribers = hub.subscriber_count
        task.cancel()
        return received, subscribers

    received, subscribers = asyncio.run(scenario())
    assert received <= 1
    assert subscribers == 0
