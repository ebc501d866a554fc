"""Long-lived responses: Server-Sent Events and line streams that end cleanly.

Every stream ends when its source ends, when the client goes away (Starlette
cancels the response), or when the sidecar starts shutting down, so that
uvicorn's own exit path never waits on an open stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from pydantic import BaseModel

T = TypeVar("T")

KEEPALIVE_SECONDS = 15.0
KEEPALIVE = ": keep-alive\n\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def until_stopped(
    items: AsyncIterator[T], stopping: asyncio.Event, idle: float | None = None
) -> AsyncIterator[T | None]:
    """Items until ``items`` ends or ``stopping`` is set; None after ``idle`` quiet seconds."""
    iterator = aiter(items)
    stop: asyncio.Future[Any] = asyncio.ensure_future(stopping.wait())
    pending: asyncio.Future[Any] | None = None
    try:
        while not stopping.is_set():
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait(
                {pending, stop}, timeout=idle, return_when=asyncio.FIRST_COMPLETED
            )
            if pending in done:
                future, pending = pending, None
                try:
                    item = future.result()
                except StopAsyncIteration:
                    return
                yield item
            elif not done:
                yield None
    finally:
        stop.cancel()
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                await pending
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()


def sse_message(model: BaseModel, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}data: {model.model_dump_json()}\n\n"


async def sse_stream(
    items: AsyncIterator[T],
    stopping: asyncio.Event,
    render: Callable[[T], str],
    keepalive: float = KEEPALIVE_SECONDS,
) -> AsyncIterator[str]:
    """SSE text: one message per item, a keep-alive comment after ``keepalive`` quiet seconds."""
    yield ": connected\n\n"
    async for item in until_stopped(items, stopping, idle=keepalive):
        yield KEEPALIVE if item is None else render(item)
