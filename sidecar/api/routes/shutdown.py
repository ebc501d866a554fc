"""Shutdown: stop the broker so the lead pod completes and the operator cleans up."""

from __future__ import annotations

from fastapi import APIRouter

from sidecar.api.deps import AuthRequired, LifecycleDep
from sidecar.models import ShutdownRequest, ShutdownStatus

router = APIRouter(prefix="/api/v1", tags=["shutdown"], dependencies=[AuthRequired])


@router.post(
    "/shutdown",
    status_code=202,
    response_model=ShutdownStatus,
    responses={409: {"description": "a shutdown in another mode is already in progress"}},
)
async def shut_down(lifecycle: LifecycleDep, body: ShutdownRequest | None = None) -> ShutdownStatus:
    """Start shutting down (once): no new jobs, handle active ones, stop the broker, exit 0."""
    request = body or ShutdownRequest()
    return lifecycle.begin_shutdown(
        request.mode, request.timeout_seconds, stop_broker=True, reason="api"
    )


@router.get("/shutdown", response_model=ShutdownStatus)
async def shutdown_status(lifecycle: LifecycleDep) -> ShutdownStatus:
    """Shutdown progress: phase, mode, and how many jobs are still active."""
    return await lifecycle.refresh_status()
