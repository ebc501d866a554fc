"""Paths under the files root, opened so that nothing leads out of it.

A path is first checked as text: absolute paths, ``..``, NUL bytes and
backslashes are refused (400). It is then resolved with ``realpath``; if that
ends outside the root, a symbolic link leads out (403). Directories are then
opened one component at a time from the root's own descriptor with
``O_NOFOLLOW``, so a link swapped in after the check (a race) is refused
rather than followed: whatever is read, written or removed is reached through
descriptors of directories inside the root.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sidecar.errors import (
    FilesUnavailable,
    InsufficientStorage,
    InvalidPath,
    PathConflict,
    PathNotFound,
    PathOutsideRoot,
    PermissionDenied,
    SidecarError,
)

NAME_MAX = 255
PATH_MAX = 4096
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
Parts = tuple[str, ...]


def shown(parts: Parts) -> str:
    return "/".join(parts)


def split_path(text: str) -> Parts:
    """The components of a path relative to the files root; ``InvalidPath`` if it is not one."""
    if "\0" in text:
        raise InvalidPath("path contains a NUL byte")
    if "\\" in text:
        raise InvalidPath("path contains a backslash: separate directories with '/'")
    if text.startswith("/"):
        raise InvalidPath("absolute path: give the path relative to the files root")
    try:
        length = len(os.fsencode(text))
    except UnicodeEncodeError:
        raise InvalidPath("path is not valid UTF-8") from None
    if length > PATH_MAX:
        raise InvalidPath(f"path is longer than {PATH_MAX} bytes")
    parts = tuple(part for part in text.split("/") if part not in ("", "."))
    if ".." in parts:
        raise InvalidPath("'..' is not allowed: paths stay under the files root")
    for part in parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise InvalidPath(f"a name in the path is longer than {NAME_MAX} bytes")
    return parts


def file_error(exc: OSError, parts: Parts) -> SidecarError:
    """What a failed system call on ``parts`` means to a client."""
    where = shown(parts) or "the files root"
    code = exc.errno
    if code == errno.ENOENT:
        return PathNotFound(where)
    if code in (errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENOTEMPTY):
        return PathConflict(f"{where!r}: {exc.strerror}")
    if code == errno.ELOOP:
        return PathOutsideRoot(where)
    if code in (errno.EACCES, errno.EPERM):
        return PermissionDenied(f"{where!r}: permission denied")
    if code in (errno.ENOSPC, errno.EDQUOT):
        return InsufficientStorage(f"{where!r}: no space left under the files root")
    return FilesUnavailable(f"{where!r}: {exc.strerror or exc}")


class FileRoot:
    """The files root: ``path`` as configured (and as jobs see it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _real(self) -> str:
        return os.path.realpath(self.path)

    def canonical(self, parts: Parts, *, follow_last: bool = True) -> Parts:
        """The components ``parts`` resolves to under the root; ``PathOutsideRoot`` otherwise.

        With ``follow_last`` false the last component is kept as it is (a link
        itself, not where it points), as removing an entry needs.
        """
        real_root = self._real()
        if follow_last or not parts:
            target = os.path.realpath(os.path.join(real_root, *parts))
        else:
            parent = os.path.realpath(os.path.join(real_root, *parts[:-1]))
            target = os.path.join(parent, parts[-1])
        if target != real_root and not target.startswith(real_root.rstrip("/") + "/"):
            raise PathOutsideRoot(shown(parts))
        relative = os.path.relpath(target, real_root)
        return () if relative == "." else tuple(relative.split("/"))

    def open_root(self) -> int:
        try:
            return os.open(self.path, DIR_FLAGS & ~os.O_NOFOLLOW)
        except OSError as exc:
            raise FilesUnavailable(
                f"the files root {self.path} is not available: {exc.strerror or exc}"
            ) from None

    @contextmanager
    def directory(self, parts: Parts, *, made: list[Parts] | None = None) -> Iterator[int]:
        """A descriptor of the directory at canonical ``parts``.

        Given a ``made`` list, missing directories are made, and recorded in it.
        """
        fd = self.open_root()
        try:
            for index, part in enumerate(parts):
                child = _open_child(fd, part, parts[: index + 1], made)
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def remove_made(self, made: list[Parts]) -> None:
        """Remove directories ``directory`` made, deepest first, where they are still empty."""
        for parts in sorted(made, key=len, reverse=True):
            with suppress(SidecarError, OSError), self.directory(parts[:-1]) as fd:
                os.rmdir(parts[-1], dir_fd=fd)
        made.clear()


def _open_child(fd: int, name: str, parts: Parts, made: list[Parts] | None) -> int:
    """The directory ``name`` in directory ``fd``, never reached through a link."""
    try:
        try:
            return os.open(name, DIR_FLAGS, dir_fd=fd)
        except FileNotFoundError:
            if made is None:
                raise
            try:
                os.mkdir(name, dir_fd=fd)
                made.append(parts)
            except FileExistsError:
                pass  # made meanwhile by another request: not ours to remove
            return os.open(name, DIR_FLAGS, dir_fd=fd)
    except OSError as exc:
        if exc.errno == errno.ENOTDIR and _is_link(fd, name):
            raise PathOutsideRoot(shown(parts)) from None  # a link appeared after resolving
        if exc.errno == errno.ENOTDIR:
            raise PathConflict(f"{shown(parts)!r} is not a directory") from None
        raise file_error(exc, parts) from None


def _is_link(fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
    except OSError:
        return False
