"""The application factory: routers, the lifespan that owns every resource, error handlers."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from sidecar import __version__
from sidecar.api.activity import ActivityMiddleware
from sidecar.api.auth import Authenticator
from sidecar.api.bodylimit import BodyLimitMiddleware
from sidecar.api.errors import install_error_handlers
from sidecar.api.files.store import FileStore
from sidecar.api.idempotency import IdempotencyStore
from sidecar.api.jobcwd import DefaultCwdBackend
from sidecar.api.metrics import install_metrics
from sidecar.api.openapi import document_api, operation_id
from sidecar.api.routes import events, files, jobs, metrics, output, resources, shutdown, system
from sidecar.api.timeouts import TimeoutBackend
from sidecar.backends.base import JobBackend
from sidecar.compat.router import create_router as create_compat_router
from sidecar.config import Settings
from sidecar.idle import IdleWatch
from sidecar.lifecycle import Lifecycle
from sidecar.ui import page as ui

logger = logging.getLogger(__name__)

# FastAPI releases with built-in OpenTelemetry look up the global providers on
# every request; the sidecar exports Prometheus metrics of its own.
_NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)

DESCRIPTION = """\
The Flux job API over REST, from a container beside the lead broker of a
Flux Operator MiniCluster. Authenticate with `Authorization: Bearer <token>`
(or HTTP Basic with the token as password).
"""


def create_app(
    settings: Settings,
    backend: JobBackend,
    registry: CollectorRegistry | None = None,
    *,
    request_exit: Callable[[], None] | None = None,
) -> FastAPI:
    """Build the app; nothing runs until its lifespan starts."""
    file_store = FileStore(settings.files_path, settings.max_upload_bytes)
    backend = DefaultCwdBackend(backend, str(settings.files_path))
    backend = TimeoutBackend(backend, settings.request_timeout_seconds)
    authenticator = Authenticator(settings)
    idle = IdleWatch(settings.idle_shutdown)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        lifecycle = Lifecycle(
            backend,
            request_exit,
            completion_file=settings.completion_path,
            broker_wait_seconds=settings.broker_wait_seconds,
            broker_gone_seconds=settings.broker_gone_seconds,
            idle=idle,
        )
        app.state.lifecycle = lifecycle
        await _prepare_files(file_store)
        await backend.start()
        lifecycle.start_watching()
        logger.info("serving the %s backend", backend.kind)
        if idle.enabled:
            logger.info(
                "idle teardown on: shutting down after %.0fs with no job active and no API call",
                idle.after_seconds,
            )
        try:
            yield
        finally:
            lifecycle.stopping.set()
            await lifecycle.stop_watching()
            await backend.close()

    app = FastAPI(
        title="flux-sidecar",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        **_NO_TELEMETRY,
    )
    app.state.settings = settings
    app.state.backend = backend
    app.state.authenticator = authenticator
    app.state.idempotency = IdempotencyStore()
    app.state.request_exit = request_exit
    app.state.files = file_store
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=settings.max_body_bytes, unbuffered=files.is_upload
    )
    if idle.enabled:
        app.add_middleware(ActivityMiddleware, on_call=idle.touch)
    install_error_handlers(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_api(
                FastAPI.openapi(app), auth=settings.auth, metrics_auth=settings.metrics_auth
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.include_router(system.probes)
    app.include_router(system.router)
    app.include_router(jobs.router)
    app.include_router(output.router)
    app.include_router(events.router)
    app.include_router(resources.router)
    app.include_router(shutdown.router)
    app.include_router(files.router)
    # Further routers (metrics, compatibility, web page) are included below.
    app.include_router(create_compat_router(settings, authenticator))
    install_metrics(app, backend.kind, authenticator, registry)
    app.include_router(metrics.router)
    app.include_router(ui.router)
    return app


async def _prepare_files(file_store: FileStore) -> None:
    """Make a missing files root; without one, the files routes answer 503 and jobs fail."""
    try:
        await anyio.to_thread.run_sync(file_store.ensure_root)
    except OSError as exc:
        logger.warning("files root %s is not available: %s", file_store.root.path, exc)
    else:
        logger.info("files root %s", file_store.root.path)
