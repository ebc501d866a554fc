"""Refuse request bodies over ``MAX_BODY_BYTES`` with 413, before any route reads them."""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sidecar.api.errors import error_response


class BodyLimitMiddleware:
    """Pure ASGI, so it also bounds chunked bodies that carry no Content-Length."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, unbuffered: Callable[[Scope], bool] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Requests whose route streams the body itself under its own limit (uploads):
        # buffering them here would hold a whole file in memory.
        self.unbuffered = unbuffered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.unbuffered is not None and self.unbuffered(scope)):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, f"request body exceeds {self.max_bytes} bytes")
        await response(scope, receive, send)
