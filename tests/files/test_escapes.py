"""Every way out of the files root is refused: by its text (400) or where it resolves (403).

Nothing outside the root is read, written or removed in any case. Raw ``..``
segments, which HTTP clients normalise away before sending, are sent as they
are to a real server in ``test_server.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sidecar.api.files.paths import FileRoot
from sidecar.errors import PathOutsideRoot
from tests.files.conftest import leftovers

MALFORMED = {
    "encoded-dotdot": "%2e%2e/outside/secret.txt",
    "encoded-dotdot-upper": "%2E%2E/outside/secret.txt",
    "dotdot-below-a-name": "sub/%2e%2e/%2e%2e/outside/secret.txt",
    "absolute": "/etc/passwd",
    "encoded-absolute": "%2Fetc%2Fpasswd",
    "nul": "secret%00.txt",
    "backslash": "..%5Coutside%5Csecret.txt",
}


@pytest.fixture
def links(root: Path, outside: Path) -> Path:
    """Links from inside the root to outside it: to a file, to a directory, relative."""
    (root / "sub").mkdir()
    (root / "leak.txt").symlink_to(outside / "secret.txt")
    (root / "out").symlink_to(outside)
    (root / "sub" / "sneaky").symlink_to("../../outside")
    return outside


def outside_untouched(outside: Path) -> None:
    assert leftovers(outside) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "not yours\n"


@pytest.mark.parametrize("path", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_malformed_paths_are_400(
    files: TestClient, links: Path, root: Path, method: str, path: str
) -> None:
    response = files.request(method, f"/api/v1/files/{path}", content=b"overwritten")
    assert response.status_code == 400, response.text
    assert response.json()["detail"]
    outside_untouched(links)
    assert "outside" not in leftovers(root)


@pytest.mark.parametrize(
    "path", ["../outside", "/etc", "sub/../..", "a\0b", "..\\outside"], ids=repr
)
def test_malformed_list_paths_are_400(files: TestClient, path: str) -> None:
    response = files.get("/api/v1/files", params={"path": path})
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "leak.txt"),
        ("PUT", "leak.txt"),
        ("GET", "out/secret.txt"),
        ("PUT", "out/secret.txt"),
        ("PUT", "out/new.txt"),
        ("PUT", "out/deeper/new.txt?parents=true"),
        ("DELETE", "out/secret.txt"),
        ("GET", "sub/sneaky/secret.txt"),
        ("PUT", "sub/sneaky/new.txt"),
        ("DELETE", "sub/sneaky/secret.txt"),
    ],
    ids=lambda value: str(value).replace("/", "-"),
)
def test_links_that_lead_outside_are_403(
    files: TestClient, links: Path, method: str, path: str
) -> None:
    response = files.request(method, f"/api/v1/files/{path}", content=b"overwritten")
    assert response.status_code == 403, response.text
    assert "leads outside the files root" in response.json()["detail"]
    outside_untouched(links)


@pytest.mark.parametrize("path", ["out", "sub/sneaky"])
def test_listing_through_a_link_that_leads_outside_is_403(
    files: TestClient, links: Path, path: str
) -> None:
    response = files.get("/api/v1/files", params={"path": path})
    assert response.status_code == 403
    assert "secret" not in response.text


def test_deleting_a_link_removes_the_link_never_its_target(
    files: TestClient, links: Path, root: Path
) -> None:
    for link in ("leak.txt", "out", "sub/sneaky"):
        response = files.delete(f"/api/v1/files/{link}")
        assert (response.status_code, response.json()["type"]) == (200, "symlink")
    assert leftovers(root) == ["sub"]
    outside_untouched(links)


def test_a_link_swapped_in_after_resolving_is_not_followed(root: Path, outside: Path) -> None:
    # The race a check-then-open would lose: "out" was a directory when the path was
    # resolved, and is a link by the time it is opened. The walk opens without following.
    (root / "out").symlink_to(outside)
    with pytest.raises(PathOutsideRoot), FileRoot(root).directory(("out",)):
        pass
