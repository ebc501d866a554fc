"""Every dependency the routes take, named once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from sidecar.auth import Authenticator
from sidecar.backends.base import JobBackend
from sidecar.config import Settings
from sidecar.idempotency import IdempotencyStore
from sidecar.jobid import parse_jobid
from sidecar.lifecycle import Lifecycle
from sidecar.metrics import SidecarMetrics


def _backend(request: Request) -> JobBackend:
    backend: JobBackend = request.app.state.backend
    return backend


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _lifecycle(request: Request) -> Lifecycle:
    lifecycle: Lifecycle = request.app.state.lifecycle
    return lifecycle


def _idempotency(request: Request) -> IdempotencyStore:
    store: IdempotencyStore = request.app.state.idempotency
    return store


def _metrics(request: Request) -> SidecarMetrics:
    metrics: SidecarMetrics = request.app.state.metrics
    return metrics


def _authenticator(request: Request) -> Authenticator:
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


def require_auth(
    authenticator: Annotated[Authenticator, Depends(_authenticator)],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    """The token check, attached to every protected router."""
    authenticator.check(authorization)


def _jobid(job_id: str) -> int:
    return parse_jobid(job_id)


BackendDep = Annotated[JobBackend, Depends(_backend)]
SettingsDep = Annotated[Settings, Depends(_settings)]
LifecycleDep = Annotated[Lifecycle, Depends(_lifecycle)]
IdempotencyDep = Annotated[IdempotencyStore, Depends(_idempotency)]
AuthenticatorDep = Annotated[Authenticator, Depends(_authenticator)]
MetricsDep = Annotated[SidecarMetrics, Depends(_metrics)]
JobIdDep = Annotated[int, Depends(_jobid)]
AuthRequired = Depends(require_auth)
