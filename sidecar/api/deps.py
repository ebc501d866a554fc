"""Every dependency the routes take, named once.

They are coroutines: FastAPI runs a plain ``def`` dependency in its thread
pool, a round trip per dependency per request that costs more than the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request

from sidecar.api.auth import Authenticator
from sidecar.api.files.store import FileStore
from sidecar.api.idempotency import IdempotencyStore
from sidecar.api.metrics import SidecarMetrics
from sidecar.backends.base import JobBackend
from sidecar.config import Settings
from sidecar.jobid import JOBID_PATTERN, parse_jobid
from sidecar.lifecycle import Lifecycle


async def _backend(request: Request) -> JobBackend:
    backend: JobBackend = request.app.state.backend
    return backend


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _lifecycle(request: Request) -> Lifecycle:
    lifecycle: Lifecycle = request.app.state.lifecycle
    return lifecycle


async def _idempotency(request: Request) -> IdempotencyStore:
    store: IdempotencyStore = request.app.state.idempotency
    return store


async def _metrics(request: Request) -> SidecarMetrics:
    metrics: SidecarMetrics = request.app.state.metrics
    return metrics


async def _files(request: Request) -> FileStore:
    files: FileStore = request.app.state.files
    return files


async def _authenticator(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


async def require_auth(request: Request) -> None:
    """The token check, attached to every protected router.

    It reads the header itself rather than taking the authenticator and the
    header as dependencies of its own: FastAPI solves each dependency on every
    request, and this one runs on every request there is.
    """
    authenticator: Authenticator = request.app.state.authenticator
    authenticator.check(request.headers.get("authorization"))


@dataclass(frozen=True)
class SubmitServices:
    """What a submission needs, as one dependency (the submission is the hot path)."""

    backend: JobBackend
    lifecycle: Lifecycle
    idempotency: IdempotencyStore
    metrics: SidecarMetrics


async def _submit_services(request: Request) -> SubmitServices:
    state = request.app.state
    return SubmitServices(state.backend, state.lifecycle, state.idempotency, state.metrics)


async def _jobid(
    job_id: Annotated[
        str,
        # Documented, not checked here: parse_jobid refuses with 400, as the API promises.
        Path(
            description="f58, decimal, 0x hex or dothex",
            json_schema_extra={"pattern": JOBID_PATTERN},
        ),
    ],
) -> int:
    return parse_jobid(job_id)


BackendDep = Annotated[JobBackend, Depends(_backend)]
SettingsDep = Annotated[Settings, Depends(_settings)]
LifecycleDep = Annotated[Lifecycle, Depends(_lifecycle)]
IdempotencyDep = Annotated[IdempotencyStore, Depends(_idempotency)]
AuthenticatorDep = Annotated[Authenticator, Depends(_authenticator)]
MetricsDep = Annotated[SidecarMetrics, Depends(_metrics)]
JobIdDep = Annotated[int, Depends(_jobid)]
FilesDep = Annotated[FileStore, Depends(_files)]
SubmitServicesDep = Annotated[SubmitServices, Depends(_submit_services)]
AuthRequired = Depends(require_auth)
