"""From the reactor thread back to the event loop: answers and items, in batches.

Each ``call_soon_threadsafe`` writes to the loop's wake-up pipe, and a wake-up
hands the GIL from one thread to the other; under load that hand-off, not the
work, sets the pace. So the reactor thread queues callbacks and schedules one
run of the queue at a time: whatever it settles before the loop gets to it
rides along.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from sidecar.errors import BrokerUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Deliveries:
    """Callbacks from any thread, run on the event loop in order, one wake-up per batch."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: deque[Callable[[], None]] = deque()
        self._scheduled = False

    def send(self, callback: Callable[[], None]) -> None:
        # Append before reading the flag; the loop clears it before reading the
        # queue: a callback is either seen by a scheduled run or schedules one.
        self._queue.append(callback)
        if self._scheduled:
            return
        self._scheduled = True
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            self._loop.call_soon_threadsafe(self._run)

    def _run(self) -> None:
        self._scheduled = False
        while self._queue:
            callback = self._queue.popleft()
            try:
                callback()
            except Exception:
                logger.exception("delivering a Flux answer failed")


class More:
    """Returned by a reader of a streaming reply: the answer needs further responses."""


MORE = More()


class Call(Generic[T]):
    """One answer from the reactor thread, awaited on the event loop.

    Created on the loop; ``resolve`` and ``fail`` are called on the reactor thread.
    """

    def __init__(self, deliveries: Deliveries) -> None:
        self.future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.settled = False
        self._deliveries = deliveries

    @property
    def abandoned(self) -> bool:
        """The caller stopped waiting (it timed out, or its client left)."""
        return self.future.cancelled()

    def resolve(self, value: T) -> None:
        if not self.settled:
            self.settled = True
            self._deliveries.send(functools.partial(_set_result, self.future, value))

    def fail(self, error: BaseException) -> None:
        if not self.settled:
            self.settled = True
            self._deliveries.send(functools.partial(_set_exception, self.future, error))

    def broken(self, error: BrokerUnavailable) -> None:
        self.fail(error)


# A future whose caller timed out or went away is done already: answers are dropped.
def _set_result(future: asyncio.Future[T], value: T) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[T], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
