"""Files under the files root: list, upload, download (with ranges), delete.

Paths are relative to the root (``FLUX_SIDECAR_FILES_ROOT``), which is also
the working directory of jobs submitted without one. Disk work runs in
threads, a chunk at a time, so a large transfer never holds the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi import Path as PathParam
from starlette.requests import ClientDisconnect
from starlette.types import Scope

from sidecar.api.deps import AuthRequired, FilesDep
from sidecar.api.files.paths import split_path
from sidecar.api.files.ranges import parse_range
from sidecar.api.files.upload import Upload
from sidecar.api.filestream import FileStreamResponse, download_headers
from sidecar.errors import InvalidPath, InvalidRequest, UploadTooLarge
from sidecar.filemodels import FILES_API, FileEntry, FileList
from sidecar.patterns import FILES_DIRECTORY, FILES_PATH, FILES_UPLOAD_PATH

router = APIRouter(prefix="/api/v1", tags=["files"], dependencies=[AuthRequired])

# Disk writes are batched to this size: one thread hop per MiB, not per network chunk.
WRITE_BATCH_BYTES = 1024 * 1024
_PATH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "malformed path (absolute, '..', NUL, backslash)"},
    403: {"description": "the path leads outside the files root through a symbolic link"},
    404: {"description": "no such file or directory"},
    409: {"description": "a directory where a file is expected, or the reverse"},
    503: {"description": "the files root is not available"},
}
_BINARY = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
# The grammar is documented and split_path checks it, answering 400 (a pattern
# checked by FastAPI would answer 422).
FILE_PATH = PathParam(max_length=4096, json_schema_extra={"pattern": FILES_PATH})
UPLOAD_PATH = PathParam(max_length=4096, json_schema_extra={"pattern": FILES_UPLOAD_PATH})


def is_upload(scope: Scope) -> bool:
    """Uploads stream their body past the body limit, under a limit of their own."""
    return scope.get("method") == "PUT" and str(scope.get("path", "")).startswith(FILES_API + "/")


@router.get("/files", response_model=FileList, responses=_PATH_ERRORS)
async def list_files(
    files: FilesDep,
    path: Annotated[
        str,
        Query(
            max_length=4096,
            description="a directory; '' is the root",
            json_schema_extra={"pattern": FILES_DIRECTORY},
        ),
    ] = "",
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> FileList:
    """List a directory of the files root (the root itself by default), sorted by name."""
    parts = split_path(path)
    return await anyio.to_thread.run_sync(files.list_dir, parts, limit)


@router.get(
    "/files/{path:path}",
    response_class=FileStreamResponse,
    responses={
        200: {"description": "the whole file", "content": _BINARY},
        206: {"description": "the part a Range header asked for", "content": _BINARY},
        **_PATH_ERRORS,
        416: {"description": "malformed Range, or it starts past the end of the file"},
    },
)
async def download_file(
    path: Annotated[str, FILE_PATH],
    files: FilesDep,
    range_header: Annotated[
        str | None, Header(alias="range", max_length=256, description="e.g. bytes=0-1023")
    ] = None,
) -> FileStreamResponse:
    """Download a file, streamed; ``Range: bytes=...`` asks for part of it (206)."""
    parts = split_path(path)
    opened = await anyio.to_thread.run_sync(files.open_file, parts)
    try:
        span = parse_range(range_header, opened.size)
    except BaseException:
        await anyio.to_thread.run_sync(FileStreamResponse.close_fd, opened.fd)
        raise
    first, last = span if span is not None else (0, opened.size - 1)
    return FileStreamResponse(
        opened.fd,
        first,
        last - first + 1,
        status_code=206 if span is not None else 200,
        headers=download_headers(opened, span),
    )


@router.put(
    "/files/{path:path}",
    status_code=201,
    response_model=FileEntry,
    # An absent body is an empty file.
    openapi_extra={"requestBody": {"required": False, "content": _BINARY}},
    responses={
        200: {"description": "an existing file was replaced", "model": FileEntry},
        201: {"description": "a new file was created"},
        **_PATH_ERRORS,
        404: {"description": "the parent directory does not exist (see 'parents')"},
        413: {"description": "larger than FLUX_SIDECAR_MAX_UPLOAD_BYTES"},
        507: {"description": "no space left under the files root"},
    },
)
async def upload_file(
    path: Annotated[str, UPLOAD_PATH],
    request: Request,
    response: Response,
    files: FilesDep,
    parents: Annotated[bool, Query(description="create missing parent directories")] = False,
) -> FileEntry:
    """Upload a file (the raw body), atomically: a reader sees the old file or the new one."""
    if path.endswith("/"):
        raise InvalidPath("a file's path cannot end with '/'")
    parts = split_path(path)
    limit = files.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared is not None and not declared.isdigit():
        raise InvalidRequest("Content-Length is not a number")
    if declared is not None and int(declared) > limit:
        raise UploadTooLarge(limit)
    upload = await anyio.to_thread.run_sync(
        lambda: Upload.begin(files.root, parts, parents=parents)
    )
    try:
        entry = await _receive(request, upload, limit)
    finally:
        # Shielded: a cancelled request must still remove its temporary file.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(upload.abort)
    response.status_code = 200 if upload.replaced else 201
    response.headers["Location"] = f"{FILES_API}/{quote(entry.path)}"  # headers are latin-1
    return entry


async def _receive(request: Request, upload: Upload, limit: int) -> FileEntry:
    batch: list[bytes] = []
    batched = size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise UploadTooLarge(limit)
            batch.append(chunk)
            batched += len(chunk)
            if batched >= WRITE_BATCH_BYTES:
                await anyio.to_thread.run_sync(upload.write, b"".join(batch))
                batch, batched = [], 0
    except ClientDisconnect:
        raise InvalidRequest("the upload ended before its body did; nothing was kept") from None
    if batch:
        await anyio.to_thread.run_sync(upload.write, b"".join(batch))
    return await anyio.to_thread.run_sync(upload.commit)


@router.delete("/files/{path:path}", response_model=FileEntry, responses=_PATH_ERRORS)
async def delete_file(path: Annotated[str, FILE_PATH], files: FilesDep) -> FileEntry:
    """Delete a file, a symbolic link (not what it points to) or an empty directory."""
    return await anyio.to_thread.run_sync(files.delete, split_path(path))
