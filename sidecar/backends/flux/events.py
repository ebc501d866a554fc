"""State changes of all jobs, from the job manager's journal (``job-manager.events-journal``).

The journal carries eventlog entries, not states, so ``JobStates`` derives
states the way the job manager does (RFC 21, ``event_job_update``) and
results the way job-list does. One consumer per connection feeds the
sidecar's hub; its history (the active jobs' eventlogs) only primes the
states, its live part is published.

Event ids are ``<boot>-<seq>-<timestamp>``: ``seq`` numbers the hub of this
sidecar run (``boot``), ``timestamp`` is the journal's. A client resumes from
the hub while it still holds the id; otherwise (the sidecar restarted, or the
id fell out of the window) from a consumer of its own that replays the whole
journal and skips entries up to that timestamp, so no change is missed. After
a reconnection the shared consumer does the same from the last entry it saw,
so subscribers also get what happened while the broker was away.
"""

from __future__ import annotations

import errno
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sidecar.backends.flux import replies
from sidecar.backends.flux.gpus import count_gpus
from sidecar.backends.flux.session import Session
from sidecar.errors import BrokerUnavailable, InvalidRequest
from sidecar.models import JobResult, JobState

logger = logging.getLogger(__name__)

JOURNAL = "job-manager.events-journal"

_EVENT_ID = re.compile(r"^(?P<boot>[0-9a-f]{8})-(?P<seq>[0-9]{1,18})-(?P<ts>[0-9]{1,12}\.?[0-9]*)$")


class Change(NamedTuple):
    jobid: int
    state: JobState
    result: JobResult | None
    timestamp: float
    gpus: int | None = None  # known at allocation (the alloc entry carries R)


class ResumePoint(NamedTuple):
    boot: str
    seq: int
    timestamp: float


def parse_event_id(text: str) -> ResumePoint:
    match = _EVENT_ID.match(text.strip())
    if match is None:
        raise InvalidRequest(f"Last-Event-ID {text[:64]!r} was not issued by this sidecar")
    return ResumePoint(match["boot"], int(match["seq"]), float(match["ts"]))


@dataclass
class _Job:
    state: JobState | None = None  # None: NEW, before ``validate``
    exception_type: str | None = None
    exception_severity: int = 0
    status: int | None = None

    def result(self) -> JobResult:
        fatal = self.exception_type is not None and self.exception_severity == 0
        if self.status == 0 and not fatal:
            return JobResult.COMPLETED
        if self.exception_type == "cancel":
            return JobResult.CANCELED
        if self.exception_type == "timeout":
            return JobResult.TIMEOUT
        return JobResult.FAILED


# The eventlog entries that can change a job's state or its result (RFC 21).
STATE_ENTRIES = (
    "submit",
    "validate",
    "invalidate",
    "depend",
    "priority",
    "urgency",
    "jobspec-update",
    "flux-restart",
    "exception",
    "alloc",
    "finish",
    "clean",
)
# (entry, state) -> next state, for the entries that need nothing but the state.
_TRANSITIONS = {
    ("depend", JobState.DEPEND): JobState.PRIORITY,
    ("priority", JobState.PRIORITY): JobState.SCHED,
    ("urgency", JobState.SCHED): JobState.PRIORITY,
    ("jobspec-update", JobState.SCHED): JobState.PRIORITY,
    ("flux-restart", JobState.SCHED): JobState.PRIORITY,
    ("alloc", JobState.SCHED): JobState.RUN,
    ("clean", JobState.CLEANUP): JobState.INACTIVE,
}


class JobStates:
    """Job states from eventlog entries, as the job manager derives them (RFC 21)."""

    def __init__(self) -> None:
        self._jobs: dict[int, _Job] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    def apply(
        self, jobid: int, name: str, context: dict[str, Any]
    ) -> tuple[JobState, JobResult | None] | None:
        """The job's new state and result if this entry changed its state, else None."""
        if name == "submit":
            self._jobs[jobid] = _Job()
            return None
        job = self._jobs.get(jobid)
        if job is None:
            return None
        old = job.state
        new = self._next_state(job, name, context)
        if new is old or new is None:
            return None
        job.state = new
        if new is JobState.INACTIVE:
            del self._jobs[jobid]
            return new, job.result()
        return new, None

    @staticmethod
    def _next_state(job: _Job, name: str, context: dict[str, Any]) -> JobState | None:
        state = job.state
        if name == "validate":
            return JobState.DEPEND
        if name == "invalidate":
            job.exception_type = job.exception_type or "invalidate"
            return JobState.INACTIVE
        if name == "exception":
            severity = int(context.get("severity", 0))
            if job.exception_type is None or severity < job.exception_severity:
                job.exception_type = str(context.get("type", ""))
                job.exception_severity = severity
            if severity == 0 and state not in (None, JobState.INACTIVE):
                return JobState.CLEANUP
            return state
        if name == "finish" and state is JobState.RUN:
            job.status = int(context.get("status", 0))
            return JobState.CLEANUP
        if state is None:
            return None
        return _TRANSITIONS.get((name, state), state)


class JournalWatch:
    """A journal consumer on the reactor thread; changes go to ``sink`` (reactor thread).

    Every entry goes through the job states; changes later than ``since`` are
    delivered. ``since`` None means from now on: the journal then starts with
    the active jobs only (enough to know their states). With a timestamp the
    whole journal is read, inactive jobs included, so that what happened
    after it is delivered even for jobs that have ended since. The boundary
    is a timestamp: the sidecar and the broker share a clock in a pod.
    """

    def __init__(
        self,
        sink: Callable[[Change], None],
        since: float | None,
        on_end: Callable[[], None] | None = None,
    ) -> None:
        self._sink = sink
        self._full = since is not None
        self._since = time.time() if since is None else since
        self._on_end = on_end
        self._states = JobStates()
        self._future: Any = None
        self._history: list[tuple[float, int, dict[str, Any], Any]] | None = None
        self._session: Session | None = None
        self._stopped = False
        self.newest = self._since

    def start(self, session: Session) -> None:
        """``job-manager.events-journal``, read as it streams (what ``JournalConsumer`` sends).

        Read directly rather than through ``JournalConsumer``: the consumer
        makes an event object (and a job id object) per entry and reads each
        reply through the bindings' wrappers, for two to eight entries of every
        job, on the thread that also carries every request.
        """
        import flux.constants

        self._session = session
        session.track(self)
        request = {"full": self._full, "allow": dict.fromkeys(STATE_ENTRIES, 1)}
        self._history = [] if self._full else None
        self._future = session.handle.rpc(
            JOURNAL, request, flux.constants.FLUX_NODEID_ANY, flux.constants.FLUX_RPC_STREAMING
        )
        self._future.then(self._reply)

    def _reply(self, future: Any) -> None:
        try:
            answer = replies.payload(future)
        except OSError as exc:
            if exc.errno != errno.ENODATA:  # ENODATA: the request was cancelled
                logger.info("the job manager's journal ended: %s", exc)
            self._finish()
            return
        try:
            self._read(answer)
        except Exception:
            logger.exception("a journal entry could not be read")
        future.reset()

    def _read(self, answer: dict[str, Any]) -> None:
        jobid = int(answer.get("id", -1))
        entries = answer.get("events") or []
        resources = answer.get("R")
        if self._history is None:
            for entry in entries:
                self._apply(jobid, entry, resources)
        elif entries:
            self._history.extend(
                (float(entry["timestamp"]), jobid, entry, resources) for entry in entries
            )
        else:  # the end of the history: replay it in time order, as the consumer does
            history, self._history = self._history, None
            for _, historic, entry, its_resources in sorted(history, key=lambda item: item[0]):
                self._apply(historic, entry, its_resources)

    def _apply(self, jobid: int, entry: dict[str, Any], resources: Any = None) -> None:
        name = entry["name"]
        change = self._states.apply(jobid, name, entry.get("context") or {})
        timestamp = float(entry["timestamp"])
        if change is None or timestamp <= self._since:
            return
        self.newest = max(self.newest, timestamp)
        gpus = count_gpus(resources) if name == "alloc" and resources is not None else None
        self._sink(Change(jobid, change[0], change[1], timestamp, gpus))

    def stop(self) -> None:
        """Cancel the journal request; its stream then ends by itself."""
        if self._stopped:
            return
        self._stopped = True
        session, future = self._session, self._future
        if session is not None and future is not None:
            import flux.constants

            try:
                session.handle.rpc(
                    f"{JOURNAL}-cancel",
                    {"matchtag": replies.matchtag(future)},
                    flux.constants.FLUX_NODEID_ANY,
                    flux.constants.FLUX_RPC_NORESPONSE,
                )
            except OSError as exc:
                logger.debug("journal cancel: %s", exc)
        self._finish()

    def _finish(self) -> None:
        if self._session is not None:
            self._session.forget(self)
            self._session = None
        if self._on_end is not None:
            on_end, self._on_end = self._on_end, None
            on_end()

    def broken(self, error: BrokerUnavailable) -> None:
        self._stopped = True
        self._session = None
        self._finish()
