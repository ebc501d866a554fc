"""``/v1``: the routes and shapes of upstream flux-restful-api, over the same backend.

Existing users of upstream's ``flux-restful-client`` point it at the sidecar
unchanged (DESIGN section 3, "Upstream compatibility"). Every route is a thin
translation to the backend that ``/api/v1`` uses. Upstream's defects are not
reproduced: a missing job is 404 (not 200 and ``null``), a malformed id is 400
(not 500), and streaming output needs the token like everything else.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sidecar.api.auth import Authenticator
from sidecar.api.deps import BackendDep, JobIdDep, LifecycleDep, MetricsDep
from sidecar.api.errors import error_response, validation_errors
from sidecar.api.streaming import until_stopped
from sidecar.compat.shapes import (
    InvalidSubmit,
    UpstreamAccessToken,
    UpstreamJob,
    UpstreamJobMessage,
    UpstreamJobs,
    UpstreamJobTable,
    UpstreamMessage,
    UpstreamNodes,
    UpstreamOutput,
    UpstreamShutdown,
    UpstreamSubmit,
    describe,
    expand_hostlist,
    query_fields,
    submit_parameters,
    upstream_job,
)
from sidecar.compat.token import AccessTokens
from sidecar.config import Settings
from sidecar.errors import Conflict, JobInactive, ShuttingDown, SidecarError
from sidecar.jobid import encode_f58
from sidecar.models import JobQuery, OutputLine, ShutdownRequest
from sidecar.patterns import NO_NUL

logger = logging.getLogger(__name__)

# Flux's job_list() returns at most 1000 jobs by default; upstream listed one such batch.
LISTING_LIMIT = 1000
_Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_Responses = dict[int | str, dict[str, Any]]
_JOB_ERRORS: _Responses = {
    400: {"description": "malformed job id"},
    404: {"description": "no such job"},
}
_CANCEL_ERRORS: _Responses = {**_JOB_ERRORS, 409: {"description": "the job has ended"}}
_UNAVAILABLE: _Responses = {503: {"description": "broker unavailable or shutting down"}}
_SUBMIT_ERRORS: _Responses = {
    400: {"description": "refused; upstream's Message and Errors say why"},
    413: {"description": "body too large"},
    **_UNAVAILABLE,
}
_SHUTDOWN_CONFLICT: _Responses = {409: {"description": "a shutdown in another mode is under way"}}
_REFUSED: _Responses = {
    401: {"description": "missing or refused credentials"},
    429: {"description": "the same refused JWT again at once: fix the secret key or token"},
}


def _answer(model: Any, description: str) -> _Responses:
    """A 200 documented by ``model``; the route's dict goes out unvalidated (no response model)."""
    return {200: {"model": model, "description": description}}


class UpstreamRoute(APIRoute):
    """Error bodies on ``/v1`` also carry upstream's ``Message`` (and ``Errors``)."""

    def get_route_handler(self) -> _Handler:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SidecarError as exc:
                if exc.status_code >= 500:
                    logger.warning("%s %s: %s", request.method, request.url.path, exc.detail)
                extra: dict[str, Any] = {"Message": exc.detail}
                if isinstance(exc, InvalidSubmit):
                    extra.update(Message="Invalid submit request", Errors=exc.errors)
                return error_response(exc.status_code, exc.detail, exc.headers, **extra)
            except RequestValidationError as exc:
                errors = validation_errors(exc)
                detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
                return error_response(422, detail, errors=errors, Message=detail)

        return route


async def _submit_fields(request: Request) -> dict[str, Any]:
    """Query fields, overlaid by a JSON body: upstream's client sends the query first,
    and after a 401 retries the same call with the fields as a JSON body."""
    fields = query_fields(request.query_params)
    body = await request.body()
    if body.strip():
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            raise InvalidSubmit(["body: not valid JSON"]) from None
        if not isinstance(parsed, dict):
            raise InvalidSubmit(["body: expected a JSON object"])
        # Upstream's server took a bare JSON object as the job's environment.
        fields.update(parsed if "command" in parsed else {"envars": parsed})
    return fields


async def submit(
    request: Request, backend: BackendDep, lifecycle: LifecycleDep, metrics: MetricsDep
) -> dict[str, Any]:
    """Submit a job from upstream's fields (query parameters, or a JSON body)."""
    # The query is documented from SUBMIT_QUERY (submit_parameters); the fields are read
    # here, with the JSON body that upstream's client sends when it retries after a 401.
    fields = await _submit_fields(request)
    if "command" not in fields:
        raise InvalidSubmit(["command: a 'command' is minimally required"])
    try:
        job_request = UpstreamSubmit.model_validate(fields).to_request()
    except ValidationError as exc:
        raise InvalidSubmit(describe(exc)) from None
    if lifecycle.shutting_down:
        raise ShuttingDown()
    job = await backend.submit(job_request)
    metrics.jobs_submitted.inc()
    return {"Message": "Job submit.", "id": int(job.id_dec)}


async def not_allowed() -> None:
    raise StarletteHTTPException(405, "Method Not Allowed")


async def list_jobs(
    backend: BackendDep,
    details: bool = False,
    detail: Annotated[bool, Query(description="upstream's client spells 'details' so")] = False,
    listing: bool = False,
    limit: Annotated[int | None, Query(ge=1, le=LISTING_LIMIT)] = None,
) -> Any:
    """Jobs, newest first: ``{"jobs": [...]}``, or with ``details`` by id (``listing``: a list)."""
    page = await backend.list_jobs(JobQuery(limit=limit or LISTING_LIMIT))
    now = time.time()
    jobs = [upstream_job(job, now) for job in page.jobs]
    if not (details or detail):
        return {"jobs": jobs}
    return jobs if listing else {str(job["id"]): job for job in jobs}


async def search_jobs(
    backend: BackendDep,
    query: Annotated[str | None, Query(max_length=256, pattern=NO_NUL)] = None,
    search: Annotated[str | None, Query(max_length=256, pattern=NO_NUL)] = None,
    search_value: Annotated[
        str | None, Query(alias="search[value]", max_length=256, pattern=NO_NUL)
    ] = None,
    start: Annotated[int | None, Query(ge=0)] = None,
    length: Annotated[int | None, Query(ge=0)] = None,
    draw: Annotated[str | None, Query(max_length=32, pattern=NO_NUL)] = None,
) -> dict[str, Any]:
    """Jobs for upstream's data table; ``query`` matches as a substring, not a regex."""
    page = await backend.list_jobs(JobQuery(limit=LISTING_LIMIT))
    now = time.time()
    jobs = [upstream_job(job, now) for job in page.jobs]
    total = len(jobs)
    needle = (query or search_value or search or "").lower()
    if needle:
        jobs = [j for j in jobs if needle in " ".join(str(v) for v in j.values()).lower()]
    jobs = jobs[start or 0 :]
    if length is not None:
        jobs = jobs[:length]
    return {"data": jobs, "draw": draw or 1, "recordsTotal": total, "recordsFiltered": len(jobs)}


async def get_job(jobid: JobIdDep, backend: BackendDep) -> dict[str, Any]:
    """One job, in upstream's shape; 404 when there is none."""
    return upstream_job(await backend.get_job(jobid), time.time())


async def job_output(jobid: JobIdDep, backend: BackendDep) -> dict[str, Any]:
    """The output so far as ``{"Output": [lines]}``, or a ``Message`` while there is none."""
    await backend.get_job(jobid)
    lines = [
        line.data
        async for line in backend.output(jobid, follow=False, streams=("stdout", "stderr"))
    ]
    if not lines:
        return {"Message": "The output does not exist yet."}
    return {"Output": lines}


async def _texts(lines: AsyncIterator[OutputLine | None]) -> AsyncIterator[str]:
    async for line in lines:
        if line is not None:
            yield line.data


async def stream_output(
    jobid: JobIdDep, backend: BackendDep, lifecycle: LifecycleDep
) -> StreamingResponse:
    """The output as plain text, followed until the job ends."""
    await backend.get_job(jobid)
    lines = backend.output(jobid, follow=True, streams=("stdout", "stderr"))
    return StreamingResponse(
        _texts(until_stopped(lines, lifecycle.stopping)),
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def cancel_job(jobid: JobIdDep, backend: BackendDep) -> dict[str, Any]:
    """Cancel an active job; 409 (with upstream's wording) when it has ended."""
    try:
        await backend.cancel(jobid)
    except JobInactive:
        raise Conflict(
            f"Job cannot be cancelled: {encode_f58(jobid)} is no longer active."
        ) from None
    return {"Message": "Job is requested to cancel.", "id": jobid}


async def list_nodes(backend: BackendDep) -> dict[str, list[str]]:
    """The nodes that are up."""
    resources = await backend.resources()
    return {"nodes": sorted(set(expand_hostlist(resources.nodelist.get("up", ""))))}


async def stop_service(lifecycle: LifecycleDep) -> dict[str, Any]:
    """Upstream's ``flux shutdown``: the sidecar's shutdown, cancelling active jobs."""
    request = ShutdownRequest(mode="cancel")
    status = lifecycle.begin_shutdown(
        request.mode, request.timeout_seconds, stop_broker=True, reason="api"
    )
    return {"Message": "Shutdown started.", **status.model_dump(mode="json")}


def _operation_id(route: APIRoute) -> str:
    return f"upstream_{route.name}"  # the native API has the plain names


def create_router(settings: Settings, authenticator: Authenticator) -> APIRouter:
    """The ``/v1`` router; its auth also accepts the access tokens of ``/v1/token``."""
    tokens = AccessTokens(settings, authenticator)

    def require_auth(
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> None:
        tokens.check(authorization)

    async def token(
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> dict[str, str]:
        """Exchange a JWT of ``{user, pass, scope: "token"}`` for an access token."""
        return tokens.exchange(authorization)

    router = APIRouter(
        prefix="/v1",
        tags=["upstream (v1)"],
        route_class=UpstreamRoute,
        generate_unique_id_function=_operation_id,
    )
    router.add_api_route(
        "/token",
        token,
        methods=["POST"],
        response_model=None,
        responses={**_answer(UpstreamAccessToken, "an access token for /v1"), **_REFUSED},
    )
    protected = APIRouter(
        dependencies=[Depends(require_auth)],
        route_class=UpstreamRoute,
        generate_unique_id_function=_operation_id,
    )
    add = partial(protected.add_api_route, response_model=None)
    add(
        "/jobs/submit",
        submit,
        methods=["POST"],
        responses={**_answer(UpstreamJobMessage, "the job was submitted"), **_SUBMIT_ERRORS},
        openapi_extra={"parameters": submit_parameters()},
    )
    # Else GET /v1/jobs/submit would reach /v1/jobs/{job_id} and answer "no such id".
    add("/jobs/submit", not_allowed, methods=["GET"], include_in_schema=False)
    add(
        "/jobs",
        list_jobs,
        methods=["GET"],
        responses=_answer(UpstreamJobs, "{jobs: [...]}; with details by id, or a list"),
    )
    add(
        "/jobs/search",
        search_jobs,
        methods=["GET"],
        responses=_answer(UpstreamJobTable, "the matching jobs"),
    )
    add(
        "/jobs/{job_id}",
        get_job,
        methods=["GET"],
        responses={**_answer(UpstreamJob, "the job"), **_JOB_ERRORS},
    )
    add(
        "/jobs/{job_id}/output",
        job_output,
        methods=["GET"],
        responses={
            **_answer(UpstreamOutput | UpstreamMessage, "the output, or a Message if none yet"),
            **_JOB_ERRORS,
        },
    )
    add(
        "/jobs/{job_id}/output/stream",
        stream_output,
        methods=["GET"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/plain": {}}}, **_JOB_ERRORS},
    )
    add(
        "/jobs/{job_id}/cancel",
        cancel_job,
        methods=["POST"],
        responses={**_answer(UpstreamJobMessage, "cancelling"), **_CANCEL_ERRORS},
    )
    add(
        "/nodes",
        list_nodes,
        methods=["GET"],
        responses={**_answer(UpstreamNodes, "the nodes that are up"), **_UNAVAILABLE},
    )
    add(
        "/service/stop",
        stop_service,
        methods=["POST"],
        responses={**_answer(UpstreamShutdown, "the shutdown started"), **_SHUTDOWN_CONFLICT},
    )
    router.include_router(protected)
    return router
