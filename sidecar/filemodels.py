"""Files under the files root: what a listing says, shared by the server and the client.

Paths in the API are relative to the root and use ``/``; the root itself is
the empty path. Only the server touches the filesystem (``sidecar.api.files``).
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, Field

FILES_API = "/api/v1/files"
# Uploads are written beside their target under this prefix, then renamed over it.
UPLOAD_PREFIX = ".flux-sidecar-upload-"


class FileType(str, enum.Enum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    OTHER = "other"


class FileEntry(BaseModel):
    """One directory entry, as ``lstat`` sees it: a symlink is listed, not followed."""

    name: str
    path: str = Field(description="relative to the files root, e.g. 'results/out.txt'")
    type: FileType
    size: int = Field(description="bytes (of the link itself for a symlink)")
    mtime: float = Field(description="last modification, epoch seconds")
    target: str | None = Field(None, description="where a symlink points, as written")


class FileList(BaseModel):
    """A directory of the files root, entries sorted by name."""

    root: str = Field(description="the files root's absolute path, as jobs see it")
    path: str = Field(description="the directory listed, relative to the root ('' is the root)")
    entries: list[FileEntry]
    truncated: bool = Field(False, description="true when more entries exist than 'limit'")
