"""A download: an open file streamed from a thread, and the headers that describe it."""

from __future__ import annotations

import contextlib
import email.utils
import os
from collections.abc import AsyncIterator
from urllib.parse import quote

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from sidecar.api.files.store import OpenedFile, display_name

READ_CHUNK_BYTES = 256 * 1024


async def _chunks(fd: int, first: int, length: int) -> AsyncIterator[bytes]:
    offset, remaining = first, length
    while remaining > 0:
        data = await anyio.to_thread.run_sync(
            os.pread, fd, min(READ_CHUNK_BYTES, remaining), offset
        )
        if not data:
            return  # the file shrank under us; the connection ends short of its length
        offset += len(data)
        remaining -= len(data)
        yield data


class FileStreamResponse(StreamingResponse):
    """Owns the descriptor: it is closed however the response ends, sent or not."""

    media_type = "application/octet-stream"

    def __init__(
        self,
        fd: int,
        first: int,
        length: int,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(_chunks(fd, first, length), status_code=status_code, headers=headers)
        self.fd = fd

    @staticmethod
    def close_fd(fd: int) -> None:
        with contextlib.suppress(OSError):
            os.close(fd)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.close_fd, self.fd)


def content_disposition(name: str) -> str:
    """``attachment`` with the name both as plain ASCII and as RFC 8187 UTF-8."""
    shown = display_name(name)
    ascii_name = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in shown)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(shown, safe='')}"


def download_headers(opened: OpenedFile, span: tuple[int, int] | None) -> dict[str, str]:
    first, last = span if span is not None else (0, opened.size - 1)
    headers = {
        "Content-Length": str(max(0, last - first + 1)),
        "Accept-Ranges": "bytes",
        "Last-Modified": email.utils.formatdate(opened.mtime, usegmt=True),
        "Content-Disposition": content_disposition(opened.name),
        "Cache-Control": "no-cache",
        # Served as bytes, never as a page: no browser may render or sniff it.
        "X-Content-Type-Options": "nosniff",
    }
    if span is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{opened.size}"
    return headers
