"""The client over real HTTP: streams, the async client, retries and resumption.

Connection failures are injected at the outer boundary only: an ``httpx``
transport in front of the real one, talking to a real server process.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from sidecar.client import AsyncSidecarClient, NotFound, ServerUnreachable, SidecarClient
from sidecar.models import JobResult, JobState, StateChange
from tests.support.serverproc import ServerProcess, run_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with run_server(tmp_path_factory.mktemp("client")) as process:
        yield process


class _CutAfterData(httpx.SyncByteStream):
    """Passes the body through until a chunk carrying SSE data, then drops the connection."""

    def __init__(self, inner: httpx.SyncByteStream, passed: list[int]) -> None:
        self._inner = inner
        self._passed = passed

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            yield chunk
            if b"data:" in chunk:
                self._passed.append(chunk.count(b"data:"))
                raise httpx.RemoteProtocolError("peer closed connection mid-stream")

    def close(self) -> None:
        self._inner.close()


class Flaky(httpx.BaseTransport):
    """A network that refuses, loses responses, or cuts event streams, as told."""

    def __init__(self, refuse: int = 0, lose: int = 0, cut_streams: int = 0) -> None:
        self.refuse, self.lose, self.cut_streams = refuse, lose, cut_streams
        self.requests: list[httpx.Request] = []
        self.passed: list[int] = []
        self.streaming = threading.Event()
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.refuse:
            self.refuse -= 1
            raise httpx.ConnectError("connection refused", request=request)
        response = self._inner.handle_request(request)
        if self.lose:
            self.lose -= 1
            response.read()
            response.close()
            raise httpx.ReadError("connection reset by peer", request=request)
        if request.url.path.endswith("/events"):
            self.streaming.set()
            if self.cut_streams:
                self.cut_streams -= 1
                assert isinstance(response.stream, httpx.SyncByteStream)
                cut = _CutAfterData(response.stream, self.passed)
                return httpx.Response(response.status_code, headers=response.headers, stream=cut)
        return response

    def close(self) -> None:
        self._inner.close()


@contextmanager
def flaky_client(
    server: ServerProcess, transport: Flaky, retries: int = 3
) -> Iterator[SidecarClient]:
    with httpx.Client(transport=transport, timeout=30) as http:
        yield SidecarClient(server.url, server.token, http=http, retries=retries)


def test_reads_are_retried_after_connection_errors(server: ServerProcess) -> None:
    transport = Flaky(refuse=2)
    with flaky_client(server, transport) as client:
        info = client.info()
    assert info.backend.kind == "local"
    assert len(transport.requests) == 3


def test_keyed_submission_is_retried_and_creates_one_job(server: ServerProcess) -> None:
    transport = Flaky(lose=1)
    with flaky_client(server, transport) as client:
        job = client.submit(command=["true"], name="keyed-retry", idempotency_key="retry-once-1")
        assert len(transport.requests) == 2
        assert [j.id for j in client.jobs(name="keyed-retry")] == [job.id]
        replay = transport.requests[1]
        assert replay.headers["Idempotency-Key"] == "retry-once-1"


@pytest.mark.parametrize("call", ["submit", "cancel", "signal"], ids=str)
def test_other_writes_are_never_retried(server: ServerProcess, call: str) -> None:
    transport = Flaky(refuse=5)
    with flaky_client(server, transport) as client:
        calls: dict[str, Callable[[], object]] = {
            "submit": lambda: client.submit(command=["true"]),
            "cancel": lambda: client.cancel("ƒ2"),
            "signal": lambda: client.signal("ƒ2", "USR1"),
        }
        with pytest.raises(ServerUnreachable) as caught:
            calls[call]()
    assert len(transport.requests) == 1
    assert "may or may not have been applied" in str(caught.value)


def test_retries_give_up_with_server_unreachable(server: ServerProcess) -> None:
    transport = Flaky(refuse=10)
    failing = flaky_client(server, transport, retries=2)
    with failing as client, pytest.raises(ServerUnreachable, match="cannot reach"):
        client.job("ƒ2")
    assert len(transport.requests) == 3


def test_events_resume_after_a_dropped_connection(server: ServerProcess) -> None:
    transport = Flaky(cut_streams=1)
    changes: list[StateChange] = []

    def watch() -> None:
        with flaky_client(server, transport) as watcher:
            for change in watcher.events():
                changes.append(change)
                if change.state is JobState.INACTIVE:
                    return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    assert transport.streaming.wait(30)
    with SidecarClient(server.url, server.token) as client:
        job = client.submit(command=["sleep", "1"])
    thread.join(60)
    assert not thread.is_alive()
    event_requests = [r for r in transport.requests if r.url.path.endswith("/events")]
    assert len(event_requests) == 2
    before_drop = transport.passed[0]
    assert event_requests[1].headers["Last-Event-ID"] == changes[before_drop - 1].event_id
    ids = [c.event_id for c in changes]
    assert len(ids) == len(set(ids))
    order = list(JobState)
    states = [order.index(c.state) for c in changes if c.id == job.id]
    assert states == list(range(states[0], len(order)))
    assert len(states) >= 2


def test_follow_output_streams_lines_until_the_job_ends(server: ServerProcess) -> None:
    script = "for i in 1 2 3; do echo line $i; sleep 0.1; done; echo oops >&2"
    with SidecarClient(server.url, server.token) as client:
        job = client.submit(command=["sh", "-c", script])
        lines = list(client.output_lines(job.id, follow=True))
        assert [(line.stream, line.data) for line in lines] == [
            ("stdout", "line 1\n"),
            ("stdout", "line 2\n"),
            ("stdout", "line 3\n"),
            ("stderr", "oops\n"),
        ]
        assert client.job(job.id).state is JobState.INACTIVE
        events = [event.name for event in client.job_events(job.id)]
        assert events[0] == "submit"
        assert events[-1] == "clean"


def test_async_client_does_the_same(server: ServerProcess) -> None:
    async def scenario() -> None:
        async with AsyncSidecarClient(server.url, server.token) as client:
            jobs = await asyncio.gather(
                *(client.submit(command=["echo", str(n)], name="async") for n in range(3))
            )
            done = await asyncio.gather(*(client.wait(j.id, timeout=60) for j in jobs))
            assert {j.result for j in done} == {JobResult.COMPLETED}
            assert await client.output(jobs[1].id) == "1\n"
            listed = [j.id async for j in client.jobs(name="async", page_size=2)]
            assert sorted(listed) == sorted(j.id for j in jobs)
            lines = [line.data async for line in client.output_lines(jobs[2].id, follow=True)]
            assert lines == ["2\n"]
            events = [e.name async for e in client.job_events(jobs[0].id)]
            assert events[-1] == "clean"
            assert (await client.resources()).nodes.up == 1
            assert (await client.info()).version
            assert (await client.job(jobs[0].id_dec)).id == jobs[0].id

            watched: list[StateChange] = []

            async def watch() -> None:
                async for change in client.events():
                    watched.append(change)
                    if change.state is JobState.INACTIVE:
                        return

            watcher = asyncio.ensure_future(watch())
            deadline = time.monotonic() + 30
            while not watched and time.monotonic() < deadline:
                probe = await client.submit(command=["sleep", "0.5"])
                await client.wait(probe.id, timeout=60)
            await asyncio.wait_for(watcher, 60)
            assert watched[-1].state is JobState.INACTIVE

    asyncio.run(scenario())


def test_server_errors_on_streams_are_raised(server: ServerProcess) -> None:
    with SidecarClient(server.url, server.token) as client, pytest.raises(NotFound):
        list(client.output_lines("ƒ2", follow=True))
