"""The blocking client: ``SidecarClient``, one method per call of the API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
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
from sidecar.client.errors import (
    WaitTimeout,
    raise_for_error,
)
from sidecar.client.sse import SSEDecoder, SSEMessage
from sidecar.client.transfers import FileTransfers
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


class SidecarClient(FileTransfers):
    """A blocking client; use it as a context manager, or call ``close``."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        retries: int = 3,
    ) -> None:
        super().__init__(url, token, injected=http is not None, timeout=timeout, retries=retries)
        self._owned = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)

    def __enter__(self) -> SidecarClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owned:
            self._http.close()

    def _send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                response = self._http.request(
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
                time.sleep(backoff(attempt))
                attempt += 1
        raise_for_error(response)
        return call.parse(response)

    def _lines(
        self, path: str, params: dict[str, str], headers: dict[str, str], read: float | None
    ) -> Iterator[str]:
        with self._http.stream(
            "GET",
            self.url + path,
            params=params,
            headers=self._headers(headers),
            timeout=self._stream_timeout(read),
        ) as response:
            if response.status_code >= 400:
                response.read()
                raise_for_error(response)
            yield from response.iter_lines()

    def _sse(self, path: str, headers: dict[str, str], read: float | None) -> Iterator[SSEMessage]:
        decoder = SSEDecoder()
        for line in self._lines(path, {}, {**_SSE, **headers}, read):
            message = decoder.feed(line)
            if message is not None:
                yield message

    def submit(
        self,
        request: JobRequest | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Job:
        """Submit ``request``, or a ``JobRequest`` of ``fields`` (command=..., tasks=...)."""
        return self._send(self._submit_call(request, idempotency_key, fields))

    def jobs(
        self,
        *,
        state: Filter = None,
        result: Filter = None,
        name: str | None = None,
        user: str | None = None,
        limit: int | None = None,
        page_size: int = 100,
    ) -> Iterator[Job]:
        """Jobs, newest first, fetching pages as the iteration reaches them."""
        size = min(page_size, limit) if limit else page_size
        cursor: str | None = None
        count = 0
        while True:
            page = self._send(self._page_call(state, result, name, user, size, cursor))
            for job in page.jobs:
                if limit is not None and count >= limit:
                    return
                count += 1
                yield job
            if page.next is None or (limit is not None and count >= limit):
                return
            cursor = page.next

    def job(self, job_id: JobId) -> Job:
        return self._send(self._job_call(job_id))

    def wait(
        self,
        job_id: JobId,
        state: JobState | str = JobState.INACTIVE,
        *,
        timeout: float | None = None,
        on_progress: Progress | None = None,
    ) -> Job:
        """Poll until the job is in ``state`` or past it; ``WaitTimeout`` after ``timeout`` s."""
        target, start, delay = as_state(state), time.monotonic(), 0.05
        while True:
            job = self.job(job_id)
            elapsed = time.monotonic() - start
            if on_progress is not None:
                on_progress(job, elapsed)
            if reached(job, target):
                return job
            if timeout is not None and elapsed >= timeout:
                raise WaitTimeout(job, timeout)
            remaining = float("inf") if timeout is None else timeout - elapsed
            time.sleep(min(delay, WAIT_POLL_MAX, remaining))
            delay *= 1.5

    def output(self, job_id: JobId, *, streams: Iterable[str] = _STREAMS) -> str:
        """The job's output so far, as text."""
        return self._send(self._output_call(job_id, streams))

    def output_lines(
        self, job_id: JobId, *, follow: bool = False, streams: Iterable[str] = _STREAMS
    ) -> Iterator[OutputLine]:
        """Output lines with their stream and rank; with ``follow``, until the job ends."""
        params = {"follow": str(follow).lower(), "stream": ",".join(streams)}
        try:
            for line in self._lines(job_path(job_id, "/output"), params, _JSONL, None):
                if line:
                    yield OutputLine.model_validate_json(line)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc

    def events(self, after: str | None = None) -> Iterator[StateChange]:
        """State changes of all jobs, live; reconnects after a drop, resuming with Last-Event-ID."""
        last, failures = after, 0
        while True:
            headers = {"Last-Event-ID": last} if last else {}
            try:
                for message in self._sse(f"{API}/events", headers, EVENTS_READ_TIMEOUT):
                    change = StateChange.model_validate_json(message.data)
                    last, failures = message.id or change.event_id, 0
                    yield change
                return
            except httpx.TransportError as exc:
                if failures >= self._retries:
                    raise self._unreachable(exc) from exc
                time.sleep(backoff(failures))
                failures += 1

    def job_events(self, job_id: JobId) -> Iterator[JobEvent]:
        """The job's eventlog: history, then live, ending after ``clean``."""
        try:
            for message in self._sse(job_path(job_id, "/events"), {}, None):
                yield JobEvent.model_validate_json(message.data)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc

    def cancel(self, job_id: JobId, reason: str | None = None) -> Accepted:
        return self._send(self._cancel_call(job_id, reason))

    def signal(self, job_id: JobId, signal: int | str) -> Accepted:
        return self._send(self._signal_call(job_id, signal))

    def resources(self) -> Resources:
        return self._send(self._resources_call())

    def info(self) -> Info:
        return self._send(self._info_call())

    def shutdown(
        self, mode: str = "cancel", timeout_seconds: float | None = None
    ) -> ShutdownStatus:
        """Stop the broker (``cancel``, ``drain`` or ``now``); answers at once with the status."""
        return self._send(self._shutdown_call(mode, timeout_seconds))

    def shutdown_status(self) -> ShutdownStatus:
        return self._send(self._shutdown_status_call())
