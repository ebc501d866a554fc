"""Schemathesis over the whole OpenAPI document, with the token, against a real Flux instance.

As on the local backend (``tests/api/test_fuzz.py``): every phase and check,
every fuzzed job held at urgency 0 so that Flux never runs it, the streams
ended once quiet. Shutdown gets a server of its own, whose exit is not wired
and whose backend never stops the broker that the whole session's flux tests
share (``tests/flux/test_shutdown.py`` stops one of its own). Every job left
active is cancelled at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.models import ACTIVE_STATES, JobQuery
from sidecar.server.app import create_app
from tests.support.app import make_backend, make_settings
from tests.support.fuzz import fuzz_all_but_shutdown, fuzz_shutdown, on_server
from tests.support.held import HeldBackend
from tests.support.inprocess import LiveServer, serve_in_thread

pytestmark = pytest.mark.flux


@pytest.fixture
def backend() -> HeldBackend:
    settings = make_settings(backend="flux")
    return HeldBackend(make_backend("flux", settings), stop_broker=False)


@pytest.fixture
def live(backend: HeldBackend) -> Iterator[LiveServer]:
    with serve_in_thread(create_app(make_settings(backend="flux"), backend)) as server:
        try:
            yield server
        finally:
            page = on_server(server, backend.list_jobs(JobQuery(states=ACTIVE_STATES, limit=1000)))
            for job in page.jobs:
                on_server(server, backend.cancel(int(job.id_dec), "fuzzing is over"))


def test_every_operation_but_shutdown(
    live: LiveServer, backend: HeldBackend, tmp_path: Path
) -> None:
    fuzz_all_but_shutdown(live, backend, tmp_path, operations=26)


def test_shutdown_operations(live: LiveServer, backend: HeldBackend, tmp_path: Path) -> None:
    fuzz_shutdown(live, backend, tmp_path)
