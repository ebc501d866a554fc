"""Jobs: submit, list, inspect, cancel, signal."""

from __future__ import annotations

import signal as signals
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from sidecar.api.deps import (
    AuthRequired,
    BackendDep,
    IdempotencyDep,
    JobIdDep,
    LifecycleDep,
    MetricsDep,
)
from sidecar.errors import InvalidRequest, InvalidSignal, ShuttingDown
from sidecar.jobid import encode_f58
from sidecar.models import (
    Accepted,
    CancelRequest,
    Job,
    JobPage,
    JobQuery,
    JobRequest,
    JobResult,
    JobState,
    SignalRequest,
)

router = APIRouter(prefix="/api/v1", tags=["jobs"], dependencies=[AuthRequired])

_ERRORS: dict[int | str, dict[str, str]] = {
    400: {"description": "malformed job id"},
    404: {"description": "no such job"},
    409: {"description": "the job is no longer active"},
}


@router.post(
    "/jobs",
    status_code=201,
    response_model=Job,
    responses={
        400: {"description": "bad Idempotency-Key"},
        413: {"description": "body too large"},
        503: {"description": "broker unavailable or shutting down"},
    },
)
async def submit_job(
    body: JobRequest,
    response: Response,
    backend: BackendDep,
    lifecycle: LifecycleDep,
    store: IdempotencyDep,
    metrics: MetricsDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Job:
    """Submit a job: a command with its shape, or a complete jobspec."""
    if lifecycle.shutting_down:
        raise ShuttingDown()
    if idempotency_key is None:
        job = await backend.submit(body)
        metrics.jobs_submitted.inc()
    else:
        fingerprint = store.fingerprint(body.model_dump_json())
        job, replayed = await store.submit_once(
            idempotency_key, fingerprint, lambda: backend.submit(body)
        )
        if replayed:
            response.headers["Idempotent-Replayed"] = "true"
        else:
            metrics.jobs_submitted.inc()
    response.headers["Location"] = f"/api/v1/jobs/{job.id_dec}"  # headers are latin-1: no ƒ
    return job


def _parse_filter(values: list[str] | None, kind: type[JobState] | type[JobResult]) -> set[str]:
    wanted = {v.strip().upper() for value in values or [] for v in value.split(",") if v.strip()}
    known = {member.value for member in kind}
    unknown = wanted - known
    if unknown:
        raise InvalidRequest(
            f"unknown {kind.__name__.removeprefix('Job').lower()} {sorted(unknown)[0]!r}: "
            f"one of {', '.join(sorted(known))}"
        )
    return wanted


@router.get(
    "/jobs", response_model=JobPage, responses={400: {"description": "bad filter or cursor"}}
)
async def list_jobs(
    backend: BackendDep,
    state: Annotated[list[str] | None, Query(description="e.g. RUN or RUN,SCHED")] = None,
    result: Annotated[list[str] | None, Query(description="e.g. FAILED")] = None,
    name: Annotated[str | None, Query(max_length=256)] = None,
    user: Annotated[str | None, Query(max_length=256)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> JobPage:
    """List jobs, newest first, one page at a time (follow ``next``)."""
    query = JobQuery(
        states=frozenset(JobState(s) for s in _parse_filter(state, JobState)),
        results=frozenset(JobResult(r) for r in _parse_filter(result, JobResult)),
        name=name,
        user=user,
        limit=limit,
        cursor=cursor,
    )
    return await backend.list_jobs(query)


@router.get("/jobs/{job_id}", response_model=Job, responses=_ERRORS)
async def get_job(jobid: JobIdDep, backend: BackendDep) -> Job:
    """One job by id (f58, decimal, hex or dothex)."""
    return await backend.get_job(jobid)


@router.post("/jobs/{job_id}/cancel", status_code=202, response_model=Accepted, responses=_ERRORS)
async def cancel_job(
    jobid: JobIdDep, backend: BackendDep, body: CancelRequest | None = None
) -> Accepted:
    """Cancel an active job, with an optional reason."""
    await backend.cancel(jobid, body.reason if body else None)
    return Accepted(id=encode_f58(jobid), detail="cancel requested")


def parse_signal(value: int | str) -> int:
    """A signal number from a number, ``SIGUSR1`` or ``USR1``."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    elif isinstance(value, str):
        name = value.strip().upper()
        name = name if name.startswith("SIG") else f"SIG{name}"
        try:
            return int(signals.Signals[name])
        except KeyError:
            raise InvalidSignal(value) from None
    else:
        raise InvalidSignal(str(value))
    if number not in {int(s) for s in signals.valid_signals()} or number == 0:
        raise InvalidSignal(str(value))
    return number


@router.post(
    "/jobs/{job_id}/signal",
    status_code=202,
    response_model=Accepted,
    responses={**_ERRORS, 422: {"description": "not a signal"}},
)
async def signal_job(jobid: JobIdDep, body: SignalRequest, backend: BackendDep) -> Accepted:
    """Send a signal to the tasks of a running job."""
    signum = parse_signal(body.signal)
    await backend.signal(jobid, signum)
    return Accepted(id=encode_f58(jobid), detail=f"signal {signum} sent")
