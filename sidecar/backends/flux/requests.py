"""What the flux backend asks of Flux: each request started on the reactor thread.

Every function returns a ``Start``: given the connection and a ``Call``, it
sends the request with the bindings and settles the call from the reply's
``then`` callback, so nothing here ever waits. Where one answer needs two
requests (a submission, then the job as job-list lists it) the second one is
sent from the first one's callback, without a trip through the event loop.
"""

from __future__ import annotations

import copy
import errno
import json
import logging
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from sidecar.backends.flux import replies
from sidecar.backends.flux.bridge import MORE, Call, More
from sidecar.backends.flux.gpus import count_gpus
from sidecar.backends.flux.jobs import ATTRS, STATE_BITS, flux_error, submit_error
from sidecar.backends.flux.session import Session
from sidecar.backends.flux.streams import output_so_far
from sidecar.errors import Conflict, InvalidJobspec, JobInactive
from sidecar.jobid import encode_f58
from sidecar.jobspec import build_jobspec, job_environment
from sidecar.models import JobRequest, JobState, OutputLine

logger = logging.getLogger(__name__)

T = TypeVar("T")
Start = Callable[[Session, Call[T]], None]
Record = dict[str, Any]
_PENDING = STATE_BITS[JobState.DEPEND] | STATE_BITS[JobState.PRIORITY] | STATE_BITS[JobState.SCHED]


def _get(future: Any) -> Any:
    return replies.payload(future)


def _listed(future: Any) -> Record:
    record: Record = replies.payload(future)["job"]
    return record


def rpc(topic: str, payload: Any = None) -> Start[Any]:
    def start(session: Session, call: Call[Any]) -> None:
        session.settle(session.handle.rpc(topic, payload), call, _get, flux_error)

    return start


def jobspec_for(request: JobRequest, flux_bindir: str | None = None) -> tuple[str, int]:
    """The jobspec to submit (JSON) and its urgency; a raw jobspec passes Flux's validator."""
    if request.jobspec is None:
        return json.dumps(build_jobspec(request, flux_bindir)), request.urgency
    from flux.job import validate_jobspec

    spec = copy.deepcopy(request.jobspec)
    system = spec.get("attributes", {}).get("system") if isinstance(spec, dict) else None
    if not isinstance(system, dict) or not isinstance(system.get("environment", {}), dict):
        raise InvalidJobspec("jobspec: attributes.system must be an object with an environment")
    # The bindings would copy the sidecar's environment; the job gets its own only.
    system["environment"] = job_environment(system.get("environment", {}))
    text = json.dumps(spec)
    try:
        validate_jobspec(text, require_version=1)
    except (ValueError, TypeError, KeyError, AttributeError, OSError) as exc:
        raise InvalidJobspec(f"jobspec: {exc}") from None
    urgency = system.get("urgency", 16)
    if not isinstance(urgency, int) or isinstance(urgency, bool) or not 0 <= urgency <= 31:
        raise InvalidJobspec("jobspec: attributes.system.urgency must be an integer 0..31")
    return text, urgency


def submit_and_list(jobspec: str, urgency: int) -> Start[Record]:
    """``submit_async``, then ``job_list_id``: job-list answers once it knows the job."""

    def start(session: Session, call: Call[Record]) -> None:
        import flux.job

        def submitted(future: Any) -> More:
            jobid = replies.submitted_id(future)
            lookup = flux.job.job_list_id(session.handle, jobid, attrs=ATTRS)
            session.settle(lookup, call, _listed, lambda e: flux_error(e, jobid))
            return MORE

        future = flux.job.submit_async(session.handle, jobspec, urgency=urgency)
        session.settle(future, call, submitted, submit_error)

    return start


def gpus_of(jobids: list[int]) -> Start[dict[int, int]]:
    """Each job's GPUs from its R (``job-info.lookup``), every lookup in flight at once."""

    def start(session: Session, call: Call[dict[int, int]]) -> None:
        counts: dict[int, int] = {}
        if not jobids:
            call.resolve(counts)
            return

        def reader(jobid: int) -> Callable[[Any], dict[int, int] | More]:
            def read(future: Any) -> dict[int, int] | More:
                try:
                    counts[jobid] = count_gpus((replies.payload(future) or {}).get("R"))
                except OSError:
                    counts[jobid] = 0  # no R: the job was never allocated
                return counts if len(counts) == len(jobids) else MORE

            return read

        for jobid in jobids:
            lookup = session.handle.rpc("job-info.lookup", {"id": jobid, "keys": ["R"], "flags": 0})
            session.settle(lookup, call, reader(jobid), flux_error)

    return start


def list_one(jobid: int) -> Start[Record]:
    def start(session: Session, call: Call[Record]) -> None:
        import flux.job

        future = flux.job.job_list_id(session.handle, jobid, attrs=ATTRS)
        session.settle(future, call, _listed, lambda e: flux_error(e, jobid))

    return start


def list_page(
    constraint: Record, since: float, max_entries: int, attrs: list[str] | None = None
) -> Start[list[Record]]:
    """``job-list.list`` for every user, the filters and the window pushed down.

    The payload is ``job_list``'s, but the request is not streaming: job-list
    then answers with one reply, where a streaming request (what ``job_list``
    sends) gets one reply per job, and each reply costs a Python callback on
    the reactor thread (a 200-job page took 30 ms that way).
    """
    payload = {
        "max_entries": max_entries,
        "attrs": ATTRS if attrs is None else attrs,
        "since": since,
        "constraint": constraint,
    }

    def start(session: Session, call: Call[list[Record]]) -> None:
        jobs: list[Record] = []

        def read(reply: Any) -> list[Record] | More:
            try:
                answer = replies.payload(reply)
            except OSError as exc:
                if exc.errno == errno.ENODATA:  # the end of a streamed answer
                    return jobs
                raise
            jobs.extend(answer["jobs"])
            if not answer.get("version") and len(jobs) == len(answer["jobs"]):
                return jobs  # one reply holds them all
            reply.reset()
            return MORE

        session.settle(session.handle.rpc("job-list.list", payload), call, read, flux_error)

    return start


def resource_sets() -> Start[dict[str, tuple[int, int, int, str]]]:
    """``resource_list``: nodes, cores, gpus and node list of each set by state."""

    def start(session: Session, call: Call[dict[str, tuple[int, int, int, str]]]) -> None:
        import flux.resource

        def read(future: Any) -> dict[str, tuple[int, int, int, str]]:
            listing = future.get()
            return {
                state: (rset.nnodes, rset.ncores, rset.ngpus, str(rset.nodelist))
                for state in ("all", "up", "down", "allocated", "free")
                for rset in (getattr(listing, state),)
            }

        session.settle(flux.resource.resource_list(session.handle), call, read, flux_error)

    return start


def cancel_job(jobid: int, reason: str | None) -> Start[None]:
    def start(session: Session, call: Call[None]) -> None:
        import flux.job

        future = flux.job.cancel_async(session.handle, jobid, reason)
        session.settle(future, call, _get, lambda e: flux_error(e, jobid, "cancel"))

    return start


def signal_job(jobid: int, signum: int) -> Start[None]:
    """``kill_async`` once the job's tasks run.

    The job shell drops a signal that arrives before it has started the tasks,
    although the job is already in RUN: so the exec eventlog is read up to
    ``shell.start`` first (at once for a job that is well under way).
    """
    job = encode_f58(jobid)

    def start(session: Session, call: Call[None]) -> None:
        import flux.job

        def kill() -> None:
            future = flux.job.kill_async(session.handle, jobid, signum)
            session.settle(future, call, _get, lambda e: flux_error(e, jobid, "signal"))

        def exec_event(watch: Any) -> None:
            try:
                event = watch.get_event()
            except OSError as exc:
                session.forget(call)
                call.fail(flux_error(exc, jobid, "signal"))
                return
            if event is None:  # the job ended before its tasks started
                session.forget(call)
                call.fail(JobInactive(job, "signal"))
            elif event.name == "shell.start":
                watch.cancel(stop=True)
                if not call.abandoned:
                    kill()

        def listed(future: Any) -> More:
            state = int(replies.payload(future)["job"].get("state", 0))
            if state & _PENDING:
                raise Conflict(f"cannot signal job {job}: it is not running yet")
            if state & (STATE_BITS[JobState.CLEANUP] | STATE_BITS[JobState.INACTIVE]):
                raise JobInactive(job, "signal")
            watch = flux.job.event_watch_async(session.handle, jobid, "guest.exec.eventlog")
            watch.then(exec_event)
            return MORE

        future = flux.job.job_list_id(session.handle, jobid, attrs=["state"])
        session.settle(future, call, listed, lambda e: flux_error(e, jobid, "signal"))

    return start


def output_lookup(jobid: int, streams: Collection[str]) -> Start[list[OutputLine]]:
    """The output written so far: a lookup of ``guest.output``, as ``job_output(nowait)``."""

    def start(session: Session, call: Call[list[OutputLine]]) -> None:
        import flux.job

        def read(future: Any) -> list[OutputLine]:
            try:
                text = future.get()["guest.output"]
            except OSError as exc:
                if exc.errno == errno.ENOENT and "key not found" in str(exc.strerror):
                    return []  # the job has written nothing yet, or never started
                raise
            return output_so_far(text, streams)

        future = flux.job.job_info_lookup(session.handle, jobid, keys=["guest.output"])
        session.settle(future, call, read, lambda e: flux_error(e, jobid))

    return start


def shut_down_broker(uri: str) -> None:
    """``shutdown.start`` on rank 0; blocking, on a thread and a handle of its own.

    The broker finishes its shutdown only once the client that asked has
    disconnected: this handle is closed at the end, the worker's is not.
    """
    import flux
    import flux.constants

    handle = flux.Flux(uri)
    future = handle.rpc(
        "shutdown.start", {"loglevel": 6}, nodeid=0, flags=flux.constants.FLUX_RPC_STREAMING
    )
    try:
        while True:
            for line in str((future.get() or {}).get("log", "")).splitlines():
                logger.info("broker: %s", line)
            future.reset()
    except OSError as exc:
        if exc.errno in (errno.EPIPE, errno.ECONNRESET):
            logger.info("the Flux broker went away during its shutdown")
        elif exc.errno != errno.ENODATA:
            raise flux_error(exc) from None
    finally:
        del future, handle  # closing the handle lets the broker finish
