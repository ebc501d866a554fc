"""``flux-sidecar serve``: settings -> backend -> app -> uvicorn, one exit path."""

from __future__ import annotations

import logging

import uvicorn

from sidecar.app import create_app
from sidecar.auth import Authenticator
from sidecar.backends.base import JobBackend
from sidecar.config import Settings

logger = logging.getLogger("sidecar")

# Streams end on their own when shutdown starts; this bounds what remains.
GRACEFUL_SHUTDOWN_SECONDS = 10


def make_backend(settings: Settings) -> JobBackend:
    if settings.backend == "local":
        from sidecar.backends.local import LocalBackend

        return LocalBackend(cores=settings.local_cores)
    from sidecar.backends.flux import FluxBackend

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


def serve(settings: Settings) -> int:
    configure_logging(settings.log_level)
    problem = check_auth(settings)
    if problem is not None:
        logger.error("refusing to start: %s", problem)
        return 2
    server: uvicorn.Server | None = None

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
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1
