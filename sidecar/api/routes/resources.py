"""Resources of the instance."""

from __future__ import annotations

from fastapi import APIRouter

from sidecar.api.deps import AuthRequired, BackendDep
from sidecar.models import Resources

router = APIRouter(prefix="/api/v1", tags=["resources"], dependencies=[AuthRequired])


@router.get("/resources", response_model=Resources, responses={503: {"description": "broker down"}})
async def resources(backend: BackendDep) -> Resources:
    """Nodes, cores and GPUs: total, up, down, allocated and free, with node lists."""
    return await backend.resources()
