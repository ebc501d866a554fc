"""The local backend: real processes on this machine with Flux's job model.

It is what ``make run`` and most tests use. It is not a scheduler: one node,
a budget of cores equal to the machine's, first come first served by urgency,
no GPUs and no queues. States, results, eventlog names, ids and output follow
Flux, so that clients see the same API as in a MiniCluster.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import logging
import os
import pwd
import secrets
import signal
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Collection, Coroutine
from typing import Any, Literal

from sidecar.backends.base import Stream
from sidecar.backends.local.job import LocalJob, run_tasks, terminate
from sidecar.errors import (
    BrokerUnavailable,
    Conflict,
    InvalidCursor,
    InvalidJobspec,
    InvalidRequest,
    JobInactive,
    JobNotFound,
)
from sidecar.hub import EventHub
from sidecar.jobid import JobIdGenerator, encode_f58, parse_jobid
from sidecar.jobspec import request_from_jobspec
from sidecar.models import (
    BackendInfo,
    Job,
    JobEvent,
    JobException,
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
from sidecar.patterns import EVENT_ID, full

logger = logging.getLogger(__name__)

_DEPENDENCY_SCHEMES = frozenset({"after", "afterany", "afterok", "afternotok"})
_CURSOR_PREFIX = "local:"


def _result_of(job: LocalJob) -> JobResult:
    if job.exception is not None:
        return {"cancel": JobResult.CANCELED, "timeout": JobResult.TIMEOUT}.get(
            job.exception.type, JobResult.FAILED
        )
    return JobResult.COMPLETED if job.returncode == 0 else JobResult.FAILED


def _encode_cursor(jobid: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{jobid}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(text)
        return int(text[len(_CURSOR_PREFIX) :])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor() from None


class LocalBackend:
    """Jobs as process groups on this machine, scheduled on a core budget."""

    kind: Literal["flux", "local"] = "local"

    def __init__(self, cores: int | None = None) -> None:
        self._cores = cores or os.cpu_count() or 1
        self._used_cores = 0
        self._jobs: dict[int, LocalJob] = {}
        self._order: list[int] = []
        self._pending: dict[int, LocalJob] = {}
        self._counts: Counter[JobState] = Counter()
        self._results: Counter[JobResult] = Counter()
        self._ids = JobIdGenerator(generator_id=secrets.randbelow(1 << 14))
        self._hub: EventHub[StateChange] = EventHub()
        self._boot = secrets.token_hex(4)
        self._tasks: set[asyncio.Task[None]] = set()
        self._user = pwd.getpwuid(os.getuid()).pw_name
        self._userid = os.getuid()
        self._hostname = socket.gethostname()
        self._closed = False

    # lifecycle

    async def start(self) -> None:
        self._closed = False

    async def close(self) -> None:
        """Kill every job (local jobs cannot outlive the sidecar) and end every stream."""
        self._closed = True
        for job in list(self._jobs.values()):
            if not job.ended:
                self._raise_exception(job, "cancel", "flux-sidecar stopped", sigkill=True)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
        self._hub.close()

    async def ready(self) -> bool:
        return not self._closed

    async def info(self) -> BackendInfo:
        return BackendInfo(kind="local", size=1, uri=None)

    async def stop_broker(self) -> None:
        """There is no broker: cancel every active job, as Flux's shutdown does."""
        for job in list(self._jobs.values()):
            if not job.ended:
                self._raise_exception(job, "cancel", "instance shutting down")

    # submission and scheduling

    async def submit(self, request: JobRequest) -> Job:
        if self._closed:
            raise BrokerUnavailable("the local backend is closed")
        if request.jobspec is not None:
            request = request_from_jobspec(request.jobspec)
        if request.queue:
            raise InvalidJobspec(f"queue {request.queue!r}: the local backend has no queues")
        for uri in request.dependencies:
            self._dependency_target(uri)
        job = LocalJob(
            jobid=self._ids.next_id(),
            request=request,
            user=self._user,
            hostname=self._hostname,
            cwd=os.getcwd(),
        )
        self._jobs[job.jobid] = job
        self._order.append(job.jobid)
        self._pending[job.jobid] = job
        job.post("submit", userid=self._userid, urgency=request.urgency, version=1)
        job.post("validate")
        self._counts[JobState.DEPEND] += 1
        self._publish(job)
        for uri in request.dependencies:
            job.post("dependency-add", description=uri)
        self._schedule()
        return job.to_model()

    def _unsatisfiable(self, request: JobRequest) -> str | None:
        """Why the request can never run here, as Flux's scheduler words it; None if it can."""
        if request.nodes is not None and request.nodes > 1:
            return f"unsatisfiable request: need {request.nodes} node(s), only 1 available"
        cores = request.tasks * request.cores_per_task
        if cores > self._cores:
            return f"unsatisfiable request: need {cores} core(s), only {self._cores} available"
        if request.gpus_per_task:
            return "unsatisfiable request: need GPUs, only 0 available (total GPUs: 0)"
        return None

    def _dependency_target(self, uri: str) -> tuple[str, LocalJob]:
        scheme, _, value = uri.partition(":")
        if scheme not in _DEPENDENCY_SCHEMES:
            schemes = ", ".join(sorted(_DEPENDENCY_SCHEMES))
            raise InvalidJobspec(f"dependency {uri!r}: scheme must be one of {schemes}")
        try:
            target = self._jobs[parse_jobid(value)]
        except (InvalidRequest, KeyError):
            raise InvalidJobspec(f"dependency {uri!r}: job {value} not found") from None
        return scheme, target

    def _dependency_status(self, job: LocalJob) -> bool | None:
        """True when all dependencies hold, False when one never can, None to wait."""
        waiting = False
        for uri in job.request.dependencies:
            scheme, target = self._dependency_target(uri)
            if scheme == "after":
                if target.t_run is not None:
                    continue
                if target.ended:
                    return False
            elif target.ended:
                ok = target.result is JobResult.COMPLETED
                if scheme == "afterany" or (scheme == "afterok") == ok:
                    continue
                return False
            waiting = True
        return None if waiting else True

    def _schedule(self) -> None:
        for job in [j for j in self._pending.values() if j.state is JobState.DEPEND]:
            status = self._dependency_status(job)
            if status is False:
                self._raise_exception(job, "dependency", "dependency can never be satisfied")
            elif status:
                job.post("depend")
                self._set_state(job, JobState.PRIORITY)
                job.post("priority", priority=job.request.urgency)
                self._set_state(job, JobState.SCHED)
                if job.request.urgency == 0:
                    # Held, as Flux holds urgency 0: never a candidate, so out of
                    # every later scan (thousands of held jobs made each submit slow).
                    del self._pending[job.jobid]
        queue = sorted(
            (j for j in self._pending.values() if j.state is JobState.SCHED),
            key=lambda j: (-j.request.urgency, j.jobid),
        )
        unsatisfiable: list[tuple[LocalJob, str]] = []
        for job in queue:
            # Like Flux, take an unsatisfiable job and fail it when it would be allocated.
            reason = self._unsatisfiable(job.request)
            if reason is not None:
                unsatisfiable.append((job, reason))
                continue
            if job.cores > self._cores - self._used_cores:
                break  # first come first served: no backfill past a waiting job
            self._used_cores += job.cores
            del self._pending[job.jobid]
            self._spawn(self._run(job))
        for job, reason in unsatisfiable:
            self._raise_exception(job, "alloc", reason)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: LocalJob) -> None:
        job.post("alloc")
        self._set_state(job, JobState.RUN)
        job.post("start")
        loop = asyncio.get_running_loop()
        timer = None
        if job.request.time_limit > 0:
            timer = loop.call_later(
                job.request.time_limit,
                self._raise_exception,
                job,
                "timeout",
                "resource allocation expired",
            )
        try:
            job.returncode = await run_tasks(job)
        except Exception:
            logger.exception("job %s failed to run", job.f58)
            job.returncode = 1
        finally:
            if timer is not None:
                timer.cancel()
            self._used_cores -= job.cores
        job.post("finish", status=(job.returncode & 0xFF) << 8)
        self._set_state(job, JobState.CLEANUP)
        job.post("release", ranks="all", final=True)
        job.post("free")
        self._finish(job)
        self._schedule()

    def _finish(self, job: LocalJob) -> None:
        self._pending.pop(job.jobid, None)
        job.result = _result_of(job)
        self._results[job.result] += 1
        job.post("clean")
        self._set_state(job, JobState.INACTIVE)
        job.done.set()

    def _raise_exception(self, job: LocalJob, kind: str, note: str, sigkill: bool = False) -> None:
        if job.ended or job.exception is not None:
            return
        job.exception = JobException(type=kind, note=note, severity=0)
        job.post("exception", type=kind, severity=0, note=note, userid=self._userid)
        if job.state is JobState.RUN:
            if sigkill:
                job.kill(signal.SIGKILL)
            else:
                self._spawn(terminate(job))
        elif job.state is not JobState.CLEANUP:
            self._set_state(job, JobState.CLEANUP)
            self._finish(job)
            self._schedule()

    def _set_state(self, job: LocalJob, state: JobState) -> None:
        self._counts[job.state] -= 1
        self._counts[state] += 1
        job.state = state
        now = time.time()
        if state is JobState.RUN:
            job.t_run = now
        elif state is JobState.CLEANUP:
            job.t_cleanup = now
        elif state is JobState.INACTIVE:
            job.t_inactive = now
        self._publish(job)

    def _publish(self, job: LocalJob) -> None:
        now = time.time()
        self._hub.publish(
            StateChange(
                # The flux backend's spelling, so that one Last-Event-ID grammar serves both.
                event_id=f"{self._boot}-{self._hub.last_seq + 1}-{now!r}",
                id=job.f58,
                id_dec=str(job.jobid),
                state=job.state,
                result=job.result,
                timestamp=now,
            )
        )

    # queries

    def _job(self, jobid: int) -> LocalJob:
        try:
            return self._jobs[jobid]
        except KeyError:
            raise JobNotFound(encode_f58(jobid)) from None

    async def get_job(self, jobid: int) -> Job:
        return self._job(jobid).to_model()

    async def list_jobs(self, query: JobQuery) -> JobPage:
        end = len(self._order)
        if query.cursor is not None:
            end = bisect.bisect_left(self._order, _decode_cursor(query.cursor))
        found: list[LocalJob] = []
        for index in range(end - 1, -1, -1):
            job = self._jobs[self._order[index]]
            if (
                (not query.states or job.state in query.states)
                and (not query.results or job.result in query.results)
                and (query.name is None or job.name == query.name)
                and (query.user is None or job.user == query.user)
            ):
                found.append(job)
                if len(found) > query.limit:
                    break
        more = len(found) > query.limit
        page = found[: query.limit]
        return JobPage(
            jobs=[j.to_model() for j in page],
            next=_encode_cursor(page[-1].jobid) if more and page else None,
        )

    async def stats(self) -> JobStats:
        return JobStats(
            states={s: self._counts.get(s, 0) for s in JobState},
            results={r: self._results.get(r, 0) for r in JobResult},
            total=len(self._jobs),
        )

    async def resources(self) -> Resources:
        used, total = self._used_cores, self._cores
        host = self._hostname
        return Resources(
            nodes=ResourceCount(
                total=1, up=1, down=0, allocated=1 if used else 0, free=1 if used < total else 0
            ),
            cores=ResourceCount(total=total, up=total, down=0, allocated=used, free=total - used),
            gpus=ResourceCount(total=0, up=0, down=0, allocated=0, free=0),
            nodelist={
                "up": host,
                "down": "",
                "allocated": host if used else "",
                "free": host if used < total else "",
            },
        )

    # control

    async def cancel(self, jobid: int, reason: str | None = None) -> None:
        job = self._job(jobid)
        if job.ended:
            raise JobInactive(job.f58, "cancel")
        self._raise_exception(job, "cancel", reason or "")

    async def signal(self, jobid: int, signum: int) -> None:
        job = self._job(jobid)
        if job.state in (JobState.CLEANUP, JobState.INACTIVE):
            raise JobInactive(job.f58, "signal")
        if job.state is not JobState.RUN:
            raise Conflict(
                f"cannot signal job {job.f58}: it is not running yet ({job.state.value})"
            )
        job.kill(signum)

    # streams

    def output(
        self, jobid: int, *, follow: bool, streams: Collection[Stream]
    ) -> AsyncIterator[OutputLine]:
        return self._job(jobid).follow_output(follow and not self._closed, streams)

    def job_events(self, jobid: int) -> AsyncIterator[JobEvent]:
        return self._job(jobid).follow_events()

    def events(self, after: str | None = None) -> AsyncIterator[StateChange]:
        seq: int | None = None
        if after is not None:
            if not full(EVENT_ID, after):
                raise InvalidRequest(f"Last-Event-ID {after[:64]!r} was not issued by this sidecar")
            boot, number, _ = after.split("-")
            # After a restart the numbers start again: replay what this run has.
            seq = int(number) if boot == self._boot else 0
        return self._stream_events(seq)

    async def _stream_events(self, after: int | None) -> AsyncIterator[StateChange]:
        async for _, change in self._hub.subscribe(after):
            yield change
