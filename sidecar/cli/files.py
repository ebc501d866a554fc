"""``put``, ``get``, ``ls`` and ``rm``: files under the sidecar's files root.

Remote paths are relative to the root, which is also where jobs submitted
without ``--cwd`` run, so ``put input.txt`` then ``submit -- cat input.txt``
works as it reads.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from sidecar.cli import format as fmt
from sidecar.cli.commands import EXIT_OK, Command, out
from sidecar.client import SidecarClient
from sidecar.filemodels import FileEntry, FileType

AddCommand = Callable[[str, Command, str, str], argparse.ArgumentParser]


def size(count: int) -> str:
    """``512 B``, ``1.5 KiB``, ``12.0 MiB``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


class TransferProgress:
    """``name  12.0 MiB / 40.0 MiB  30%`` rewritten in place on a terminal; silent otherwise."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self._stream = stream
        self._name = name
        self._shown = stream.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if not self._shown or (now - self._last < 0.1 and done != total):
            return
        self._last = now
        line = f"{self._name}  {size(done)}"
        if total:
            line += f" / {size(total)}  {done * 100 // total}%"
        self._stream.write(f"\r\x1b[K{line}")
        self._stream.flush()

    def done(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _remote_for(local: str, remote: str | None) -> str:
    if local == "-" and (not remote or remote.endswith("/")):
        raise ValueError("put - needs a REMOTE file name to write standard input to")
    name = Path(local).name
    if not remote:
        return name
    return remote + name if remote.endswith("/") else remote


def put(client: SidecarClient, args: argparse.Namespace) -> int:
    remote = _remote_for(args.local, args.remote)
    if args.local != "-" and Path(args.local).is_dir():
        raise ValueError(f"{args.local}: is a directory; put uploads one file")
    progress = TransferProgress(sys.stderr, remote)
    try:
        source = sys.stdin.buffer if args.local == "-" else Path(args.local)
        entry = client.upload(source, remote, parents=args.parents, on_progress=progress)
    finally:
        progress.done()
    out(fmt.to_json(entry) if args.json else entry.path)
    return EXIT_OK


def get(client: SidecarClient, args: argparse.Namespace) -> int:
    if args.local == "-":
        client.download(args.remote, sys.stdout.buffer)
        sys.stdout.flush()
        return EXIT_OK
    progress = TransferProgress(sys.stderr, args.remote)
    try:
        saved = client.download(args.remote, args.local, on_progress=progress)
    finally:
        progress.done()
    out(
        fmt.to_json({"path": str(saved), "size": saved.stat().st_size}) if args.json else str(saved)
    )
    return EXIT_OK


def _shown_name(entry: FileEntry) -> str:
    if entry.type is FileType.DIR:
        return entry.name + "/"
    if entry.type is FileType.SYMLINK:
        return f"{entry.name} -> {entry.target}"
    return entry.name


def ls(client: SidecarClient, args: argparse.Namespace) -> int:
    listing = client.list_files(args.path, limit=args.limit)
    if args.json:
        for entry in listing.entries:
            out(fmt.to_json(entry))
    else:
        rows = [
            [entry.type.value, size(entry.size), fmt.clock(entry.mtime), _shown_name(entry)]
            for entry in listing.entries
        ]
        if rows:
            out(fmt.table(("TYPE", "SIZE", "MODIFIED", "NAME"), rows))
    if listing.truncated:
        out(f"flux-sidecar: more than {args.limit} entries; raise --limit", sys.stderr)
    return EXIT_OK


def rm(client: SidecarClient, args: argparse.Namespace) -> int:
    for path in args.paths:
        entry = client.delete_file(path)
        out(fmt.to_json(entry) if args.json else f"removed {entry.path}")
    return EXIT_OK


def add_file_commands(add: AddCommand) -> None:
    cmd = add(
        "put",
        put,
        "upload a file under the files root; prints its remote path",
        "flux-sidecar put -p input.csv runs/42/  # then: submit -- wc -l runs/42/input.csv",
    )
    cmd.add_argument("local", metavar="LOCAL", help="the file to send, or - for standard input")
    cmd.add_argument("remote", metavar="REMOTE", nargs="?", help="default: LOCAL's name")
    cmd.add_argument("-p", "--parents", action="store_true", help="create missing directories")

    cmd = add(
        "get",
        get,
        "download a file from under the files root",
        "flux-sidecar get runs/42/result.txt - | tail",
    )
    cmd.add_argument("remote", metavar="REMOTE")
    cmd.add_argument("local", metavar="LOCAL", nargs="?", help="a path, a directory or -")

    cmd = add("ls", ls, "list a directory under the files root", "flux-sidecar ls runs/42")
    cmd.add_argument("path", metavar="PATH", nargs="?", default="", help="default: the root")
    cmd.add_argument("--limit", type=int, default=1000, help="at most this many (default 1000)")

    cmd = add("rm", rm, "delete files or empty directories", "flux-sidecar rm runs/42/tmp.dat")
    cmd.add_argument("paths", metavar="PATH", nargs="+")
