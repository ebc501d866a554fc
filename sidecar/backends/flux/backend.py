"""The flux backend: the ``JobBackend`` contract over the Flux Python bindings.

One reactor thread owns the Flux handle (``worker``); every method here
queues an operation on it and awaits the answer, so the event loop never waits
on Flux and many requests are in flight on the handle at once (submissions
are ``submit_async`` futures, not a lock around ``submit``; what is asked of
Flux is in ``requests``). Jobs come from job-list (``job_list`` with
filters and a submit-time window pushed down, see ``paging``;
``job_list_id`` for one job; ``job-list.job-stats`` read by ``JobStats`` for
counts), output and per-job events from eventlog watches (``streams``),
all-job events from the job manager's journal (``events``), resources
from ``resource_list``, readiness from ``state-machine.wait``, and the broker
stops with ``shutdown.start``.

The broker is ``FLUX_URI`` if set, else the Flux Operator's socket (DESIGN
section 6). Until it answers, and whenever it is gone, requests get 503 with
the reason and ``ready()`` is False; the worker reconnects by itself.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from typing import Any, Literal, TypeVar

from sidecar.backends.base import Stream
from sidecar.backends.flux.bridge import Call, Deliveries
from sidecar.backends.flux.events import Change, JournalWatch, parse_event_id
from sidecar.backends.flux.gpus import GpuCounts
from sidecar.backends.flux.jobs import filter_terms, job_from_record, user_id
from sidecar.backends.flux.paging import Hint, decode_cursor, encode_cursor, hint_key, newest_first
from sidecar.backends.flux.requests import (
    cancel_job,
    gpus_of,
    jobspec_for,
    list_one,
    list_page,
    output_lookup,
    resource_sets,
    rpc,
    shut_down_broker,
    signal_job,
    submit_and_list,
)
from sidecar.backends.flux.session import Session, locate_broker
from sidecar.backends.flux.streams import Channel, EventlogWatch, OutputWatch, WatchStream
from sidecar.backends.flux.worker import FluxWorker
from sidecar.config import Settings
from sidecar.errors import BrokerUnavailable, SidecarError
from sidecar.hub import EventHub
from sidecar.jobid import encode_f58
from sidecar.models import (
    BackendInfo,
    Job,
    JobEvent,
    JobPage,
    JobQuery,
    JobRequest,
    JobResult,
    JobState,
    JobStats,
    OutputLine,
    ResourceCount,
    Resources,
    StateChange,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

HISTORY = 10_000
_STATE_KEYS = {s: s.value.lower() for s in JobState}


class FluxBackend:
    """Jobs, output and events of a Flux instance, through one reactor thread."""

    def __init__(self, settings: Settings, environ: Mapping[str, str] | None = None) -> None:
        self._settings = settings
        self._environ = dict(os.environ if environ is None else environ)
        self._worker: FluxWorker | None = None
        self._deliveries: Deliveries | None = None
        self._boot = secrets.token_hex(4)
        # Changes are kept as tuples; a model is made only for a subscriber.
        self._hub: EventHub[Change] = EventHub(history=HISTORY)
        self._journal: JournalWatch | None = None
        self._gpus = GpuCounts()
        self._hints: dict[str, Hint] = {}
        self._bindings_version: str | None = None

    @property
    def kind(self) -> Literal["flux", "local"]:
        return "flux"

    # lifecycle

    async def start(self) -> None:
        try:
            import flux.job
            from flux.core.inner import raw
        except ImportError as exc:
            raise RuntimeError(
                f"the flux backend needs the Flux Python bindings ({exc}): put Flux's python "
                "directory on PYTHONPATH (see `flux env`) and install cffi, ply and pyyaml"
            ) from exc
        del flux
        version = raw.flux_core_version_string()
        self._bindings_version = version.decode() if isinstance(version, bytes) else str(version)
        self._deliveries = Deliveries(asyncio.get_running_loop())
        self._worker = FluxWorker(
            functools.partial(locate_broker, self._environ, self._settings.flux_mount_path),
            self._on_ready,
            self._on_stop,
        )
        self._worker.start()
        await asyncio.to_thread(self._worker.wait_first_attempt)

    async def close(self) -> None:
        if self._worker is not None:
            await asyncio.to_thread(self._worker.stop)
        self._hub.close()

    async def ready(self) -> bool:
        if self._worker is None or not self._worker.ready:
            return False
        try:
            await self._call(rpc("state-machine.wait"))
        except SidecarError:
            return False
        return True

    async def info(self) -> BackendInfo:
        worker = self._worker
        return BackendInfo(
            kind="flux",
            size=worker.size if worker else 0,
            flux_version=self._bindings_version,
            broker_version=worker.broker_version if worker else None,
            uri=worker.uri if worker else None,
        )

    async def stop_broker(self) -> None:
        """``shutdown.start`` on rank 0; returns when the broker has finished its shutdown.

        It runs on a handle of its own, closed at the end: the broker exits only
        once the client that asked has disconnected.
        """
        worker, _ = self._require_worker()
        if not worker.ready or worker.uri is None:
            raise BrokerUnavailable(worker.problem or "the Flux broker is not ready")
        await asyncio.to_thread(shut_down_broker, worker.uri)

    # the reactor thread's side

    def _call(self, start: Callable[[Session, Call[T]], None]) -> asyncio.Future[T]:
        """Run ``start`` on the reactor thread; the future it settles is awaited here."""
        worker, deliveries = self._require_worker()
        call: Call[T] = Call(deliveries)
        worker.post(lambda session: start(session, call), call)
        return call.future

    def _require_worker(self) -> tuple[FluxWorker, Deliveries]:
        if self._worker is None or self._deliveries is None:
            raise BrokerUnavailable("the flux backend is not started")
        return self._worker, self._deliveries

    def _on_ready(self, session: Session) -> None:
        """A connection reached RUN: (re)start the journal, from where the last one was."""
        previous = self._journal
        since = None
        if previous is not None:
            previous.stop()
            since = previous.newest
        journal = JournalWatch(self._journal_entry, since)
        journal.start(session)
        self._journal = journal

    def _on_stop(self, session: Session) -> None:
        if self._journal is not None:
            self._journal.stop()

    def _journal_entry(self, change: Change) -> None:
        if self._deliveries is not None:
            self._deliveries.send(lambda: self._publish(change))

    def _publish(self, change: Change) -> None:
        if change.gpus is not None:
            self._gpus.record(change.jobid, change.gpus)
        self._hub.publish(change)

    def _state_change(self, change: Change, seq: int) -> StateChange:
        return StateChange(
            event_id=f"{self._boot}-{seq}-{change.timestamp!r}",
            id=encode_f58(change.jobid),
            id_dec=str(change.jobid),
            state=change.state,
            result=change.result,
            timestamp=change.timestamp,
        )

    # submission

    async def submit(self, request: JobRequest) -> Job:
        bindir = self._worker.broker_bindir if self._worker is not None else None
        jobspec, urgency = jobspec_for(request, bindir)
        return job_from_record(await self._call(submit_and_list(jobspec, urgency)))

    # queries

    async def get_job(self, jobid: int) -> Job:
        (job,) = await self._jobs([await self._call(list_one(jobid))])
        return job

    async def _jobs(self, records: list[Any]) -> list[Job]:
        """Records as jobs, their GPUs from R; looked up once for jobs allocated unseen."""
        unseen = [
            int(r["id"]) for r in records if r.get("t_run") and self._gpus.get(int(r["id"])) is None
        ]
        if unseen:
            for jobid, gpus in (await self._call(gpus_of(unseen))).items():
                self._gpus.record(jobid, gpus)
        return [job_from_record(r, self._gpus.get(int(r["id"])) or 0) for r in records]

    async def list_jobs(self, query: JobQuery) -> JobPage:
        userid = None
        if query.user is not None:
            userid = user_id(query.user)
            if userid is None:
                return JobPage(jobs=[], next=None)
        cursor = decode_cursor(query.cursor) if query.cursor else None
        terms = filter_terms(query, userid)
        key = hint_key(terms)
        page = await newest_first(
            self._fetch, terms, cursor, query.limit, self._hints.get(key, Hint())
        )
        if len(self._hints) > 256:
            self._hints.clear()
        self._hints[key] = page.hint
        return JobPage(
            jobs=await self._jobs(page.records),
            next=encode_cursor(page.next) if page.next is not None else None,
        )

    async def _fetch(
        self, constraint: dict[str, Any], since: float, limit: int, attrs: list[str] | None
    ) -> list[Any]:
        return await self._call(list_page(constraint, since, limit, attrs))

    async def stats(self) -> JobStats:
        from flux.job.stats import JobStats as FluxJobStats

        counts = FluxJobStats.QueueStats(await self._call(rpc("job-list.job-stats", {})))
        return JobStats(
            states={s: int(getattr(counts, key)) for s, key in _STATE_KEYS.items()},
            results={
                JobResult.COMPLETED: int(counts.successful),
                JobResult.FAILED: int(counts.failed),
                JobResult.CANCELED: int(counts.canceled),
                JobResult.TIMEOUT: int(counts.timeout),
            },
            total=int(counts.total),
        )

    async def resources(self) -> Resources:
        sets = await self._call(resource_sets())

        def count(index: int) -> ResourceCount:
            total, up, down, allocated, free = (
                sets[s][index] for s in ("all", "up", "down", "allocated", "free")
            )
            return ResourceCount(total=total, up=up, down=down, allocated=allocated, free=free)

        return Resources(
            nodes=count(0),
            cores=count(1),
            gpus=count(2),
            nodelist={s: sets[s][3] for s in ("up", "down", "allocated", "free")},
        )

    # control

    async def cancel(self, jobid: int, reason: str | None = None) -> None:
        await self._call(cancel_job(jobid, reason))

    async def signal(self, jobid: int, signum: int) -> None:
        await self._call(signal_job(jobid, signum))

    # streams

    def output(
        self, jobid: int, *, follow: bool, streams: Collection[Stream]
    ) -> AsyncIterator[OutputLine]:
        wanted = frozenset(streams)
        if follow:
            return self._stream(
                f"output of {encode_f58(jobid)}", lambda ch: OutputWatch(ch, jobid, wanted)
            )
        return _lines(self._call(output_lookup(jobid, wanted)))

    def job_events(self, jobid: int) -> AsyncIterator[JobEvent]:
        return self._stream(f"events of {encode_f58(jobid)}", lambda ch: EventlogWatch(ch, jobid))

    def events(self, after: str | None = None) -> AsyncIterator[StateChange]:
        if after is None:
            return self._hub_events(None)
        point = parse_event_id(after)
        last = self._hub.last_seq
        if point.boot == self._boot and 0 < point.seq <= last and point.seq >= last - HISTORY:
            return self._hub_events(point.seq)
        return self._stream(
            "journal",
            lambda ch: JournalWatch(
                lambda change: ch.put_many([self._state_change(change, 0)]),
                point.timestamp,
                on_end=ch.end,
            ),
        )

    async def _hub_events(self, after: int | None) -> AsyncIterator[StateChange]:
        async for seq, change in self._hub.subscribe(after):
            yield self._state_change(change, seq)

    def _stream(self, what: str, make: Callable[[Channel[T]], Any]) -> AsyncIterator[T]:
        worker, deliveries = self._require_worker()
        channel: Channel[T] = Channel(deliveries, what)
        watch = make(channel)
        worker.post(watch.start, watch)
        return WatchStream(channel, lambda: worker.post_always(lambda _session: watch.stop()))


async def _lines(pending: asyncio.Future[list[OutputLine]]) -> AsyncIterator[OutputLine]:
    for line in await pending:
        yield line
