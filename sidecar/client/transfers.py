"""``SidecarClient``'s files methods: list, upload, download, delete; transfers streamed."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar, overload

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


def _chunks(source: Source, total: int | None, on_progress: Progress | None) -> Iterator[bytes]:
    done = 0
    with contextlib.ExitStack() as stack:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = memoryview(source)
            pieces: Iterator[bytes] = (
                bytes(data[i : i + CHUNK_BYTES]) for i in range(0, len(data), CHUNK_BYTES)
            )
        else:
            file = (
                stack.enter_context(open(source, "rb"))
                if isinstance(source, (str, os.PathLike))
                else source
            )
            pieces = iter(lambda: file.read(CHUNK_BYTES), b"")
        for piece in pieces:
            done += len(piece)
            if on_progress is not None:
                on_progress(done, total)
            yield piece


class FileTransfers(FileCalls):
    """Mixed into ``SidecarClient``, which provides the connection and ``_send``."""

    _http: httpx.Client

    def _send(self, call: Call[T]) -> T:
        raise NotImplementedError

    def list_files(self, path: str = "", *, limit: int | None = None) -> FileList:
        """A directory under the files root ('' is the root), entries sorted by name."""
        return self._send(self._list_files_call(path, limit))

    def delete_file(self, path: str) -> FileEntry:
        """Delete a file, a link or an empty directory; what it was."""
        return self._send(self._delete_file_call(path))

    def upload(
        self,
        source: Source,
        remote_path: str,
        *,
        parents: bool = False,
        on_progress: Progress | None = None,
    ) -> FileEntry:
        """Upload a local file (a path), ``bytes`` or a binary file object to ``remote_path``.

        The server replaces ``remote_path`` in one step once every byte arrived;
        ``parents`` creates missing directories. Not retried.
        """
        total = source_size(source)
        try:
            response = self._http.put(
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

    def read_file(self, remote_path: str) -> bytes:
        """A (small) file's whole content, in memory."""
        return self._send(Call("GET", file_path(remote_path), lambda r: r.content, retry=True))

    @overload
    def download(
        self,
        remote_path: str,
        local: str | os.PathLike[str] | None = None,
        *,
        on_progress: Progress | None = None,
    ) -> Path: ...

    @overload
    def download(
        self, remote_path: str, local: BinaryIO, *, on_progress: Progress | None = None
    ) -> None: ...

    def download(
        self,
        remote_path: str,
        local: str | os.PathLike[str] | BinaryIO | None = None,
        *,
        on_progress: Progress | None = None,
    ) -> Path | None:
        """Stream ``remote_path`` into ``local``: a path (a directory takes the remote
        name; default the remote name here), or a binary file object. A path is only
        written once the whole file has arrived."""
        if local is not None and not isinstance(local, (str, os.PathLike)):
            self._stream_into(remote_path, local, on_progress)
            return None
        target = local_target(remote_path, local)
        part = part_file(target)
        try:
            with part.open("wb") as out:
                self._stream_into(remote_path, out, on_progress)
            part.replace(target)
        finally:
            part.unlink(missing_ok=True)
        return target

    def _stream_into(self, remote_path: str, out: BinaryIO, on_progress: Progress | None) -> None:
        try:
            with self._http.stream(
                "GET",
                self.url + file_path(remote_path),
                headers=self._headers(),
                timeout=self._stream_timeout(self._timeout),
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise_for_error(response)
                total = int(response.headers.get("content-length", "0")) or None
                done = 0
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    out.write(chunk)
                    done += len(chunk)
                    if on_progress is not None:
                        on_progress(done, total)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
