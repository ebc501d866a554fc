"""Server-Sent Events: one job's eventlog, and state changes of all jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from sidecar.api.deps import AuthRequired, BackendDep, JobIdDep, LifecycleDep
from sidecar.api.streaming import SSE_HEADERS, sse_message, sse_stream
from sidecar.models import JobEvent
from sidecar.patterns import EVENT_ID

router = APIRouter(prefix="/api/v1", tags=["events"], dependencies=[AuthRequired])

_SSE = {"description": "a text/event-stream", "content": {"text/event-stream": {}}}


async def _numbered(events: AsyncIterator[JobEvent]) -> AsyncIterator[tuple[int, JobEvent]]:
    index = 0
    async for event in events:
        index += 1
        yield index, event


@router.get(
    "/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={
        200: _SSE,
        400: {"description": "malformed job id"},
        404: {"description": "no such job"},
    },
)
async def job_events(
    jobid: JobIdDep, backend: BackendDep, lifecycle: LifecycleDep
) -> StreamingResponse:
    """The job's eventlog as SSE: history, then live, ending after ``clean``."""
    await backend.get_job(jobid)
    body = sse_stream(
        _numbered(backend.job_events(jobid)),
        lifecycle.stopping,
        lambda item: sse_message(item[1], str(item[0])),
    )
    return StreamingResponse(body, media_type="text/event-stream", headers=SSE_HEADERS)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: _SSE},
)
async def all_events(
    backend: BackendDep,
    lifecycle: LifecycleDep,
    last_event_id: Annotated[
        str | None, Header(pattern=EVENT_ID, examples=["3f9a61c2-42-1733150000.25"])
    ] = None,
    after: Annotated[
        str | None,
        Query(pattern=EVENT_ID, description="as Last-Event-ID, for clients without headers"),
    ] = None,
) -> StreamingResponse:
    """State changes of all jobs as SSE; resume with ``Last-Event-ID``; keep-alive every 15 s."""
    changes = backend.events(last_event_id or after)
    body = sse_stream(changes, lifecycle.stopping, lambda c: sse_message(c, c.event_id))
    return StreamingResponse(body, media_type="text/event-stream", headers=SSE_HEADERS)
