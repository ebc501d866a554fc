"""The API calls that tell the idle watch (``sidecar.idle``) the cluster is in use.

A call counts once it is answered with the token accepted (not 401) by a route
that does or looks at work: jobs, their output and events, files, shutdown. A
status read (``/api/v1/info``, ``/api/v1/resources``, the shutdown status,
upstream's node list) does not: the web page polls those every few seconds, so
a forgotten browser tab would otherwise keep a MiniCluster billing for ever,
and asking how long is left would reset it. Neither does a path no route
serves, nor a caller without the token.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sidecar.idle import is_api_call

STATUS_READS = frozenset(
    {
        ("GET", "/api/v1/info"),
        ("GET", "/api/v1/resources"),
        ("GET", "/api/v1/shutdown"),
        ("GET", "/v1/nodes"),
    }
)


def counts(scope: Scope, status: int) -> bool:
    """Whether an answered request is a call that keeps the cluster alive."""
    # The status reads take no path parameters, so the path itself names them
    # (a route's template may lack the prefix of the router that included it).
    return (
        scope.get("route") is not None  # set by the router when a route matched
        and status != 401
        and (scope.get("method", ""), str(scope.get("path", ""))) not in STATUS_READS
    )


class ActivityMiddleware:
    """Pure ASGI: one prefix test per request, then one look at how it was answered."""

    def __init__(self, app: ASGIApp, on_call: Callable[[], None]) -> None:
        self.app = app
        self.on_call = on_call

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_call(str(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return

        async def answered(message: Message) -> None:
            # At the start of the answer, so a stream counts when it opens.
            if message["type"] == "http.response.start" and counts(scope, message["status"]):
                self.on_call()
            await send(message)

        await self.app(scope, receive, answered)
