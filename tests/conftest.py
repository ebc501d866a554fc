"""Shared fixtures: the app through TestClient, backends for the contract suite, a token."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from sidecar.app import create_app
from sidecar.backends.base import JobBackend
from sidecar.config import Settings

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def flux_skip_reason() -> str | None:
    """Why the flux tests cannot run here, or None inside a usable Flux instance."""
    if shutil.which("flux") is None:
        return "flux is not on PATH"
    if not os.environ.get("FLUX_URI"):
        return "not inside a Flux instance (run: make test-flux)"
    try:
        import flux  # noqa: F401
    except ImportError as exc:
        return f"the Flux Python bindings do not import ({exc}; run: make test-flux)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = flux_skip_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "flux" in item.keywords:
            item.add_marker(skip)


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"token": TOKEN, "backend": "local", "local_cores": 4}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def make_backend(kind: str, settings: Settings) -> JobBackend:
    from sidecar.server import make_backend as build

    return build(settings.model_copy(update={"backend": kind}))


@pytest.fixture(
    params=["local", pytest.param("flux", marks=pytest.mark.flux)], ids=lambda kind: str(kind)
)
def backend_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app on the local backend; the lifespan runs for the test's duration."""
    app = create_app(settings, make_backend("local", settings))
    with TestClient(app, headers=AUTH) as test_client:
        yield test_client


@pytest.fixture
def any_client(backend_kind: str) -> Iterator[TestClient]:
    """The app on every backend: the contract suite runs through this."""
    settings = make_settings(backend=backend_kind)
    app = create_app(settings, make_backend(backend_kind, settings))
    with TestClient(app, headers=AUTH) as test_client:
        yield test_client
