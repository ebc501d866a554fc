"""The asyncio client: ``SidecarClient``'s methods as coroutines and async iterators."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from contextlib import aclosing
from types import TracebackType
from typing import Any, TypeVar

import httpx

from sidecar.client.calls import (
    API,
    EVENTS_READ_TIMEOUT,
    WAIT_POLL_MAX,
    Call,
    Filter,
    JobId,
    as_state,
    backoff,
    job_path,
    reached,
)
from sidecar.client.errors import WaitTimeout, raise_for_error
from sidecar.client.sse import SSEDecoder, SSEMessage
from sidecar.client.transfers_async import AsyncFileTransfers
from sidecar.models import (
    Accepted,
    Info,
    Job,
    JobEvent,
    JobRequest,
    JobState,
    OutputLine,
    Resources,
    ShutdownStatus,
    StateChange,
)

T = TypeVar("T")
Progress = Callable[[Job, float], None]
_STREAMS = ("stdout", "stderr")
_JSONL = {"Accept": "application/x-ndjson"}
_SSE = {"Accept": "text/event-stream"}


class AsyncSidecarClient(AsyncFileTransfers):
    """The same API for asyncio; use ``async with``, or await ``aclose``."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        retries: int = 3,
    ) -> None:
        super().__init__(url, token, injected=http is not None, timeout=timeout, retries=retries)
        self._owned = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout)

    async def __aenter__(self) -> AsyncSidecarClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owned:
            await self._http.aclose()

    async def _send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    call.method,
                    self.url + call.path,
                    params=call.params,
                    json=call.body,
                    headers=self._headers(call.headers),
                )
                break
            except httpx.TransportError as exc:
                if not call.retry or attempt >= self._retries:
                    raise self._unreachable(exc, call) from exc
                await asyncio.sleep(backoff(attempt))
                attempt += 1
        raise_for_error(response)
        return call.parse(response)

    async def _lines(
        self, path: str, params: dict[str, str], headers: dict[str, str], read: float | None
    ) -> AsyncGenerator[str, None]:
        async with self._http.stream(
            "GET",
            self.url + path,
            params=params,
            headers=self._headers(headers),
            timeout=self._stream_timeout(read),
        ) as response:
            if response.status_code >= 400:
                await response.aread()
                raise_for_error(response)
            async for line in response.aiter_lines():
                yield line

    async def _sse(
        self, path: str, headers: dict[str, str], read: float | None
    ) -> AsyncGenerator[SSEMessage, None]:
        decoder = SSEDecoder()
        async with aclosing(self._lines(path, {}, {**_SSE, **headers}, read)) as lines:
            async for line in lines:
                message = decoder.feed(line)
                if message is not None:
                    yield message

    async def submit(
        self,
        request: JobRequest | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Job:
        return await self._send(self._submit_call(request, idempotency_key, fields))

    async def jobs(
        self,
        *,
        state: Filter = None,
        result: Filter = None,
        name: str | None = None,
        user: str | None = None,
        limit: int | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[Job]:
        size = min(page_size, limit) if limit else page_size
        cursor: str | None = None
        count = 0
        while True:
            page = await self._send(self._page_call(state, result, name, user, size, cursor))
            for job in page.jobs:
                if limit is not None and count >= limit:
                    return
                count += 1
                yield job
            if page.next is None or (limit is not None and count >= limit):
                return
            cursor = page.next

    async def job(self, job_id: JobId) -> Job:
        return await self._send(self._job_call(job_id))

    async def wait(
        self,
        job_id: JobId,
        state: JobState | str = JobState.INACTIVE,
        *,
        timeout: float | None = None,
        on_progress: Progress | None = None,
    ) -> Job:
        target, start, delay = as_state(state), time.monotonic(), 0.05
        while True:
            job = await self.job(job_id)
            elapsed = time.monotonic() - start
            if on_progress is not None:
                on_progress(job, elapsed)
            if reached(job, target):
                return job
            if timeout is not None and elapsed >= timeout:
                raise WaitTimeout(job, timeout)
            remaining = float("inf") if timeout is None else timeout - elapsed
            await asyncio.sleep(min(delay, WAIT_POLL_MAX, remaining))
            delay *= 1.5

    async def output(self, job_id: JobId, *, streams: Iterable[str] = _STREAMS) -> str:
        return await self._send(self._output_call(job_id, streams))

    async def output_lines(
        self, job_id: JobId, *, follow: bool = False, streams: Iterable[str] = _STREAMS
    ) -> AsyncIterator[OutputLine]:
        params = {"follow": str(follow).lower(), "stream": ",".join(streams)}
        try:
            lines = self._lines(job_path(job_id, "/output"), params, _JSONL, None)
            async with aclosing(lines):
                async for line in lines:
                    if line:
                        yield OutputLine.model_validate_json(line)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc

    async def events(self, after: str | None = None) -> AsyncIterator[StateChange]:
        last, failures = after, 0
        while True:
            headers = {"Last-Event-ID": last} if last else {}
            try:
                messages = self._sse(f"{API}/events", headers, EVENTS_READ_TIMEOUT)
                async with aclosing(messages):
                    async for message in messages:
                        change = StateChange.model_validate_json(message.data)
                        last, failures = message.id or change.event_id, 0
                        yield change
                return
            except httpx.TransportError as exc:
                if failures >= self._retries:
                    raise self._unreachable(exc) from exc
                await asyncio.sleep(backoff(failures))
                failures += 1

    async def job_events(self, job_id: JobId) -> AsyncIterator[JobEvent]:
        try:
            messages = self._sse(job_path(job_id, "/events"), {}, None)
            async with aclosing(messages):
                async for message in messages:
                    yield JobEvent.model_validate_json(message.data)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc

    async def cancel(self, job_id: JobId, reason: str | None = None) -> Accepted:
        return await self._send(self._cancel_call(job_id, reason))

    async def signal(self, job_id: JobId, signal: int | str) -> Accepted:
        return await self._send(self._signal_call(job_id, signal))

    async def resources(self) -> Resources:
        return await self._send(self._resources_call())

    async def info(self) -> Info:
        return await self._send(self._info_call())

    async def shutdown(
        self, mode: str = "cancel", timeout_seconds: float | None = None
    ) -> ShutdownStatus:
        return await self._send(self._shutdown_call(mode, timeout_seconds))

    async def shutdown_status(self) -> ShutdownStatus:
        return await self._send(self._shutdown_status_call())
