"""The files API through TestClient: list, upload, download, delete, and their errors."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sidecar.server.app import create_app
from tests.files.conftest import MAX_BODY, MAX_UPLOAD, leftovers
from tests.support.app import AUTH, make_backend, make_settings

Sender = Callable[[bytes], dict[str, Any]]


def test_upload_then_list_download_and_delete(files: TestClient, root: Path) -> None:
    created = files.put("/api/v1/files/data/in.txt", content=b"one\ntwo\n", params={"parents": 1})
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/api/v1/files/data/in.txt"
    assert created.json() | {"mtime": 0} == {
        "name": "in.txt",
        "path": "data/in.txt",
        "type": "file",
        "size": 8,
        "mtime": 0,
        "target": None,
    }
    assert (root / "data/in.txt").read_bytes() == b"one\ntwo\n"

    listing = files.get("/api/v1/files", params={"path": "data"}).json()
    assert (listing["root"], listing["path"], listing["truncated"]) == (str(root), "data", False)
    shown = [(e["name"], e["type"], e["size"]) for e in listing["entries"]]
    assert shown == [("in.txt", "file", 8)]
    top = files.get("/api/v1/files").json()
    assert [(e["name"], e["type"]) for e in top["entries"]] == [("data", "dir")]

    download = files.get("/api/v1/files/data/in.txt")
    assert download.status_code == 200
    assert download.content == b"one\ntwo\n"
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["content-length"] == "8"
    assert download.headers["accept-ranges"] == "bytes"
    assert download.headers["content-disposition"].startswith('attachment; filename="in.txt"')

    removed = files.delete("/api/v1/files/data/in.txt")
    assert (removed.status_code, removed.json()["path"]) == (200, "data/in.txt")
    assert files.delete("/api/v1/files/data").status_code == 200
    assert leftovers(root) == []


def test_replacing_a_file_answers_200_and_keeps_its_mode(files: TestClient, root: Path) -> None:
    script = root / "run.sh"
    script.write_text("echo old\n")
    script.chmod(0o750)
    replaced = files.put("/api/v1/files/run.sh", content=b"echo new\n")
    assert replaced.status_code == 200, replaced.text
    assert script.read_text() == "echo new\n"
    assert script.stat().st_mode & 0o777 == 0o750
    assert leftovers(root) == ["run.sh"]


def test_an_upload_may_be_larger_than_the_body_limit_of_other_routes(files: TestClient) -> None:
    body = os.urandom(MAX_BODY * 4)
    assert files.put("/api/v1/files/blob.bin", content=body).status_code == 201
    assert files.get("/api/v1/files/blob.bin").content == body
    too_big = files.post("/api/v1/jobs", content=b"{" + b" " * MAX_BODY + b"}")
    assert too_big.status_code == 413


def test_an_empty_upload_makes_an_empty_file(files: TestClient, root: Path) -> None:
    assert files.put("/api/v1/files/empty", content=b"").status_code == 201
    assert (root / "empty").read_bytes() == b""
    download = files.get("/api/v1/files/empty")
    assert (download.status_code, download.content) == (200, b"")


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(lambda body: {"content": body}, id="with-content-length"),
        pytest.param(lambda body: {"content": iter([body[:1000], body[1000:]])}, id="chunked"),
    ],
)
def test_too_large_an_upload_is_413_and_leaves_nothing(
    files: TestClient, root: Path, send: Sender
) -> None:
    (root / "keep.txt").write_text("old\n")
    body = b"x" * (MAX_UPLOAD + 1)
    for target in ("new.bin", "keep.txt"):
        response = files.put(f"/api/v1/files/{target}", **send(body))
        assert response.status_code == 413, response.text
        assert "exceeds" in response.json()["detail"]
    assert leftovers(root) == ["keep.txt"]
    assert (root / "keep.txt").read_text() == "old\n"


def test_a_refused_upload_removes_the_directories_it_made(files: TestClient, root: Path) -> None:
    (root / "a").mkdir()
    chunks = iter([b"x" * MAX_UPLOAD, b"x"])  # no Content-Length: refused midway
    response = files.put("/api/v1/files/a/b/c/big.bin", content=chunks, params={"parents": 1})
    assert response.status_code == 413
    assert leftovers(root) == ["a"]


def test_a_path_ending_in_a_slash_is_no_file_to_upload(files: TestClient, root: Path) -> None:
    response = files.put("/api/v1/files/newdir/", content=b"x")
    assert response.status_code == 400
    assert leftovers(root) == []


def test_missing_parents_are_404_unless_asked_for(files: TestClient, root: Path) -> None:
    missing = files.put("/api/v1/files/a/b/c.txt", content=b"x")
    assert missing.status_code == 404
    assert "'a'" in missing.json()["detail"]
    assert leftovers(root) == []
    made = files.put("/api/v1/files/a/b/c.txt", content=b"x", params={"parents": "true"})
    assert made.status_code == 201
    assert leftovers(root) == ["a", "a/b", "a/b/c.txt"]


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("PUT", "/api/v1/files/adir", {}),
        ("PUT", "/api/v1/files/afile/below", {}),
        ("PUT", "/api/v1/files/afile/below", {"parents": "true"}),
        ("GET", "/api/v1/files/adir", {}),
        ("GET", "/api/v1/files/", {}),
        ("GET", "/api/v1/files", {"path": "afile"}),
        ("DELETE", "/api/v1/files/adir", {}),
        ("DELETE", "/api/v1/files/", {}),
    ],
    ids=[
        "upload-onto-a-directory",
        "upload-below-a-file",
        "upload-below-a-file-with-parents",
        "download-a-directory",
        "download-the-root",
        "list-a-file",
        "delete-a-full-directory",
        "delete-the-root",
    ],
)
def test_type_conflicts_are_409(
    files: TestClient, root: Path, method: str, path: str, params: dict[str, str]
) -> None:
    (root / "adir").mkdir()
    (root / "adir/inside.txt").write_text("x")
    (root / "afile").write_text("x")
    response = files.request(method, path, params=params, content=b"body")
    assert response.status_code == 409, response.text
    assert response.json()["detail"]
    assert leftovers(root) == ["adir", "adir/inside.txt", "afile"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/files/nope.txt"), ("DELETE", "/api/v1/files/nope.txt")],
    ids=["download", "delete"],
)
def test_missing_files_are_404(files: TestClient, method: str, path: str) -> None:
    response = files.request(method, path)
    assert response.status_code == 404
    assert response.json() == {"detail": "'nope.txt' not found under the files root"}
    assert files.get("/api/v1/files", params={"path": "nodir"}).status_code == 404


def test_listing_shows_links_sorted_and_truncated(files: TestClient, root: Path) -> None:
    for name in ("b.txt", "a.txt", "c.txt"):
        (root / name).write_text(name)
    (root / "sub").mkdir()
    (root / "link").symlink_to("a.txt")
    listing = files.get("/api/v1/files").json()
    shown = [(e["name"], e["type"], e["target"]) for e in listing["entries"]]
    assert shown == [
        ("a.txt", "file", None),
        ("b.txt", "file", None),
        ("c.txt", "file", None),
        ("link", "symlink", "a.txt"),
        ("sub", "dir", None),
    ]
    first_two = files.get("/api/v1/files", params={"limit": 2}).json()
    assert [e["name"] for e in first_two["entries"]] == ["a.txt", "b.txt"]
    assert first_two["truncated"] is True
    # A link inside the root is followed for reading.
    assert files.get("/api/v1/files/link").content == b"a.txt"


def test_listing_hides_uploads_still_being_written(files: TestClient, root: Path) -> None:
    (root / ".flux-sidecar-upload-0123456789abcdef").write_bytes(b"half")
    (root / ".hidden").write_text("shown")
    names = [e["name"] for e in files.get("/api/v1/files").json()["entries"]]
    assert names == [".hidden"]


def test_a_fifo_is_refused_rather_than_waited_on(files: TestClient, root: Path) -> None:
    os.mkfifo(root / "pipe")
    response = files.get("/api/v1/files/pipe")
    assert response.status_code == 409
    assert "not a regular file" in response.json()["detail"]
    assert files.get("/api/v1/files").json()["entries"][0]["type"] == "other"


def test_names_outside_ascii_survive_headers(files: TestClient, root: Path) -> None:
    name = "résumé ✓.txt"
    created = files.put(f"/api/v1/files/{name}", content=b"cv")
    assert created.status_code == 201
    assert created.headers["location"] == "/api/v1/files/r%C3%A9sum%C3%A9%20%E2%9C%93.txt"
    download = files.get(f"/api/v1/files/{name}")
    assert download.content == b"cv"
    disposition = download.headers["content-disposition"]
    assert "filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%9C%93.txt" in disposition
    assert (root / name).read_bytes() == b"cv"


def test_a_missing_root_is_made_at_start(tmp_path: Path) -> None:
    settings = make_settings(files_root=str(tmp_path / "not" / "yet"))
    with TestClient(create_app(settings, make_backend("local", settings)), headers=AUTH) as client:
        assert client.get("/api/v1/files").json()["entries"] == []
    assert (tmp_path / "not/yet").is_dir()


def test_an_unusable_root_is_503(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    settings = make_settings(files_root=str(blocker / "root"))
    with TestClient(create_app(settings, make_backend("local", settings)), headers=AUTH) as client:
        response = client.get("/api/v1/files")
        assert response.status_code == 503
        assert "is not available" in response.json()["detail"]
        assert client.put("/api/v1/files/x", content=b"x").status_code == 503
