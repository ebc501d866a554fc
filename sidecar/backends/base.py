"""The one seam between HTTP and Flux.

Every method is a coroutine (or an async iterator) that must never block the
event loop. Backends raise the errors of ``sidecar.errors``; ids are the
64-bit integers of ``sidecar.jobid``. The streaming methods end by themselves
when their subject ends (a job reaching INACTIVE or ``clean``) or when the
backend closes; callers cancel them when a client goes away.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from typing import Literal, Protocol, runtime_checkable

from sidecar.models import (
    BackendInfo,
    Job,
    JobEvent,
    JobPage,
    JobQuery,
    JobRequest,
    JobStats,
    OutputLine,
    Resources,
    StateChange,
)

Stream = Literal["stdout", "stderr"]


@runtime_checkable
class JobBackend(Protocol):
    """What the sidecar needs from a Flux instance."""

    @property
    def kind(self) -> Literal["flux", "local"]:
        """Which backend this is."""

    async def start(self) -> None:
        """Acquire resources (threads, handles, watchers); called once by the lifespan."""

    async def close(self) -> None:
        """Release everything; streams end. Running jobs are left alone."""

    async def ready(self) -> bool:
        """True when the instance answers and can take work."""

    async def info(self) -> BackendInfo:
        """Kind, size and versions of the instance."""

    async def submit(self, request: JobRequest) -> Job:
        """Submit one job and return it as listed right after submission."""

    async def list_jobs(self, query: JobQuery) -> JobPage:
        """One page of jobs, newest first; ``next`` is an opaque cursor or None."""

    async def get_job(self, jobid: int) -> Job:
        """One job; ``JobNotFound`` if the instance never had it."""

    async def cancel(self, jobid: int, reason: str | None = None) -> None:
        """Raise a cancel exception on an active job; ``JobInactive`` if it has ended."""

    async def signal(self, jobid: int, signum: int) -> None:
        """Send a signal to the tasks of a running job; ``JobInactive`` if it has ended."""

    def output(
        self, jobid: int, *, follow: bool, streams: Collection[Stream]
    ) -> AsyncIterator[OutputLine]:
        """Output lines so far; with ``follow`` also new ones until the job ends."""

    def job_events(self, jobid: int) -> AsyncIterator[JobEvent]:
        """The job's eventlog: history, then live entries, ending after ``clean``."""

    def events(self, after: str | None = None) -> AsyncIterator[StateChange]:
        """State changes of all jobs, live; with ``after``, first those that followed it.

        Raises ``InvalidRequest`` for an ``after`` this backend never issued.
        """

    async def resources(self) -> Resources:
        """Nodes, cores and gpus of the instance by state."""

    async def stats(self) -> JobStats:
        """Job counts by state and by result, in one cheap call."""

    async def stop_broker(self) -> None:
        """Ask the broker to shut down (Flux's ``shutdown.start``); the local backend no-ops."""
