"""Flux objects are released on the reactor thread only, however busy the event loop is.

A Flux handle is not thread-safe. Futures with callbacks are freed by Python's
cyclic collector, which used to run on the event loop's thread when that
thread allocated most: ``flux_future_destroy`` then ran there while the
reactor thread used the handle, and under load a submission was refused with
``File exists`` (a matchtag handed out twice) or a request never answered.
The bindings' destructor is observed here, at the outer boundary.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import pytest

from sidecar.backends.flux.backend import FluxBackend
from sidecar.models import JobRequest
from tests.support.app import make_settings
from tests.support.flux import flux as flux_command

pytestmark = pytest.mark.flux

BATCHES = 20
PER_BATCH = 40


class _Garbage:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_flux_objects_are_released_on_the_reactor_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    import flux.wrapper

    released: Counter[str] = Counter()
    serving = threading.Event()  # while the reactor thread runs (after close, any thread may)
    destroy = flux.wrapper.Wrapper.__del__

    def observed(self: Any) -> None:
        alive = getattr(self, "destructor", None) is not None and self.handle is not None
        if alive and serving.is_set():
            released[threading.current_thread().name] += 1
        destroy(self)

    monkeypatch.setattr(flux.wrapper.Wrapper, "__del__", observed)
    submitted: list[str] = []

    async def run() -> None:
        backend = FluxBackend(make_settings(backend="flux"))
        await backend.start()
        serving.set()
        try:
            held = JobRequest(command=["true"], urgency=0)
            for _ in range(BATCHES):
                jobs = await asyncio.gather(*(backend.submit(held) for _ in range(PER_BATCH)))
                submitted.extend(job.id_dec for job in jobs)
                # What a busy event loop does: allocate, cycles included.
                _ = [_Garbage() for _ in range(5000)]
        finally:
            serving.clear()
            await backend.close()

    try:
        asyncio.run(run())
    finally:
        if submitted:
            flux_command("cancel", "--quiet", *submitted)
    assert set(released) == {"flux-reactor"}, released
    assert released["flux-reactor"] >= BATCHES * PER_BATCH
