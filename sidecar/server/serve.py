"""``flux-sidecar serve``: settings -> backend -> app -> uvicorn, one exit path."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from types import FrameType

import uvicorn
from fastapi import FastAPI

from sidecar.api.auth import Authenticator
from sidecar.backends.base import JobBackend
from sidecar.config import Settings
from sidecar.server.app import create_app

logger = logging.getLogger("sidecar")

# Streams end on their own when shutdown starts; this bounds what remains.
GRACEFUL_SHUTDOWN_SECONDS = 10


def make_backend(settings: Settings) -> JobBackend:
    if settings.backend == "local":
        from sidecar.backends.local.backend import LocalBackend

        return LocalBackend(cores=settings.local_cores)
    from sidecar.backends.flux.backend import FluxBackend

    return FluxBackend(settings)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def check_auth(settings: Settings) -> str | None:
    """Why the server must not start, or None."""
    if not settings.auth:
        logger.warning(
            "AUTHENTICATION IS DISABLED: anyone who can reach %s:%s can run and cancel jobs",
            settings.host,
            settings.port,
        )
        return None
    source = Authenticator(settings).source
    if source.current() is None:
        return (
            f"no token: set FLUX_SIDECAR_TOKEN, or put one in {settings.token_file} "
            "(FLUX_SIDECAR_TOKEN_FILE), or run with --no-auth to disable authentication"
        )
    logger.info("token from %s", source.origin)
    return None


class SidecarServer(uvicorn.Server):
    """uvicorn, with SIGTERM and SIGINT taking the sidecar's shutdown path.

    uvicorn re-raises a captured signal after its graceful exit, so the
    process would die of SIGTERM; Kubernetes counts that as a failure, while
    a pod must complete. The signal starts the same sequence as the API
    (streams close, then ``should_exit``) minus stopping the broker, and the
    process exits 0.
    """

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app
        self._loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
            return
        lifecycle = getattr(self._app.state, "lifecycle", None)
        if lifecycle is None or self._loop is None:
            self.should_exit = True
            return
        logger.info("received %s", signal.Signals(sig).name)
        self._loop.call_soon_threadsafe(lifecycle.on_signal)


def not_the_lead_pod() -> str | None:
    """The completion index of a MiniCluster pod that is not the lead broker's, if any."""
    index = os.environ.get("JOB_COMPLETION_INDEX", "").strip()
    return index if index not in ("", "0") else None


def serve(settings: Settings) -> int:
    configure_logging(settings.log_level)
    index = not_the_lead_pod()
    if index is not None:
        # The sidecar runs in every MiniCluster pod; only the lead broker's serves.
        logger.info("JOB_COMPLETION_INDEX=%s is not the lead broker pod: nothing to serve", index)
        return 0
    problem = check_auth(settings)
    if problem is not None:
        logger.error("refusing to start: %s", problem)
        return 2
    server: SidecarServer | None = None

    def request_exit() -> None:
        if server is not None:
            server.should_exit = True

    app = create_app(settings, make_backend(settings), request_exit=request_exit)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        lifespan="on",
        server_header=False,
        # The operator gives every MiniCluster container a TTY: colour codes
        # would end up in the pod's log.
        use_colors=False,
        # Clients reach the sidecar through a Service or kubectl port-forward, whose
        # connections come from 127.0.0.1: trusting X-Forwarded-For from there
        # would let any client write its own address into the log.
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    server = SidecarServer(config, app)
    server.run()
    return 0 if server.started else 1
