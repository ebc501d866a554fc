"""A bound on every one-shot backend call, so no request hangs on a stuck broker.

Submissions are not bounded here: abandoning one that the broker may still
accept would turn a client's retry into a second job. They finish or fail in
the backend; clients that retry use ``Idempotency-Key``. Streams are not
bounded either: they end with their job, their client, or the sidecar.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Collection
from typing import Literal, TypeVar

from sidecar.backends.base import JobBackend, Stream
from sidecar.errors import BackendTimeout
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

T = TypeVar("T")


class TimeoutBackend:
    """Wraps a backend; a call slower than ``seconds`` raises ``BackendTimeout`` (504)."""

    def __init__(self, inner: JobBackend, seconds: float) -> None:
        self.inner = inner
        self.seconds = seconds

    @property
    def kind(self) -> Literal["flux", "local"]:
        return self.inner.kind

    async def _bounded(self, what: str, call: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(call, self.seconds)
        except asyncio.TimeoutError:
            raise BackendTimeout(
                f"{what}: the {self.kind} backend did not answer within {self.seconds:g}s"
            ) from None

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def ready(self) -> bool:
        return await self._bounded("readiness", self.inner.ready())

    async def info(self) -> BackendInfo:
        return await self._bounded("info", self.inner.info())

    async def submit(self, request: JobRequest) -> Job:
        return await self.inner.submit(request)

    async def list_jobs(self, query: JobQuery) -> JobPage:
        return await self._bounded("list", self.inner.list_jobs(query))

    async def get_job(self, jobid: int) -> Job:
        return await self._bounded("job", self.inner.get_job(jobid))

    async def cancel(self, jobid: int, reason: str | None = None) -> None:
        await self._bounded("cancel", self.inner.cancel(jobid, reason))

    async def signal(self, jobid: int, signum: int) -> None:
        await self._bounded("signal", self.inner.signal(jobid, signum))

    def output(
        self, jobid: int, *, follow: bool, streams: Collection[Stream]
    ) -> AsyncIterator[OutputLine]:
        return self.inner.output(jobid, follow=follow, streams=streams)

    def job_events(self, jobid: int) -> AsyncIterator[JobEvent]:
        return self.inner.job_events(jobid)

    def events(self, after: str | None = None) -> AsyncIterator[StateChange]:
        return self.inner.events(after)

    async def resources(self) -> Resources:
        return await self._bounded("resources", self.inner.resources())

    async def stats(self) -> JobStats:
        return await self._bounded("stats", self.inner.stats())

    async def stop_broker(self) -> None:
        await self.inner.stop_broker()
