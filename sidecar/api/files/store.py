"""Listing, opening and removing under the files root (blocking: run in a thread)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from sidecar.api.files.paths import FileRoot, Parts, file_error, shown
from sidecar.errors import PathConflict
from sidecar.filemodels import UPLOAD_PREFIX, FileEntry, FileList, FileType

READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


def display_name(name: str) -> str:
    """A name as JSON can carry it: bytes that are not UTF-8 shown as U+FFFD."""
    return os.fsencode(name).decode("utf-8", "replace")


def _type_of(mode: int) -> FileType:
    if stat.S_ISLNK(mode):
        return FileType.SYMLINK
    if stat.S_ISDIR(mode):
        return FileType.DIR
    if stat.S_ISREG(mode):
        return FileType.FILE
    return FileType.OTHER


def entry_of(directory: Parts, name: str, info: os.stat_result, dir_fd: int) -> FileEntry:
    kind = _type_of(info.st_mode)
    target = None
    if kind is FileType.SYMLINK:
        try:
            target = display_name(os.readlink(name, dir_fd=dir_fd))
        except OSError:
            target = None
    return FileEntry(
        name=display_name(name),
        path=display_name(shown((*directory, name))),
        type=kind,
        size=info.st_size,
        mtime=info.st_mtime,
        target=target,
    )


@dataclass
class OpenedFile:
    """A regular file opened for reading; the caller closes ``fd``."""

    fd: int
    name: str
    size: int
    mtime: float


class FileStore:
    """The files root and what may be done under it."""

    def __init__(self, root: Path, max_upload_bytes: int) -> None:
        self.root = FileRoot(root)
        self.max_upload_bytes = max_upload_bytes

    def ensure_root(self) -> None:
        """Make the root if it is missing: a pod's volume starts empty."""
        self.root.path.mkdir(parents=True, exist_ok=True)

    def list_dir(self, parts: Parts, limit: int) -> FileList:
        canonical = self.root.canonical(parts)
        entries: list[FileEntry] = []
        with self.root.directory(canonical) as fd:
            try:
                # An upload still being written (or one a crash left behind) is
                # not a file yet: it appears under its own name once complete.
                names = sorted(n for n in os.listdir(fd) if not n.startswith(UPLOAD_PREFIX))
            except OSError as exc:
                raise file_error(exc, parts) from None
            for name in names:
                if len(entries) > limit:
                    break
                try:
                    info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except OSError:
                    continue  # removed since it was listed
                entries.append(entry_of(canonical, name, info, fd))
        return FileList(
            root=str(self.root.path),
            path=display_name(shown(canonical)),
            entries=entries[:limit],
            truncated=len(entries) > limit,
        )

    def open_file(self, parts: Parts) -> OpenedFile:
        canonical = self.root.canonical(parts)
        if not canonical:
            raise PathConflict("the files root is a directory: list it with GET /api/v1/files")
        with self.root.directory(canonical[:-1]) as dir_fd:
            try:
                # O_NONBLOCK: opening a FIFO must not wait for a writer.
                fd = os.open(canonical[-1], READ_FLAGS, dir_fd=dir_fd)
            except OSError as exc:
                raise file_error(exc, parts) from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            what = "a directory: list it" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise PathConflict(f"{shown(parts)!r} is {what}")
        return OpenedFile(fd, canonical[-1], info.st_size, info.st_mtime)

    def delete(self, parts: Parts) -> FileEntry:
        """Remove a file, a link (never what it points to) or an empty directory; what it was."""
        if not parts:
            raise PathConflict("the files root itself cannot be deleted")
        canonical = self.root.canonical(parts, follow_last=False)
        with self.root.directory(canonical[:-1]) as dir_fd:
            name = canonical[-1]
            try:
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                entry = entry_of(canonical[:-1], name, info, dir_fd)
                if stat.S_ISDIR(info.st_mode):
                    os.rmdir(name, dir_fd=dir_fd)
                else:
                    os.unlink(name, dir_fd=dir_fd)
            except OSError as exc:
                raise file_error(exc, parts) from None
        return entry
