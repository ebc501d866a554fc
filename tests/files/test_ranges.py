"""Downloads with ``Range``: the first bytes, a suffix, an open end, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

DATA = bytes(range(256)) * 4  # 1024 bytes, each position distinguishable from its neighbours
SIZE = len(DATA)


@pytest.fixture
def data_file(root: Path) -> str:
    (root / "data.bin").write_bytes(DATA)
    return "/api/v1/files/data.bin"


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=-100", SIZE - 100, SIZE - 1),
        ("bytes=1000-", 1000, SIZE - 1),
        ("bytes=1000-5000", 1000, SIZE - 1),
        ("bytes=-5000", 0, SIZE - 1),
        ("bytes=5-5", 5, 5),
        (" Bytes = 10-19 ", 10, 19),
        ("bytes=1-2,", 1, 2),
        ("bytes=, 3-4 ,,", 3, 4),
    ],
    ids=[
        "first-bytes",
        "suffix",
        "open-end",
        "end-past-file",
        "long-suffix",
        "one",
        "spaced",
        "empty-element-after",
        "empty-elements-around",
    ],
)
def test_a_range_is_206_with_exactly_those_bytes(
    files: TestClient, data_file: str, header: str, first: int, last: int
) -> None:
    response = files.get(data_file, headers={"Range": header})
    assert response.status_code == 206, response.text
    assert response.content == DATA[first : last + 1]
    assert response.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert response.headers["content-length"] == str(last - first + 1)


@pytest.mark.parametrize(
    "header",
    [
        "bytes=abc",
        "bytes=",
        "bytes=,",
        "bytes=-",
        "bytes=10-5",
        "bytes=1024-",
        "bytes=5000-6000",
        "bytes=-0",
    ],
    ids=[
        "letters",
        "empty",
        "only-commas",
        "dash",
        "backwards",
        "at-the-end",
        "past-the-end",
        "empty-suffix",
    ],
)
def test_a_bad_range_is_416_with_the_size(files: TestClient, data_file: str, header: str) -> None:
    response = files.get(data_file, headers={"Range": header})
    assert response.status_code == 416, response.text
    assert response.headers["content-range"] == f"bytes */{SIZE}"
    assert response.json()["detail"]


@pytest.mark.parametrize("header", ["items=0-1", "bytes=0-1,5-6"], ids=["other-unit", "several"])
def test_ranges_it_does_not_serve_get_the_whole_file(
    files: TestClient, data_file: str, header: str
) -> None:
    response = files.get(data_file, headers={"Range": header})
    assert response.status_code == 200
    assert response.content == DATA


def test_an_empty_file_has_no_range_to_give(files: TestClient, root: Path) -> None:
    (root / "empty").write_bytes(b"")
    response = files.get("/api/v1/files/empty", headers={"Range": "bytes=-10"})
    assert (response.status_code, response.headers["content-range"]) == (416, "bytes */0")
