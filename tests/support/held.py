"""A backend whose jobs are all held, and whose streams end once they go quiet: for fuzzing.

Held (urgency 0) jobs are accepted, listed, cancelled and watched like any
other, but never start, so fuzzed commands never run, on the local backend as
on Flux. Their output and eventlog would then never end, and neither does the
all-jobs event stream by design: here each stream ends after a quiet spell,
which lets a fuzzer read every streaming operation to its end and check it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator, Collection
from typing import Literal, TypeVar

from sidecar.backends.base import JobBackend, Stream
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
QUIET_SECONDS = 0.3


async def until_quiet(items: AsyncIterator[T]) -> AsyncIterator[T]:
    """``items`` until ``QUIET_SECONDS`` pass without one."""
    iterator = aiter(items)
    try:
        while True:
            try:
                item = await asyncio.wait_for(anext(iterator), QUIET_SECONDS)
            except (StopAsyncIteration, asyncio.TimeoutError):
                return
            yield item
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


def held(request: JobRequest) -> JobRequest:
    if request.jobspec is None:
        return request.model_copy(update={"urgency": 0})
    spec = copy.deepcopy(request.jobspec)
    spec["attributes"]["system"]["urgency"] = 0
    return request.model_copy(update={"jobspec": spec})


class HeldBackend:
    """``inner`` with every submission held and every stream bounded."""

    def __init__(self, inner: JobBackend, *, stop_broker: bool = True) -> None:
        self.inner = inner
        self._stop_broker = stop_broker

    @property
    def kind(self) -> Literal["flux", "local"]:
        return self.inner.kind

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def ready(self) -> bool:
        return await self.inner.ready()

    async def info(self) -> BackendInfo:
        return await self.inner.info()

    async def submit(self, request: JobRequest) -> Job:
        return await self.inner.submit(held(request))

    async def list_jobs(self, query: JobQuery) -> JobPage:
        return await self.inner.list_jobs(query)

    async def get_job(self, jobid: int) -> Job:
        return await self.inner.get_job(jobid)

    async def cancel(self, jobid: int, reason: str | None = None) -> None:
        await self.inner.cancel(jobid, reason)

    async def signal(self, jobid: int, signum: int) -> None:
        await self.inner.signal(jobid, signum)

    def output(
        self, jobid: int, *, follow: bool, streams: Collection[Stream]
    ) -> AsyncIterator[OutputLine]:
        return until_quiet(self.inner.output(jobid, follow=follow, streams=streams))

    def job_events(self, jobid: int) -> AsyncIterator[JobEvent]:
        return until_quiet(self.inner.job_events(jobid))

    def events(self, after: str | None = None) -> AsyncIterator[StateChange]:
        return until_quiet(self.inner.events(after))

    async def resources(self) -> Resources:
        return await self.inner.resources()

    async def stats(self) -> JobStats:
        return await self.inner.stats()

    async def stop_broker(self) -> None:
        # A Flux test instance serves the whole session: fuzzing never stops it.
        if self._stop_broker:
            await self.inner.stop_broker()
