"""``AsyncSidecarClient``'s files methods; local disk work runs in a thread, a chunk at a time."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO, TypeVar, overload

import anyio
import httpx

from sidecar.client.calls import Call
from sidecar.client.errors import raise_for_error
from sidecar.client.filecalls import (
    CHUNK_BYTES,
    FileCalls,
    Progress,
    Source,
    file_path,
    local_target,
    part_file,
    source_size,
)
from sidecar.filemodels import FileEntry, FileList

T = TypeVar("T")


def _open_binary(path: str | os.PathLike[str]) -> BinaryIO:
    return open(path, "rb")  # closed by the caller


async def _chunks(
    source: Source, total: int | None, on_progress: Progress | None
) -> AsyncIterator[bytes]:
    done = 0
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = memoryview(source)
        for offset in range(0, len(data), CHUNK_BYTES):
            piece = bytes(data[offset : offset + CHUNK_BYTES])
            done += len(piece)
            if on_progress is not None:
                on_progress(done, total)
            yield piece
        return
    owned = isinstance(source, (str, os.PathLike))
    if isinstance(source, (str, os.PathLike)):
        file = await anyio.to_thread.run_sync(_open_binary, source)
    else:
        file = source
    try:
        while piece := await anyio.to_thread.run_sync(file.read, CHUNK_BYTES):
            done += len(piece)
            if on_progress is not None:
                on_progress(done, total)
            yield piece
    finally:
        if owned:
            file.close()


class AsyncFileTransfers(FileCalls):
    """Mixed into ``AsyncSidecarClient``, which provides the connection and ``_send``."""

    _http: httpx.AsyncClient

    async def _send(self, call: Call[T]) -> T:
        raise NotImplementedError

    async def list_files(self, path: str = "", *, limit: int | None = None) -> FileList:
        """A directory under the files root ('' is the root), entries sorted by name."""
        return await self._send(self._list_files_call(path, limit))

    async def delete_file(self, path: str) -> FileEntry:
        """Delete a file, a link or an empty directory; what it was."""
        return await self._send(self._delete_file_call(path))

    async def upload(
        self,
        source: Source,
        remote_path: str,
        *,
        parents: bool = False,
        on_progress: Progress | None = None,
    ) -> FileEntry:
        """Upload a local file, ``bytes`` or a binary file object; see ``SidecarClient.upload``."""
        total = await anyio.to_thread.run_sync(source_size, source)
        try:
            response = await self._http.put(
                self.url + file_path(remote_path),
                params={"parents": "true"} if parents else None,
                content=_chunks(source, total, on_progress),
                headers=self._upload_headers(total),
                timeout=self._upload_timeout(),
            )
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        raise_for_error(response)
        return FileEntry.model_validate_json(response.content)

    async def read_file(self, remote_path: str) -> bytes:
        """A (small) file's whole content, in memory."""
        call = Call("GET", file_path(remote_path), lambda r: r.content, retry=True)
        return await self._send(call)

    @overload
    async def download(
        self,
        remote_path: str,
        local: str | os.PathLike[str] | None = None,
        *,
        on_progress: Progress | None = None,
    ) -> Path: ...

    @overload
    async def download(
        self, remote_path: str, local: BinaryIO, *, on_progress: Progress | None = None
    ) -> None: ...

    async def download(
        self,
        remote_path: str,
        local: str | os.PathLike[str] | BinaryIO | None = None,
        *,
        on_progress: Progress | None = None,
    ) -> Path | None:
        """Stream ``remote_path`` into ``local``; see ``SidecarClient.download``."""
        if local is not None and not isinstance(local, (str, os.PathLike)):
            await self._stream_into(remote_path, local, on_progress)
            return None
        target = await anyio.to_thread.run_sync(local_target, remote_path, local)
        part = part_file(target)
        try:
            out = await anyio.to_thread.run_sync(part.open, "wb")
            try:
                await self._stream_into(remote_path, out, on_progress)
            finally:
                await anyio.to_thread.run_sync(out.close)
            await anyio.to_thread.run_sync(part.replace, target)
        finally:
            await anyio.to_thread.run_sync(lambda: part.unlink(missing_ok=True))
        return target

    async def _stream_into(
        self, remote_path: str, out: BinaryIO, on_progress: Progress | None
    ) -> None:
        try:
            async with self._http.stream(
                "GET",
                self.url + file_path(remote_path),
                headers=self._headers(),
                timeout=self._stream_timeout(self._timeout),
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise_for_error(response)
                total = int(response.headers.get("content-length", "0")) or None
                done = 0
                async for chunk in response.aiter_bytes(CHUNK_BYTES):
                    await anyio.to_thread.run_sync(out.write, chunk)
                    done += len(chunk)
                    if on_progress is not None:
                        on_progress(done, total)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
