"""Shared fixtures: the app through TestClient, backends for the contract suite, a token."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from sidecar.config import Settings
from sidecar.server.app import create_app
from tests.support.app import AUTH, make_backend, make_settings
from tests.support.flux import flux_skip_reason


def pytest_configure(config: pytest.Config) -> None:
    # A shell runs a background job with SIGINT ignored, and a process started
    # from here inherits that: the CLI tests that press Ctrl-C need it handled.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = flux_skip_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if item.get_closest_marker("flux") is not None:
            item.add_marker(skip)


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
