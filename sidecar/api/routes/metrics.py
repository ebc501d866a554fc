"""Prometheus metrics, open unless ``FLUX_SIDECAR_METRICS_AUTH=true``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response
from prometheus_client.exposition import choose_encoder

from sidecar.api.deps import AuthenticatorDep, BackendDep, LifecycleDep, MetricsDep, SettingsDep


def _auth_if_configured(
    settings: SettingsDep,
    authenticator: AuthenticatorDep,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> None:
    # Scrapers inside the cluster often carry no credentials: the token is opt-in here.
    if settings.metrics_auth:
        authenticator.check(authorization)


router = APIRouter(tags=["metrics"], dependencies=[Depends(_auth_if_configured)])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format, or OpenMetrics when the scraper asks for it",
            "content": {"text/plain": {}, "application/openmetrics-text": {}},
        },
        401: {"description": "missing or wrong token (only with METRICS_AUTH=true)"},
    },
)
async def scrape(
    backend: BackendDep,
    lifecycle: LifecycleDep,
    metrics: MetricsDep,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Prometheus metrics: HTTP, jobs, resources, broker and shutdown state."""
    await metrics.refresh(backend, lifecycle)
    encode, content_type = choose_encoder(accept or "")
    return Response(encode(metrics.registry), media_type=content_type)
