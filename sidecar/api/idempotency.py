"""``Idempotency-Key`` for submissions: a retried request returns the job of the first.

The submission runs in its own task, so a client that disconnects mid-submit
does not lose the job: its retry with the same key finds it.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sidecar.errors import InvalidRequest
from sidecar.models import Job

IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,255}$"
_KEY = re.compile(IDEMPOTENCY_KEY)


@dataclass
class _Entry:
    fingerprint: str
    task: asyncio.Task[Job]
    created: float


class IdempotencyStore:
    """Remembers the job of each key for ``ttl`` seconds, at most ``max_entries`` keys."""

    def __init__(self, max_entries: int = 10_000, ttl: float = 24 * 3600) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._max_entries = max_entries
        self._ttl = ttl

    @staticmethod
    def fingerprint(body: str) -> str:
        return hashlib.sha256(body.encode()).hexdigest()

    async def submit_once(
        self, key: str, fingerprint: str, submit: Callable[[], Awaitable[Job]]
    ) -> tuple[Job, bool]:
        """The job for ``key`` and whether it was a replay of an earlier submission."""
        if _KEY.fullmatch(key) is None:
            raise InvalidRequest("Idempotency-Key must be 1-255 printable ASCII characters")
        self._expire()
        entry = self._entries.get(key)
        if entry is not None:
            if entry.fingerprint != fingerprint:
                raise InvalidRequest("Idempotency-Key was already used for a different request")
            return await asyncio.shield(entry.task), True
        task = asyncio.ensure_future(submit())
        self._entries[key] = _Entry(fingerprint, task, time.monotonic())
        task.add_done_callback(lambda t: self._forget_failure(key, t))
        return await asyncio.shield(task), False

    def _forget_failure(self, key: str, task: asyncio.Task[Job]) -> None:
        # A failed submission created no job: a retry must be free to try again.
        if task.cancelled() or task.exception() is not None:
            entry = self._entries.get(key)
            if entry is not None and entry.task is task:
                del self._entries[key]

    def _expire(self) -> None:
        now = time.monotonic()
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            too_many = len(self._entries) >= self._max_entries
            if not too_many and now - entry.created < self._ttl:
                break
            if not entry.task.done():
                break
            del self._entries[key]
