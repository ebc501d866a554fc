"""Probes and instance information."""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sidecar import __version__
from sidecar.api.deps import AuthRequired, BackendDep, LifecycleDep, SettingsDep
from sidecar.models import Health, Info

logger = logging.getLogger(__name__)

probes = APIRouter(tags=["probes"])
router = APIRouter(prefix="/api/v1", tags=["system"], dependencies=[AuthRequired])


@probes.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is alive (no auth)."""
    return Health(status="ok")


@probes.get(
    "/readyz",
    response_model=Health,
    responses={503: {"model": Health, "description": "not ready"}},
)
async def readyz(backend: BackendDep, lifecycle: LifecycleDep) -> JSONResponse:
    """Ready when the backend answers and the sidecar is not shutting down (no auth)."""
    if lifecycle.shutting_down:
        return _not_ready("shutting down")
    try:
        ready = await backend.ready()
    except Exception as exc:
        logger.debug("readiness check failed: %s", exc)
        ready = False
    if not ready:
        return _not_ready(f"the {backend.kind} backend is not reachable")
    return JSONResponse(Health(status="ready").model_dump())


def _not_ready(detail: str) -> JSONResponse:
    return JSONResponse(Health(status="not ready", detail=detail).model_dump(), status_code=503)


@router.get("/info", response_model=Info)
async def info(backend: BackendDep, settings: SettingsDep, lifecycle: LifecycleDep) -> Info:
    """Versions, backend kind, instance size and uptime."""
    return Info(
        version=__version__,
        backend=await backend.info(),
        uptime=round(time.monotonic() - lifecycle.started, 3),
        auth=settings.auth,
        idle_shutdown=lifecycle.idle.status(),
    )
