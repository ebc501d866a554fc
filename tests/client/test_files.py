"""The clients' files methods against a real server: streamed both ways, errors as the tree."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.client import (
    AsyncSidecarClient,
    AuthFailed,
    Conflict,
    NotFound,
    SidecarClient,
    ValidationFailed,
)
from sidecar.filemodels import FileType
from tests.support.serverproc import ServerProcess, run_server

MAX_UPLOAD = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"FLUX_SIDECAR_MAX_UPLOAD_BYTES": str(MAX_UPLOAD)}
    with run_server(tmp_path_factory.mktemp("client-files"), env=env) as process:
        yield process


@pytest.fixture
def root(server: ServerProcess) -> Iterator[Path]:
    assert server.files_root is not None
    yield server.files_root
    server.empty_files_root()


@pytest.fixture
def sidecar(server: ServerProcess) -> Iterator[SidecarClient]:
    with SidecarClient(server.url, server.token) as client:
        yield client


def test_upload_list_download_delete(sidecar: SidecarClient, root: Path, tmp_path: Path) -> None:
    local = tmp_path / "input.dat"
    payload = os.urandom(3 * 1024 * 1024 + 5)  # several chunks, not a multiple of one
    local.write_bytes(payload)
    sent: list[tuple[int, int | None]] = []
    entry = sidecar.upload(
        local, "run/input.dat", parents=True, on_progress=lambda d, t: sent.append((d, t))
    )
    assert (entry.path, entry.size, entry.type) == ("run/input.dat", len(payload), FileType.FILE)
    assert sent[-1] == (len(payload), len(payload))
    assert (root / "run/input.dat").read_bytes() == payload

    listing = sidecar.list_files("run")
    assert (listing.path, [e.name for e in listing.entries]) == ("run", ["input.dat"])
    assert listing.root == str(root)

    got: list[tuple[int, int | None]] = []
    saved = sidecar.download(
        "run/input.dat", tmp_path / "copy.dat", on_progress=lambda d, t: got.append((d, t))
    )
    assert saved == tmp_path / "copy.dat"
    assert saved.read_bytes() == payload
    assert got[-1] == (len(payload), len(payload))
    assert sidecar.read_file("run/input.dat") == payload

    assert sidecar.delete_file("run/input.dat").name == "input.dat"
    assert sidecar.delete_file("run").type is FileType.DIR
    assert sidecar.list_files().entries == []


def test_sources_and_destinations(
    sidecar: SidecarClient, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sidecar.upload(b"from bytes", "a.txt")
    sidecar.upload(io.BytesIO(b"from a file object"), "b.txt")
    reader, writer = os.pipe()  # a stream of unknown length: sent chunked
    os.write(writer, b"from a pipe")
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        sidecar.upload(pipe, "c.txt")
    assert [(root / n).read_bytes() for n in ("a.txt", "b.txt", "c.txt")] == [
        b"from bytes",
        b"from a file object",
        b"from a pipe",
    ]
    monkeypatch.chdir(tmp_path)
    assert sidecar.download("a.txt") == Path("a.txt")
    (tmp_path / "into").mkdir()
    assert sidecar.download("b.txt", tmp_path / "into") == tmp_path / "into" / "b.txt"
    out = io.BytesIO()
    assert sidecar.download("c.txt", out) is None
    assert out.getvalue() == b"from a pipe"
    assert (tmp_path / "a.txt").read_bytes() == b"from bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "into"]


def test_errors_arrive_as_the_client_tree(
    sidecar: SidecarClient, root: Path, tmp_path: Path, outside: Path
) -> None:
    with pytest.raises(NotFound):
        sidecar.download("missing.txt", tmp_path / "missing.txt")
    assert list(tmp_path.iterdir()) == [outside], "a failed download leaves no file behind"
    with pytest.raises(ValidationFailed) as caught:
        sidecar.upload(b"x" * (MAX_UPLOAD + 1), "big.bin")
    assert caught.value.status_code == 413
    with pytest.raises(ValidationFailed) as caught:
        sidecar.list_files("../..")
    assert caught.value.status_code == 400
    with pytest.raises(ValidationFailed) as caught:
        sidecar.read_file("../etc/passwd")  # sent as it is, not normalised away
    assert "'..' is not allowed" in caught.value.detail
    (root / "out").symlink_to(outside)
    with pytest.raises(AuthFailed) as refused:
        sidecar.read_file("out/secret.txt")
    assert refused.value.status_code == 403
    (root / "full").mkdir()
    (root / "full/x").write_text("x")
    with pytest.raises(Conflict):
        sidecar.delete_file("full")
    assert sidecar.list_files().entries[0].name == "full"


def test_the_async_client_does_the_same(server: ServerProcess, root: Path, tmp_path: Path) -> None:
    payload = os.urandom(2 * 1024 * 1024 + 3)
    (tmp_path / "local.bin").write_bytes(payload)

    async def scenario() -> None:
        async with AsyncSidecarClient(server.url, server.token) as client:
            entry = await client.upload(tmp_path / "local.bin", "dir/remote.bin", parents=True)
            assert entry.size == len(payload)
            await client.upload(b"small", "dir/small.txt")
            listing = await client.list_files("dir")
            assert [e.name for e in listing.entries] == ["remote.bin", "small.txt"]
            saved = await client.download("dir/remote.bin", tmp_path / "back.bin")
            assert saved.read_bytes() == payload
            out = io.BytesIO()
            await client.download("dir/small.txt", out)
            assert out.getvalue() == await client.read_file("dir/small.txt") == b"small"
            with pytest.raises(NotFound):
                await client.delete_file("dir/none")
            assert (await client.delete_file("dir/small.txt")).size == 5

    asyncio.run(scenario())
    assert sorted(p.name for p in (root / "dir").iterdir()) == ["remote.bin"]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text("not yours\n")
    return path
