"""Jobs as Flux's job-list reports them, Flux errors as domain errors, and the list cursor.

Newest first means most recently submitted first, ordered by ``(t_submit,
id)`` (the local backend's order: Flux ids are time-ordered, and t_submit
follows them). job-list cannot sort that way: it returns pending jobs by
priority, then running jobs by start time, then inactive jobs by end time, and
stops at ``max_entries``. So a page asks for a window of submit times
(``t_submit`` constraints, pushed down with the filters) and narrows or widens
it until the window holds between ``limit + 1`` and a bounded number of jobs;
those are sorted here. ``since`` lets job-list stop early in its inactive list
(a job ends after it is submitted). No page ever fetches every job.

The cursor holds the ``(t_submit, id)`` of a page's last job; the next page
holds the jobs submitted before it. New jobs always sort before the first
page, so paging while jobs arrive neither repeats nor skips one.
"""

from __future__ import annotations

import base64
import binascii
import errno
import json
import math
import os
import pwd
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from sidecar.errors import (
    BackendTimeout,
    BrokerUnavailable,
    Conflict,
    InvalidCursor,
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
_CURSOR_PREFIX = "flux:"
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


def job_from_record(record: dict[str, Any]) -> Job:
    """A job-list record (``ATTRS``) as the API's job.

    ``gpus`` is 0: job-list does not report GPUs; ``nodes`` is 0 while a job
    that asked for no node count waits for its allocation.
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
        nodelist=str(record.get("nodelist", "")),
        queue=record.get("queue") or None,
        urgency=int(record.get("urgency", 16)),
        t_submit=float(record.get("t_submit", 0.0)),
        t_run=record.get("t_run") or None,
        t_cleanup=record.get("t_cleanup") or None,
        t_inactive=record.get("t_inactive") or None,
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


def encode_cursor(record: dict[str, Any]) -> str:
    text = f"{_CURSOR_PREFIX}{float(record['t_submit'])!r}:{int(record['id'])}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(_CURSOR_PREFIX):
            raise ValueError(text)
        t_submit, jobid = text[len(_CURSOR_PREFIX) :].split(":")
        bound = (float(t_submit), int(jobid))
        if not math.isfinite(bound[0]) or bound[0] < 0 or bound[1] < 0:
            raise ValueError(text)
        return bound
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor() from None


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


Fetch = Callable[[dict[str, Any], float, int], Awaitable[list[dict[str, Any]]]]

GROW = 8.0
RESOLUTION = 1e-6
MAX_PROBES = 40
SINCE_MARGIN = 1.0


def _key(record: dict[str, Any]) -> tuple[float, int]:
    return float(record.get("t_submit", 0.0)), int(record["id"])


def _newest(
    records: list[dict[str, Any]], cursor: tuple[float, int] | None
) -> list[dict[str, Any]]:
    before = (r for r in records if cursor is None or _key(r) < cursor)
    return sorted(before, key=_key, reverse=True)


async def newest_first(
    fetch: Fetch,
    terms: list[dict[str, Any]],
    cursor: tuple[float, int] | None,
    limit: int,
    hint: float,
) -> tuple[list[dict[str, Any]], bool, float]:
    """The page's records newest first, whether more follow, and the window width used.

    The first probe has no lower bound: when fewer than a bounded number of
    jobs match, that is the answer. Otherwise the window of submit times
    starts at ``hint`` seconds (pass back the width returned last time: jobs
    tend to arrive at a steady rate) and is narrowed or widened
    geometrically until it holds between ``limit + 1`` and ``cap`` jobs.
    """
    wanted, cap = limit + 1, 2 * (limit + 1) + 100
    ref = cursor[0] if cursor is not None else time.time()
    upper = [{"t_submit": [f"<={cursor[0]!r}"]}] if cursor is not None else []
    few, full, width = 0.0, ref, ref
    for probe in range(MAX_PROBES):
        bounded = width < ref
        records = await fetch(_window(terms, upper, ref, width), _since(ref, width), cap)
        page = _newest(records, cursor)
        if len(records) < cap and (len(page) >= wanted or not bounded):
            return page[:limit], len(page) > limit, width
        if len(records) < cap:
            few = width
        else:
            full = min(width, ref)
        if full - few < RESOLUTION:
            break
        if probe == 0 and hint < full:
            width = hint
        elif few == 0.0:
            width = full / GROW
        else:
            width = math.sqrt(few * full)
    # Only ties on t_submit are left: take the whole (tiny) window.
    records = await fetch(_window(terms, upper, ref, full), _since(ref, full), 0)
    page = _newest(records, cursor)
    return page[:limit], len(page) > limit, full


def _window(
    terms: list[dict[str, Any]], upper: list[dict[str, Any]], ref: float, width: float
) -> dict[str, Any]:
    lower = [{"t_submit": [f">={ref - width!r}"]}] if width < ref else []
    return {"and": [*terms, *upper, *lower]}


def _since(ref: float, width: float) -> float:
    """job-list's ``since``: no job submitted in the window ended before it."""
    return max(0.0, ref - width - SINCE_MARGIN) if width < ref else 0.0


def hint_key(terms: list[dict[str, Any]]) -> str:
    return json.dumps(terms, sort_keys=True)
