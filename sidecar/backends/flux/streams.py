"""Flux watches as async streams: a job's eventlog, and its output.

A watch lives on the reactor thread (``worker``) and feeds a ``Channel``
that one async reader drains on the event loop. The reader's going away
(a client disconnect) posts ``stop``, which cancels the Flux watch at once, so
nothing keeps watching for a client that left.

Output follows Flux's own order (``flux.job.output``): the main eventlog up to
``start``, the exec eventlog up to ``shell.init``, then ``guest.output``,
because watching ``guest.output`` before the shell creates it races. The
chain is spelled out here rather than taken from ``output_watch_lines``
because that helper keeps its inner watches to itself: they could not be
cancelled when a client leaves, and would run until the job ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import AsyncGenerator, Callable, Collection, Sequence
from typing import Any, Generic, TypeVar

from sidecar.backends.base import Stream
from sidecar.backends.flux.bridge import Deliveries
from sidecar.backends.flux.session import Session
from sidecar.errors import BrokerUnavailable
from sidecar.models import JobEvent, OutputLine

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A reader this far behind is cut off; it can ask again (output restarts at
# the beginning, the eventlog too), rather than the sidecar buffering forever.
MAX_BACKLOG = 50_000


class _End:
    pass


_END = _End()


class Channel(Generic[T]):
    """Items from the reactor thread to one async reader, in order."""

    def __init__(self, deliveries: Deliveries, what: str) -> None:
        self._deliveries = deliveries
        self._what = what
        self._queue: asyncio.Queue[T | _End] = asyncio.Queue()
        self._ended = False

    def put_many(self, items: list[T]) -> None:
        """From the reactor thread."""
        if items:
            self._deliveries.send(lambda: self._deliver(items))

    def end(self) -> None:
        """From the reactor thread: no more items."""
        self._deliveries.send(lambda: self._deliver([_END]))

    def _deliver(self, items: Sequence[T | _End]) -> None:
        if self._ended:
            return
        for item in items:
            if isinstance(item, _End) or self._queue.qsize() >= MAX_BACKLOG:
                if not isinstance(item, _End):
                    logger.warning("%s: the reader fell behind; ending the stream", self._what)
                self._ended = True
                self._queue.put_nowait(_END)
                return
            self._queue.put_nowait(item)

    async def items(self) -> AsyncGenerator[T, None]:
        while True:
            item = await self._queue.get()
            if isinstance(item, _End):
                return
            yield item


class WatchStream(Generic[T]):
    """The reader's side: an async iterator whose end, close or loss stops the watch."""

    def __init__(self, channel: Channel[T], stop: Callable[[], None]) -> None:
        self._items = channel.items()
        self._stop: Callable[[], None] | None = stop

    def __aiter__(self) -> WatchStream[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self._items.__anext__()
        except StopAsyncIteration:
            self.close()
            raise

    async def aclose(self) -> None:
        self.close()
        await self._items.aclose()

    def close(self) -> None:
        if self._stop is not None:
            stop, self._stop = self._stop, None
            stop()

    def __del__(self) -> None:
        # A wrapper that is closed without closing what it wraps drops us here.
        self.close()


class Watch(Generic[T]):
    """A Flux watch feeding a channel; every method runs on the reactor thread."""

    def __init__(self, channel: Channel[T], jobid: int) -> None:
        self.channel = channel
        self.jobid = jobid
        self._session: Session | None = None
        self._futures: list[Any] = []
        self._done = False

    def start(self, session: Session) -> None:
        self._session = session
        session.track(self)
        self.begin(session)

    def begin(self, session: Session) -> None:
        raise NotImplementedError

    def watch(self, session: Session, eventlog: str, callback: Any) -> Any:
        import flux.job

        future = flux.job.event_watch_async(session.handle, self.jobid, eventlog=eventlog)
        self._futures.append(future)
        future.then(callback)
        return future

    def next_event(self, future: Any) -> Any:
        """The next eventlog entry, or None when the watch ended or failed (logged)."""
        try:
            return future.get_event()
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                logger.warning("watch of job %d ended: %s", self.jobid, exc.strerror or exc)
            return None

    def cancel(self, future: Any) -> None:
        if future.needs_cancel:
            with contextlib.suppress(OSError):
                future.cancel(stop=True)

    def stop(self) -> None:
        """End the stream; cancels what is still watched."""
        if self._done:
            return
        self._done = True
        for future in self._futures:
            self.cancel(future)
        self._futures.clear()
        if self._session is not None:
            self._session.forget(self)
        self.channel.end()

    def broken(self, error: BrokerUnavailable) -> None:
        logger.info("watch of job %d ended: %s", self.jobid, error.detail)
        self._done = True
        for future in self._futures:
            future.needs_cancel = False  # the handle is dead: no cancel RPC, ever
        self.channel.end()


class EventlogWatch(Watch[JobEvent]):
    """The job's main eventlog: history, then live entries, until ``clean``."""

    def begin(self, session: Session) -> None:
        self.watch(session, "eventlog", self._entry)

    def _entry(self, future: Any) -> None:
        event = self.next_event(future)
        if event is None:
            self.stop()
            return
        self.channel.put_many(
            [JobEvent(name=event.name, timestamp=event.timestamp, context=dict(event.context))]
        )
        if event.name == "clean":
            self.stop()


class OutputWatch(Watch[OutputLine]):
    """The job's output as it is written, until every stream is closed."""

    def __init__(self, channel: Channel[OutputLine], jobid: int, streams: Collection[str]) -> None:
        super().__init__(channel, jobid)
        self.streams = frozenset(streams)

    def begin(self, session: Session) -> None:
        self.watch(session, "eventlog", self._main)

    def _main(self, future: Any) -> None:
        event = self.next_event(future)
        if event is None:  # the job ended without starting: no output
            self.stop()
        elif event.name == "start" and self._session is not None:
            self.cancel(future)
            self.watch(self._session, "guest.exec.eventlog", self._exec)

    def _exec(self, future: Any) -> None:
        event = self.next_event(future)
        if event is None:
            self.stop()
        elif event.name == "shell.init" and self._session is not None:
            self.cancel(future)
            self.watch(self._session, "guest.output", self._output)

    def _output(self, future: Any) -> None:
        event = self.next_event(future)
        if event is None:
            self.stop()
            return
        self.channel.put_many(output_lines(event, self.streams))


def output_lines(entry: Any, streams: Collection[str]) -> list[OutputLine]:
    """The lines of one output eventlog entry (RFC 24), as Flux renders them."""
    from flux.job.output import LogEvent, OutputEvent, RedirectEvent

    stream: Stream = "stderr"
    name = entry["name"]
    if name == "data":
        data = OutputEvent(entry)
        if data.data is None or data.stream not in ("stdout", "stderr"):
            return []
        stream, text, ranks = data.stream, data.data, data.rank
    elif name in ("log", "redirect"):
        event = LogEvent(entry) if name == "log" else RedirectEvent(entry)
        text, ranks = event.render() + "\n", event.rank
    else:
        return []
    if stream not in streams:
        return []
    rank = 0 if ranks.all else ranks.ids.first()
    return [OutputLine(stream=stream, rank=rank, data=line) for line in split_lines(text)]


def split_lines(text: str) -> list[str]:
    """Split after each newline only (not at other line boundaries), keeping the newlines."""
    lines = text.split("\n")
    tail = lines.pop()
    return [line + "\n" for line in lines] + ([tail] if tail else [])


def output_so_far(text: str, streams: Collection[str]) -> list[OutputLine]:
    """The lines of a whole output eventlog, as read by a lookup."""
    from flux.eventlog import EventLogEvent

    lines: list[OutputLine] = []
    for entry in text.splitlines():
        if entry.strip():
            lines.extend(output_lines(EventLogEvent(entry), streams))
    return lines
