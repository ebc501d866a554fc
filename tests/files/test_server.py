"""The files API of a real ``flux-sidecar serve`` over real sockets: what in-process
clients cannot send (raw ``..``, a body cut short, a length refused before any byte)
and what only a real server shows (atomic replacement while a reader looks)."""

from __future__ import annotations

import http.client
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from sidecar.filemodels import UPLOAD_PREFIX
from tests.files.conftest import leftovers
from tests.support.serverproc import ServerProcess, run_server

MAX_UPLOAD = 8 * 1024 * 1024
WAIT_SECONDS = 30.0  # a bound on waiting, never a measurement


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("files-server")
    env = {"FLUX_SIDECAR_MAX_UPLOAD_BYTES": str(MAX_UPLOAD)}
    with run_server(tmp, env=env) as process:
        yield process


@pytest.fixture
def root(server: ServerProcess) -> Iterator[Path]:
    assert server.files_root is not None
    yield server.files_root
    server.empty_files_root()


def raw_request(
    server: ServerProcess, method: str, target: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """One request with its target sent exactly as given: nothing normalises ``..``."""
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for key, value in {"Authorization": f"Bearer {server.token}", **(headers or {})}.items():
            connection.putheader(key, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(UPLOAD_PREFIX)]


@pytest.mark.parametrize(
    "target",
    [
        "/api/v1/files/../../../etc/passwd",
        "/api/v1/files/sub/../../secret",
        "/api/v1/files?path=../..",
    ],
)
def test_raw_dotdot_segments_are_400(server: ServerProcess, root: Path, target: str) -> None:
    status, body = raw_request(server, "GET", target)
    assert status == 400, body
    assert b"'..' is not allowed" in body


def test_an_upload_larger_than_any_other_body(server: ServerProcess, root: Path) -> None:
    payload = os.urandom(3 * 1024 * 1024)  # over the default 1 MiB body limit of other routes
    with server.client() as client:
        assert client.put("/api/v1/files/big.bin", content=payload).status_code == 201
        assert client.get("/api/v1/files/big.bin").content == payload
        part = client.get("/api/v1/files/big.bin", headers={"Range": "bytes=-16"})
        assert (part.status_code, part.content) == (206, payload[-16:])
        refused = client.post("/api/v1/jobs", content=b" " * (2 * 1024 * 1024))
        assert refused.status_code == 413


def test_a_declared_length_over_the_limit_is_refused_before_the_body(
    server: ServerProcess, root: Path
) -> None:
    status, body = raw_request(
        server, "PUT", "/api/v1/files/huge.bin", {"Content-Length": str(10 * 1024**3)}
    )
    assert status == 413, body
    assert str(MAX_UPLOAD).encode() in body
    assert leftovers(root) == []


def test_a_reader_sees_the_old_file_until_the_new_one_is_whole(
    server: ServerProcess, root: Path
) -> None:
    old = b"old report\n" * 1000
    new = os.urandom(4 * 1024 * 1024)
    (root / "report.txt").write_bytes(old)
    seen: list[bytes] = []

    def body() -> Iterator[bytes]:
        with server.client() as reader:
            for offset in range(0, len(new), 512 * 1024):
                yield new[offset : offset + 512 * 1024]
                if offset == 2 * 1024 * 1024:
                    # Part of the new content is on disk, beside the file, not in it.
                    wait_until(
                        lambda: any(p.stat().st_size >= 1024 * 1024 for p in temp_files(root)),
                        "a partly written upload",
                    )
                seen.append(reader.get("/api/v1/files/report.txt").content)
                seen.append((root / "report.txt").read_bytes())

    with server.client() as client:
        response = client.put("/api/v1/files/report.txt", content=body())
    assert response.status_code == 200, response.text
    assert set(seen) == {old}
    assert (root / "report.txt").read_bytes() == new
    assert leftovers(root) == ["report.txt"]


def test_an_upload_cut_short_leaves_nothing(server: ServerProcess, root: Path) -> None:
    (root / "keep.txt").write_text("old\n")
    address = urlsplit(server.url)
    for name in ("partial.bin", "keep.txt"):
        head = (
            f"PUT /api/v1/files/{name} HTTP/1.1\r\nHost: test\r\n"
            f"Authorization: Bearer {server.token}\r\nContent-Length: {4 * 1024 * 1024}\r\n\r\n"
        )
        with socket.create_connection((address.hostname, address.port or 80), timeout=30) as sock:
            sock.sendall(head.encode() + b"x" * (300 * 1024))
            wait_until(lambda: temp_files(root), "the upload to begin")
        wait_until(lambda: not temp_files(root), "the cut-short upload to be removed")
    assert leftovers(root) == ["keep.txt"]
    assert (root / "keep.txt").read_text() == "old\n"


def test_metrics_label_the_route_never_the_path(server: ServerProcess, root: Path) -> None:
    with server.client() as client:
        client.put("/api/v1/files/secret-name-1.txt", content=b"x")
        client.get("/api/v1/files/secret-name-1.txt")
        metrics = httpx.get(f"{server.url}/metrics").text
    assert 'route="/api/v1/files/{path}"' in metrics
    assert "secret-name" not in metrics
