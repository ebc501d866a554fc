"""Fan-out of one event stream to many subscribers, with a replay window.

Each subscriber has a bounded queue: a reader that cannot keep up is
disconnected (its iterator ends) instead of making the server buffer without
bound; it resumes from the last sequence number it saw, which the replay
window usually still holds. ``publish`` must be called on the event loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Generic, TypeVar, cast

T = TypeVar("T")

_END = object()


class EventHub(Generic[T]):
    """Numbered events (1, 2, ...) to every subscriber, history replayed on request."""

    def __init__(self, history: int = 10_000, queue_size: int = 1_000) -> None:
        self._history: deque[tuple[int, T]] = deque(maxlen=history)
        self._queue_size = queue_size
        self._subscribers: set[asyncio.Queue[object]] = set()
        self._seq = 0
        self._closed = False

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, item: T) -> int:
        self._seq += 1
        entry = (self._seq, item)
        self._history.append(entry)
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(entry)
            except asyncio.QueueFull:
                self._drop(queue)
        return self._seq

    def _drop(self, queue: asyncio.Queue[object]) -> None:
        self._subscribers.discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(_END)

    def close(self) -> None:
        """End every subscription; later subscriptions end at once."""
        self._closed = True
        for queue in list(self._subscribers):
            self._drop(queue)

    async def subscribe(self, after: int | None = None) -> AsyncIterator[tuple[int, T]]:
        """Events after ``after`` still in the window (none if None), then live ones."""
        if self._closed:
            return
        backlog = [e for e in self._history if after is not None and e[0] > after]
        queue: asyncio.Queue[object] = asyncio.Queue(self._queue_size + len(backlog))
        for old in backlog:
            queue.put_nowait(old)
        self._subscribers.add(queue)
        try:
            while True:
                entry = await queue.get()
                if entry is _END:
                    return
                yield cast(tuple[int, T], entry)
        finally:
            self._subscribers.discard(queue)
