"""One upload: written to a temporary file beside its target, then renamed over it.

A reader sees the old file or the whole new one, never part of it; an upload
that fails, is too large or is abandoned removes its temporary file (and the
directories it made) and leaves the target as it was. The blocking steps run
in a thread, one call at a time.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat

from sidecar.api.files.paths import FileRoot, Parts, file_error, shown
from sidecar.api.files.store import entry_of
from sidecar.errors import PathConflict, PathOutsideRoot
from sidecar.filemodels import UPLOAD_PREFIX, FileEntry

CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Upload:
    """``begin`` opens it; then ``write`` any number of times, and ``commit`` or ``abort``."""

    def __init__(
        self, root: FileRoot, parts: Parts, directory: Parts, name: str, dir_fd: int
    ) -> None:
        self.root = root
        self.parts = parts
        self.directory = directory
        self.name = name
        self.dir_fd = dir_fd
        self.temp = f"{UPLOAD_PREFIX}{secrets.token_hex(8)}"
        self.fd = -1
        self.replaced = False
        self.made: list[Parts] = []  # parent directories this upload made

    @classmethod
    def begin(cls, root: FileRoot, parts: Parts, *, parents: bool) -> Upload:
        if not parts:
            raise PathConflict("the files root is a directory: give a file name")
        # A link to a file under the root is written through, as cp does.
        canonical = root.canonical(parts)
        made: list[Parts] = []
        try:
            with root.directory(canonical[:-1], made=made if parents else None) as fd:
                dir_fd = os.dup(fd)
        except BaseException:
            root.remove_made(made)
            raise
        upload = cls(root, parts, canonical[:-1], canonical[-1], dir_fd)
        upload.made = made
        try:
            upload._open()
        except BaseException:
            upload.abort()
            raise
        return upload

    def _open(self) -> None:
        mode = None
        try:
            existing = os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            existing = None
        except OSError as exc:
            raise file_error(exc, self.parts) from None
        if existing is not None:
            if stat.S_ISDIR(existing.st_mode):
                raise PathConflict(f"{shown(self.parts)!r} is a directory")
            if stat.S_ISLNK(existing.st_mode):
                raise PathOutsideRoot(shown(self.parts))  # a link appeared after resolving
            if not stat.S_ISREG(existing.st_mode):
                raise PathConflict(f"{shown(self.parts)!r} is not a regular file")
            # A re-uploaded script stays executable.
            mode = stat.S_IMODE(existing.st_mode)
            self.replaced = True
        try:
            # A new file gets 0o666 less the umask, as any program would create it.
            self.fd = os.open(
                self.temp, CREATE_FLAGS, 0o666 if mode is None else 0o600, dir_fd=self.dir_fd
            )
            if mode is not None:
                os.fchmod(self.fd, mode)
        except OSError as exc:
            raise file_error(exc, self.parts) from None

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError as exc:
            raise file_error(exc, self.parts) from None

    def commit(self) -> FileEntry:
        """Make the new content durable, then put it in place in one step."""
        try:
            os.fsync(self.fd)
            os.close(self.fd)
            self.fd = -1
            os.rename(self.temp, self.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)
            self.temp = ""
            self.made = []
            os.fsync(self.dir_fd)
            info = os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
            return entry_of(self.directory, self.name, info, self.dir_fd)
        except OSError as exc:
            raise file_error(exc, self.parts) from None
        finally:
            self.abort()

    def abort(self) -> None:
        """Remove what is left of an unfinished upload; safe to call more than once."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.temp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temp, dir_fd=self.dir_fd)
            self.temp = ""
        if self.dir_fd >= 0:
            os.close(self.dir_fd)
            self.dir_fd = -1
        if self.made:
            self.root.remove_made(self.made)
