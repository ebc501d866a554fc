"""Jobs: submit, list, inspect, cancel, signal."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from sidecar.api.deps import (
    AuthRequired,
    BackendDep,
    JobIdDep,
    SubmitServicesDep,
)
from sidecar.api.idempotency import IDEMPOTENCY_KEY
from sidecar.errors import InvalidRequest, ShuttingDown
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
from sidecar.patterns import CURSOR, NO_NUL, comma_list, full

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
    services: SubmitServicesDep,
    idempotency_key: Annotated[
        str | None,
        # Documented, checked by the store: a malformed key is a 400, as a reused one is.
        Header(
            description="1-255 printable ASCII characters",
            json_schema_extra={"pattern": IDEMPOTENCY_KEY},
        ),
    ] = None,
) -> Response:
    """Submit a job: a command with its shape, or a complete jobspec."""
    backend, store, metrics = services.backend, services.idempotency, services.metrics
    if services.lifecycle.shutting_down:
        raise ShuttingDown()
    headers = {}
    if idempotency_key is None:
        job = await backend.submit(body)
        metrics.jobs_submitted.inc()
    else:
        fingerprint = store.fingerprint(body.model_dump_json())
        job, replayed = await store.submit_once(
            idempotency_key, fingerprint, lambda: backend.submit(body)
        )
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        else:
            metrics.jobs_submitted.inc()
    headers["Location"] = f"/api/v1/jobs/{job.id_dec}"  # headers are latin-1: no ƒ
    # Serialized once: returning the model would have FastAPI validate it against
    # response_model again and encode it twice, on every submission.
    return Response(job.model_dump_json(), 201, headers, media_type="application/json")


_STATES = comma_list([s.value for s in JobState], ignore_case=True, empty=True)
_RESULTS = comma_list([r.value for r in JobResult], ignore_case=True, empty=True)


def _parse_filter(values: list[str] | None, kind: type[JobState] | type[JobResult]) -> set[str]:
    pattern = _STATES if kind is JobState else _RESULTS
    for value in values or []:
        if not full(pattern, value):
            known = ", ".join(member.value for member in kind)
            raise InvalidRequest(
                f"unknown {kind.__name__.removeprefix('Job').lower()} {value[:64]!r}: "
                f"a comma-separated list of {known}"
            )
    return {v.upper() for value in values or [] for v in value.split(",") if v}


def _items(pattern: str) -> dict[str, Any]:
    # Documented only: the filters answer 400 with the known names, as they always have.
    return {"items": {"type": "string", "pattern": pattern}}


@router.get(
    "/jobs", response_model=JobPage, responses={400: {"description": "bad filter or cursor"}}
)
async def list_jobs(
    backend: BackendDep,
    state: Annotated[
        list[str] | None,
        Query(description="e.g. RUN or RUN,SCHED", json_schema_extra=_items(_STATES)),
    ] = None,
    result: Annotated[
        list[str] | None, Query(description="e.g. FAILED", json_schema_extra=_items(_RESULTS))
    ] = None,
    name: Annotated[str | None, Query(max_length=256, pattern=NO_NUL)] = None,
    user: Annotated[str | None, Query(max_length=256, pattern=NO_NUL)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[
        str | None,
        # Documented, checked by the backend: any cursor it did not issue is a 400.
        Query(description="the 'next' of a previous page", json_schema_extra={"pattern": CURSOR}),
    ] = None,
) -> JobPage:
    """List jobs, newest first, one page at a time (follow ``next``)."""
    query = JobQuery(
        states=frozenset(JobState(s) for s in _parse_filter(state, JobState)),
        results=frozenset(JobResult(r) for r in _parse_filter(result, JobResult)),
        name=name,
        user=user,
        limit=limit,
        cursor=cursor or None,  # an empty cursor is the first page, as no cursor is
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


@router.post(
    "/jobs/{job_id}/signal",
    status_code=202,
    response_model=Accepted,
    responses=_ERRORS,
)
async def signal_job(jobid: JobIdDep, body: SignalRequest, backend: BackendDep) -> Accepted:
    """Send a signal to the tasks of a running job."""
    await backend.signal(jobid, body.signal)
    return Accepted(id=encode_f58(jobid), detail=f"signal {body.signal} sent")
