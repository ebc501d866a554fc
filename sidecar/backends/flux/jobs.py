"""Jobs as Flux's job-list reports them, their filters, and Flux errors as domain errors."""

from __future__ import annotations

import errno
import os
import pwd
from functools import lru_cache
from typing import Any

from sidecar.errors import (
    BackendTimeout,
    BrokerUnavailable,
    Conflict,
    InvalidJobspec,
    JobInactive,
    JobNotFound,
    PermissionDenied,
    SidecarError,
)
from sidecar.jobid import encode_f58
from sidecar.models import Job, JobException, JobQuery, JobResult, JobState

ATTRS = [
    "userid",
    "urgency",
    "t_submit",
    "t_run",
    "t_cleanup",
    "t_inactive",
    "state",
    "name",
    "queue",
    "ntasks",
    "ncores",
    "nnodes",
    "nodelist",
    "result",
    "waitstatus",
    "exception_occurred",
    "exception_type",
    "exception_note",
    "exception_severity",
    "cwd",
]
STATE_BITS = {
    JobState.DEPEND: 2,
    JobState.PRIORITY: 4,
    JobState.SCHED: 8,
    JobState.RUN: 16,
    JobState.CLEANUP: 32,
    JobState.INACTIVE: 64,
}
RESULT_BITS = {
    JobResult.COMPLETED: 1,
    JobResult.FAILED: 2,
    JobResult.CANCELED: 4,
    JobResult.TIMEOUT: 8,
}
_STATES = {bit: state for state, bit in STATE_BITS.items()} | {1: JobState.DEPEND}  # 1: NEW
_RESULTS = {bit: result for result, bit in RESULT_BITS.items()}
_UNREACHABLE = {
    errno.ECONNRESET,
    errno.ECONNREFUSED,
    errno.ENOTCONN,
    errno.EPIPE,
    errno.EHOSTUNREACH,
    errno.ENOSYS,
}
_PERMISSION_WORDS = ("owner", "signer", "permission", "not allowed", "guest")


@lru_cache(maxsize=256)
def user_name(userid: int) -> str:
    try:
        return pwd.getpwuid(userid).pw_name
    except KeyError:
        return str(userid)


def user_id(name: str) -> int | None:
    """The uid for a user filter (a name or a number), None for an unknown name."""
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return int(name) if name.isdigit() else None


def returncode(waitstatus: Any) -> int | None:
    """The job's exit code as ``flux jobs`` shows it; None if it never ran."""
    if not isinstance(waitstatus, int):
        return None
    if os.WIFSIGNALED(waitstatus):
        return -os.WTERMSIG(waitstatus)
    return os.WEXITSTATUS(waitstatus)


def job_from_record(record: dict[str, Any], gpus: int = 0) -> Job:
    """A job-list record (``ATTRS``) as the API's job, with its GPUs (job-list has none).

    ``nodes`` is 0 while a job that asked for no node count waits for its allocation.
    """
    jobid = int(record["id"])
    state = _STATES.get(int(record.get("state", 2)), JobState.DEPEND)
    exception = None
    if record.get("exception_occurred"):
        exception = JobException(
            type=str(record.get("exception_type", "")),
            note=str(record.get("exception_note", "")),
            severity=int(record.get("exception_severity", 0)),
        )
    inactive = state is JobState.INACTIVE
    return Job(
        id=encode_f58(jobid),
        id_dec=str(jobid),
        name=str(record.get("name", "")),
        user=user_name(int(record.get("userid", -1))),
        state=state,
        result=_RESULTS.get(int(record.get("result", 0))) if inactive else None,
        returncode=returncode(record.get("waitstatus")),
        exception=exception,
        nodes=int(record.get("nnodes", 0)),
        tasks=int(record.get("ntasks", 0)),
        cores=int(record.get("ncores", 0)),
        gpus=gpus,
        nodelist=str(record.get("nodelist", "")),
        queue=record.get("queue") or None,
        urgency=int(record.get("urgency", 16)),
        t_submit=float(record.get("t_submit", 0.0)),
        t_run=record.get("t_run") or None,
        t_cleanup=record.get("t_cleanup") or None,
        t_inactive=record.get("t_inactive") or None,
        cwd=record.get("cwd") or None,
    )


def flux_error(exc: OSError, jobid: int | None = None, action: str = "") -> SidecarError:
    """A Flux error (an ``OSError`` with Flux's message) as the domain error it means."""
    message = exc.strerror or str(exc)
    job = encode_f58(jobid) if jobid is not None else ""
    if exc.errno in _UNREACHABLE:
        return BrokerUnavailable(f"the Flux broker did not answer: {message}")
    if exc.errno == errno.ETIMEDOUT:
        return BackendTimeout(f"the Flux broker did not answer in time: {message}")
    if exc.errno == errno.EPERM:
        return PermissionDenied(f"Flux refused: {message}")
    if jobid is not None and "inactive" in message:
        return JobInactive(job, action)
    if jobid is not None and "not running" in message:
        return Conflict(f"cannot {action} job {job}: it is not running yet")
    if jobid is not None and exc.errno == errno.ENOENT:
        return JobNotFound(job)
    return SidecarError(f"Flux: {message}")


def submit_error(exc: OSError) -> SidecarError:
    """A refused submission: Flux's validators answer with their message (422)."""
    message = exc.strerror or str(exc)
    if exc.errno in _UNREACHABLE:
        return BrokerUnavailable(f"the Flux broker did not take the job: {message}")
    if exc.errno == errno.EPERM and any(word in message.lower() for word in _PERMISSION_WORDS):
        return PermissionDenied(f"Flux refused the job: {message}")
    return InvalidJobspec(message)


def filter_terms(query: JobQuery, userid: int | None) -> list[dict[str, Any]]:
    """The query's filters as RFC 31 constraint terms for job-list."""
    terms: list[dict[str, Any]] = []
    if query.states:
        terms.append({"states": [sum(STATE_BITS[s] for s in query.states)]})
    if query.results:
        terms.append({"results": [sum(RESULT_BITS[r] for r in query.results)]})
    if query.name is not None:
        terms.append({"name": [query.name]})
    if userid is not None:
        terms.append({"userid": [userid]})
    return terms
