"""Schemathesis over the whole OpenAPI document, with the token, against the local backend.

Every fuzzed job is held, so random input is recorded but never run; the
streams end when they go quiet (``tests.support.held``). Shutdown ends what
it is sent to, so it gets a server of its own whose exit is not wired:
``tests/server/test_shutdown.py`` covers the exit itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.backends.local.backend import LocalBackend
from sidecar.server.app import create_app
from tests.support.app import make_settings
from tests.support.fuzz import fuzz_all_but_shutdown, fuzz_shutdown
from tests.support.held import HeldBackend
from tests.support.inprocess import LiveServer, serve_in_thread


@pytest.fixture
def backend() -> HeldBackend:
    return HeldBackend(LocalBackend(cores=4))


@pytest.fixture
def live(backend: HeldBackend) -> Iterator[LiveServer]:
    with serve_in_thread(create_app(make_settings(), backend)) as server:
        yield server


def test_every_operation_but_shutdown(
    live: LiveServer, backend: HeldBackend, tmp_path: Path
) -> None:
    fuzz_all_but_shutdown(live, backend, tmp_path, operations=26)


def test_shutdown_operations(live: LiveServer, backend: HeldBackend, tmp_path: Path) -> None:
    fuzz_shutdown(live, backend, tmp_path)
