"""Fuzzing the API from its own OpenAPI document (schemathesis, fixed seed, bounded).

Every fuzzed job is held (urgency 0) by the backend under test, so random
input can be recorded but never run: the last test checks that none ran.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation

from sidecar.backends.local.backend import LocalBackend
from sidecar.jobspec import request_from_jobspec
from sidecar.models import Job, JobQuery, JobRequest
from sidecar.server.app import create_app
from tests.support.app import AUTH, make_settings
from tests.support.inprocess import LiveServer, serve_in_thread

Operation = APIOperation[Any, Any, Any, Any]

# Excluded: the all-jobs event stream never ends by design, and shutdown and
# upstream's stop would end the server under test (both are tested elsewhere).
EXCLUDED_PATHS = r"(/events$|/shutdown$|/service/stop$)"


class HeldBackend(LocalBackend):
    """The local backend with every job held: accepted and listed, never started."""

    async def submit(self, request: JobRequest) -> Job:
        if request.jobspec is not None:
            request = request_from_jobspec(request.jobspec)
        return await super().submit(request.model_copy(update={"urgency": 0}))


@pytest.fixture(scope="module")
def backend() -> HeldBackend:
    return HeldBackend(cores=2)


@pytest.fixture(scope="module")
def live(backend: HeldBackend) -> Iterator[LiveServer]:
    with serve_in_thread(create_app(make_settings(), backend)) as server:
        yield server


def _operations() -> list[Operation]:
    document = create_app(make_settings(), LocalBackend(cores=1)).openapi()
    schema = schemathesis.openapi.from_dict(document).exclude(path_regex=EXCLUDED_PATHS)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operations.append(result.ok())
    return operations


@pytest.mark.parametrize(
    "operation", _operations(), ids=lambda op: f"{op.method.upper()} {op.path}"
)
@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_api_conforms_and_never_fails(
    live: LiveServer, operation: Operation, data: st.DataObject
) -> None:
    case = data.draw(operation.as_strategy())
    response = case.call(base_url=live.url, headers=AUTH, timeout=20)
    assert response.status_code < 500, response.text
    # Schema-valid input may still be refused with 400/422: JSON Schema cannot say
    # "nodes <= tasks", "exclusive needs nodes", Flux's id grammar, or what the
    # instance can satisfy. Everything else schemathesis checks stays on.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])


def test_no_fuzzed_job_ran(live: LiveServer, backend: HeldBackend) -> None:
    loop = live.server.loop
    assert loop is not None
    page = asyncio.run_coroutine_threadsafe(backend.list_jobs(JobQuery(limit=1000)), loop).result(
        timeout=30
    )
    assert all(job.t_run is None for job in page.jobs)
