"""The files API on a root of each test's own, with limits small enough to cross."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sidecar.server.app import create_app
from tests.support.app import AUTH, make_backend, make_settings

MAX_UPLOAD = 64 * 1024
MAX_BODY = 4 * 1024


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "root"
    path.mkdir()
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the root, with a secret no path under the root may reach."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text("not yours\n")
    return path


@pytest.fixture
def files(root: Path) -> Iterator[TestClient]:
    settings = make_settings(
        files_root=str(root), max_upload_bytes=MAX_UPLOAD, max_body_bytes=MAX_BODY
    )
    app = create_app(settings, make_backend("local", settings))
    with TestClient(app, headers=AUTH) as client:
        yield client


def leftovers(directory: Path) -> list[str]:
    """Names left in ``directory`` and below, temporary upload files included."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))
