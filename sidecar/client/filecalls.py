"""What both clients share for files: their calls as data, and where a transfer reads or writes.

Uploads and downloads are streamed by each client in its own way; they are not
retried (a body read from a stream cannot be sent twice), while listing is.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

import httpx

from sidecar.client.calls import Call, ClientBase, _model
from sidecar.filemodels import FILES_API, FileEntry, FileList

CHUNK_BYTES = 1024 * 1024
# After the last byte the server makes the file durable before it answers.
UPLOAD_READ_TIMEOUT = 600.0
PART_SUFFIX = ".part"

# Called with the bytes moved so far and the total, when it is known.
Progress = Callable[[int, int | None], None]
Source = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO


def file_path(remote: str) -> str:
    """The URL path of ``remote``; ``.`` and ``..`` are escaped so that the server, not URL
    normalisation, answers them (with 400)."""
    parts = [
        p.replace(".", "%2E") if p in (".", "..") else quote(p, safe="") for p in remote.split("/")
    ]
    return f"{FILES_API}/{'/'.join(parts)}"


def remote_name(remote: str) -> str:
    name = remote.rstrip("/").rsplit("/", 1)[-1]
    if not name or name in (".", ".."):
        raise ValueError(f"{remote!r} names no file")
    return name


def local_target(remote: str, local: str | os.PathLike[str] | None) -> Path:
    """Where a download lands: ``local``, or the remote name in it (a directory) or in ``.``."""
    target = Path(local) if local is not None else Path(remote_name(remote))
    return target / remote_name(remote) if target.is_dir() else target


def part_file(target: Path) -> Path:
    """A download is written beside its target and renamed over it once whole."""
    return target.with_name(f".{target.name}.{os.getpid()}{PART_SUFFIX}")


def source_size(source: Source) -> int | None:
    """Bytes an upload will send, when they can be known before sending."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return len(source)
    if isinstance(source, (str, os.PathLike)):
        return os.stat(source).st_size
    try:
        info = os.fstat(source.fileno())
        return info.st_size - source.tell() if stat.S_ISREG(info.st_mode) else None
    except (OSError, AttributeError, ValueError):
        return None


class FileCalls(ClientBase):
    """The files calls both clients send the same way."""

    def _list_files_call(self, path: str, limit: int | None) -> Call[FileList]:
        params = {"path": path} | ({"limit": str(limit)} if limit is not None else {})
        return Call("GET", FILES_API, _model(FileList), params=params, retry=True)

    def _delete_file_call(self, path: str) -> Call[FileEntry]:
        return Call("DELETE", file_path(path), _model(FileEntry))

    def _upload_headers(self, size: int | None) -> dict[str, str]:
        extra = {"Content-Type": "application/octet-stream"}
        if size is not None:
            # Sent up front, so that the server refuses too large a file before any byte.
            extra["Content-Length"] = str(size)
        return self._headers(extra)

    def _upload_timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self._timeout, read=max(self._timeout, UPLOAD_READ_TIMEOUT))
