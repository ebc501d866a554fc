"""The sidecar's lifecycle in a MiniCluster pod: serve, then shut down exactly once.

A pod completes only when all its containers exit, and the operator deletes a
MiniCluster (``cleanup: true``) only when its lead pod completes. So the
sidecar exits 0 by itself after ``POST /api/v1/shutdown``, on SIGTERM, when
the operator's completion file appears, and when the broker is gone for good
(DESIGN sections 6 and 7). Every path ends the same way: streams close
(``stopping``), then uvicorn's own exit path (``Server.should_exit``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Literal

from sidecar.backends.base import JobBackend
from sidecar.errors import BrokerUnavailable, Conflict, SidecarError
from sidecar.idle import IdleWatch
from sidecar.models import ACTIVE_STATES, JobQuery, ShutdownStatus

logger = logging.getLogger(__name__)

Mode = Literal["cancel", "drain", "now"]
# An idle shutdown drains: nothing is active by then, a job that starts meanwhile runs out.
IDLE_DRAIN_SECONDS = 600.0
WATCH_INTERVAL_SECONDS = 1.0
CANCEL_WAIT_SECONDS = 30.0
STOP_BROKER_TIMEOUT_SECONDS = 60.0


class Lifecycle:
    """Shared state of the process, and the one shutdown sequence."""

    def __init__(
        self,
        backend: JobBackend,
        request_exit: Callable[[], None] | None = None,
        *,
        completion_file: Path | None = None,
        broker_wait_seconds: float = 600.0,
        broker_gone_seconds: float = 120.0,
        idle: IdleWatch | None = None,
    ) -> None:
        self.stopping = asyncio.Event()
        self.started = time.monotonic()
        self.phase = "serving"
        self.mode: Mode | None = None
        self.reason: str | None = None
        self._backend = backend
        self._request_exit = request_exit
        self._completion_file = completion_file
        self._broker_wait_seconds = broker_wait_seconds
        self._broker_gone_seconds = broker_gone_seconds
        self._shutdown_started: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._active_jobs: int | None = None
        self.idle = idle or IdleWatch(None)

    @property
    def shutting_down(self) -> bool:
        return self.phase != "serving"

    # the shutdown sequence

    def begin_shutdown(
        self, mode: Mode, timeout: float, *, stop_broker: bool, reason: str
    ) -> ShutdownStatus:
        """Start the sequence once; later calls report on it (a different mode is a conflict)."""
        if self._task is not None or self.shutting_down:
            if mode != self.mode and reason == "api":
                raise Conflict(f"a shutdown in mode {self.mode!r} is already in progress")
            return self.status()
        self.mode, self.reason = mode, reason
        self.phase = "starting"
        self._shutdown_started = time.time()
        logger.info(
            "shutdown requested (%s): mode %s, timeout %ss, stop broker: %s",
            reason,
            mode,
            timeout,
            stop_broker,
        )
        self._task = asyncio.ensure_future(self._shut_down(mode, timeout, stop_broker))
        return self.status()

    def on_signal(self) -> None:
        """SIGTERM: Kubernetes is deleting the pod and will not wait for a drain."""
        if self._task is None or self._task.done():
            self.begin_shutdown("now", 0, stop_broker=False, reason="signal")
            return
        logger.info("signal during the %s phase: exiting now", self.phase)
        self._task.cancel()
        self.exit_now()

    async def _shut_down(self, mode: Mode, timeout: float, stop_broker: bool) -> None:
        try:
            # A failed job step must not keep the broker up: the pod would never complete.
            await self._step(self._settle_jobs(mode, timeout))
            if stop_broker:
                self.phase = "stopping-broker"
                await self._step(self._stop_broker())
        finally:
            self.exit_now()

    async def _step(self, step: Coroutine[Any, Any, None]) -> None:
        try:
            await step
        except (SidecarError, asyncio.TimeoutError, OSError) as exc:
            logger.warning("shutdown step %s failed: %s", self.phase, exc)
        except Exception:
            logger.exception("shutdown step %s failed", self.phase)

    async def _settle_jobs(self, mode: Mode, timeout: float) -> None:
        if mode == "drain":
            self.phase = "draining"
            if not await self._wait_idle(timeout):
                logger.info("drain timeout: %s jobs still active", self._active_jobs)
        if mode in ("cancel", "drain"):
            self.phase = "cancelling"
            await self._cancel_active()
            await self._wait_idle(CANCEL_WAIT_SECONDS)

    async def _stop_broker(self) -> None:
        """``shutdown.start``, once the broker can take it.

        Flux refuses a shutdown before the broker's run state, which a lead
        broker reaches only when every broker of the MiniCluster has joined
        (its quorum). Until then, wait as long as the broker may take to come up.
        """
        deadline = time.monotonic() + self._broker_wait_seconds
        waiting = False
        while not await self._broker_ready():
            if time.monotonic() >= deadline:
                raise BrokerUnavailable(
                    "the broker never reached its run state: it is still running"
                )
            if not waiting:
                logger.info("waiting for the broker's run state (every broker joined) to stop it")
                waiting = True
            await asyncio.sleep(WATCH_INTERVAL_SECONDS)
        logger.info("asking the broker to shut down")
        await asyncio.wait_for(self._backend.stop_broker(), STOP_BROKER_TIMEOUT_SECONDS)

    async def _idle_is_over(self) -> bool:
        if not self.idle.enabled:
            return False
        try:
            if await self._active_count() > 0:
                self.idle.touch()
        except (SidecarError, OSError):
            return False  # cannot tell: never shut down on a guess
        return self.idle.due()

    async def _broker_ready(self) -> bool:
        try:
            return await asyncio.wait_for(self._backend.ready(), 10)
        except (SidecarError, asyncio.TimeoutError, OSError):
            return False

    def exit_now(self) -> None:
        """End every stream, then leave through uvicorn's exit path."""
        if self.stopping.is_set():
            return
        self.phase = "exiting"
        self.stopping.set()
        logger.info("closing streams and exiting")
        if self._request_exit is not None:
            self._request_exit()

    async def _active_count(self) -> int:
        stats = await self._backend.stats()
        self._active_jobs = sum(stats.states.get(state, 0) for state in ACTIVE_STATES)
        return self._active_jobs

    async def _wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while await self._active_count() > 0:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.2)
        return True

    async def _cancel_active(self) -> None:
        query = JobQuery(states=ACTIVE_STATES, limit=1000)
        while True:
            page = await self._backend.list_jobs(query)
            for job in page.jobs:
                with contextlib.suppress(SidecarError):
                    await self._backend.cancel(int(job.id_dec), "flux-sidecar shutdown")
            if page.next is None:
                return
            query = query.model_copy(update={"cursor": page.next})

    def status(self) -> ShutdownStatus:
        started = self._shutdown_started
        return ShutdownStatus(
            phase=self.phase,
            in_progress=self.shutting_down,
            mode=self.mode,
            reason=self.reason,
            started_at=started,
            elapsed=round(time.time() - started, 3) if started is not None else None,
            active_jobs=self._active_jobs,
        )

    async def refresh_status(self) -> ShutdownStatus:
        with contextlib.suppress(SidecarError, OSError):
            await self._active_count()
        return self.status()

    # watching the pod

    def start_watching(self) -> None:
        self._watch = asyncio.ensure_future(self._watch_pod())

    async def stop_watching(self) -> None:
        for task in (self._watch, self._task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _watch_pod(self) -> None:
        """Exit 0 when the operator says the work is done or the broker is gone for good."""
        was_ready = False
        down_since = time.monotonic()
        while not self.shutting_down:
            if self._completion_file is not None and self._completion_file.exists():
                logger.info("%s appeared: the operator is done", self._completion_file)
                self.begin_shutdown("now", 0, stop_broker=False, reason="completion-file")
                return
            ready = await self._broker_ready()
            if not ready:
                self.idle.touch()  # idle time counts from when the broker is ready
            elif await self._idle_is_over():
                logger.info(
                    "idle for %.0fs (no job active, no API call): shutting down",
                    self.idle.idle_seconds(),
                )
                self.begin_shutdown("drain", IDLE_DRAIN_SECONDS, stop_broker=True, reason="idle")
                return
            now = time.monotonic()
            if ready:
                was_ready, down_since = True, now
            elif now - down_since >= (
                self._broker_gone_seconds if was_ready else self._broker_wait_seconds
            ):
                what = "went away" if was_ready else "never answered"
                logger.error(
                    "the broker %s for %.0fs: exiting so the pod can complete",
                    what,
                    now - down_since,
                )
                self.begin_shutdown("now", 0, stop_broker=False, reason="broker-gone")
                return
            await asyncio.sleep(WATCH_INTERVAL_SECONDS)
