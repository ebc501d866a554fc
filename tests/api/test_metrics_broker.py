"""A scrape answers while the broker is down or hung, and over a real socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from sidecar.backends.base import JobBackend, Stream
from sidecar.errors import BrokerUnavailable
from sidecar.models import (
    BackendInfo,
    Job,
    JobEvent,
    JobPage,
    JobQuery,
    JobRequest,
    JobStats,
    OutputLine,
    Resources,
    StateChange,
)
from sidecar.server.app import create_app
from tests.support.app import AUTH, make_settings
from tests.support.serverproc import run_server

BROKER_SERIES = ("flux_jobs", "flux_jobs_inactive", "flux_resources_")


class UnreachableBroker:
    """The outer boundary, as when the broker is gone: every call fails, or never answers."""

    kind: Literal["flux", "local"] = "flux"

    def __init__(self, *, hang: bool) -> None:
        self.hang = hang

    async def _fail(self) -> Any:
        if self.hang:
            await asyncio.Event().wait()
        raise BrokerUnavailable("cannot connect to the Flux broker")

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def ready(self) -> bool:
        if self.hang:
            await asyncio.Event().wait()
        return False

    async def info(self) -> BackendInfo:
        return await self._fail()  # type: ignore[no-any-return]

    async def submit(self, request: JobRequest) -> Job:
        return await self._fail()  # type: ignore[no-any-return]

    async def list_jobs(self, query: JobQuery) -> JobPage:
        return await self._fail()  # type: ignore[no-any-return]

    async def get_job(self, jobid: int) -> Job:
        return await self._fail()  # type: ignore[no-any-return]

    async def cancel(self, jobid: int, reason: str | None = None) -> None:
        await self._fail()

    async def signal(self, jobid: int, signum: int) -> None:
        await self._fail()

    async def output(
        self, jobid: int, *, follow: bool, streams: Collection[Stream]
    ) -> AsyncIterator[OutputLine]:
        yield await self._fail()

    async def job_events(self, jobid: int) -> AsyncIterator[JobEvent]:
        yield await self._fail()

    async def events(self, after: str | None = None) -> AsyncIterator[StateChange]:
        yield await self._fail()

    async def resources(self) -> Resources:
        return await self._fail()  # type: ignore[no-any-return]

    async def stats(self) -> JobStats:
        return await self._fail()  # type: ignore[no-any-return]

    async def stop_broker(self) -> None:
        await self._fail()


@pytest.fixture(params=[False, True], ids=["down", "hung"])
def broker_down_client(request: pytest.FixtureRequest) -> Iterator[TestClient]:
    backend: JobBackend = UnreachableBroker(hang=request.param)
    with TestClient(create_app(make_settings(), backend), headers=AUTH) as client:
        yield client


def test_scrape_answers_while_the_broker_is_unreachable(broker_down_client: TestClient) -> None:
    broker_down_client.get("/healthz")
    response = broker_down_client.get("/metrics")
    assert response.status_code == 200
    samples = {s.name: s for f in text_string_to_metric_families(response.text) for s in f.samples}
    assert samples["flux_broker_up"].value == 0
    assert not [name for name in samples if name.startswith(BROKER_SERIES)]
    assert samples["flux_sidecar_info"].labels["backend"] == "flux"
    assert samples["flux_sidecar_http_requests_total"].labels["route"] == "/healthz"
    assert samples["flux_sidecar_shutdown_in_progress"].value == 0


def test_scrape_over_a_real_socket_with_metrics_auth(tmp_path: Path) -> None:
    with run_server(tmp_path, env={"FLUX_SIDECAR_METRICS_AUTH": "true"}) as server:
        assert httpx.get(f"{server.url}/metrics", timeout=30).status_code == 401
        with server.client() as client:
            response = client.get("/metrics")
    assert response.status_code == 200
    names = {f.name for f in text_string_to_metric_families(response.text)}
    assert {"flux_broker_up", "flux_jobs", "flux_sidecar_auth_failures"} <= names
