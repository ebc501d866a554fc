"""Every API call that arrives tells the idle watch (``sidecar.idle``) the cluster is in use."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from sidecar.idle import is_api_call


class ActivityMiddleware:
    """Pure ASGI: one prefix test per request, before anything else runs."""

    def __init__(self, app: ASGIApp, on_call: Callable[[], None]) -> None:
        self.app = app
        self.on_call = on_call

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_api_call(str(scope.get("path", ""))):
            self.on_call()
        await self.app(scope, receive, send)
