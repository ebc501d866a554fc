"""Job output: whole, or followed while the job runs; plain text or JSON Lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from sidecar.api.deps import AuthRequired, BackendDep, JobIdDep, LifecycleDep
from sidecar.api.streaming import until_stopped
from sidecar.backends.base import Stream
from sidecar.errors import InvalidRequest
from sidecar.models import OutputLine
from sidecar.patterns import comma_list, full

router = APIRouter(prefix="/api/v1", tags=["output"], dependencies=[AuthRequired])

JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/json")
_STREAMS: tuple[Stream, ...] = ("stdout", "stderr")


_STREAM_LIST = comma_list(list(_STREAMS))


def _streams(value: str) -> list[Stream]:
    if not full(_STREAM_LIST, value):
        raise InvalidRequest("stream: a comma-separated list of stdout and stderr")
    return [s for s in _STREAMS if s in value.split(",")]


async def _render(lines: AsyncIterator[OutputLine | None], jsonl: bool) -> AsyncIterator[str]:
    async for line in lines:
        if line is not None:
            yield line.model_dump_json() + "\n" if jsonl else line.data


@router.get(
    "/jobs/{job_id}/output",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "text/plain, or JSON Lines of {stream, rank, data} by Accept",
            "content": {"text/plain": {}, "application/x-ndjson": {}},
        },
        400: {"description": "malformed job id or stream"},
        404: {"description": "no such job"},
    },
)
async def job_output(
    jobid: JobIdDep,
    backend: BackendDep,
    lifecycle: LifecycleDep,
    follow: bool = False,
    stream: Annotated[
        str,
        # Documented, checked by _streams: a 400 names the streams there are.
        Query(description="stdout, stderr, or both", json_schema_extra={"pattern": _STREAM_LIST}),
    ] = "stdout,stderr",
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> StreamingResponse:
    """The job's output so far; with ``follow=true``, streamed until the job ends."""
    streams = _streams(stream)
    await backend.get_job(jobid)
    jsonl = any(t in (accept or "") for t in JSONL_TYPES)
    lines = until_stopped(backend.output(jobid, follow=follow, streams=streams), lifecycle.stopping)
    return StreamingResponse(
        _render(lines, jsonl),
        media_type="application/x-ndjson" if jsonl else "text/plain; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
