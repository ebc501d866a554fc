"""A client generated from the OpenAPI document (``openapi-python-client``) drives a real server.

What a user of another language would do with ``/openapi.json``: generate a
client, then submit, list and cancel a job with it. The generator runs here,
offline, into the test's own folder.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from sidecar.jobspec import build_jobspec
from sidecar.models import JobRequest
from tests.support.serverproc import ServerProcess, run_server

PACKAGE = "sidecar_generated_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with run_server(tmp_path_factory.mktemp("server")) as process:
        yield process


@pytest.fixture(scope="module")
def generated(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The name of the package generated from the server's own document, importable."""
    root = tmp_path_factory.mktemp("generated")
    document = root / "openapi.json"
    document.write_bytes(httpx.get(f"{server.url}/openapi.json", timeout=30).content)
    # The generator formats its output with ruff, which lives beside this interpreter.
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [str(GENERATOR), "generate", f"--path={document}", "--meta=none"]
    done = subprocess.run(
        [*command, f"--output-path={root / PACKAGE}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Unable to" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(root))
    try:
        yield PACKAGE
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def module(package: str, name: str) -> ModuleType:
    return importlib.import_module(f"{package}.{name}")


@pytest.fixture
def client(generated: str, server: ServerProcess) -> Iterator[Any]:
    authenticated = module(generated, "client").AuthenticatedClient
    with authenticated(base_url=server.url, token=server.token) as api:
        yield api


def ended(generated: str, client: Any, job_id: str) -> Any:
    get_job = module(generated, "api.jobs.get_job")
    deadline = time.monotonic() + 60
    while True:
        job = get_job.sync(client=client, job_id=job_id)
        if job.state.value == "INACTIVE":
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def test_submit_list_and_cancel(generated: str, client: Any) -> None:
    models = module(generated, "models")
    submit_job = module(generated, "api.jobs.submit_job")
    list_jobs = module(generated, "api.jobs.list_jobs")
    cancel_job = module(generated, "api.jobs.cancel_job")

    job = submit_job.sync(client=client, body=models.CommandJob(command="sleep 60", name="gen"))
    assert isinstance(job, models.Job), job
    page = list_jobs.sync(client=client, name="gen")
    assert [listed.id for listed in page.jobs] == [job.id]
    accepted = cancel_job.sync(
        client=client, job_id=job.id, body=models.CancelRequest(reason="generated client")
    )
    assert isinstance(accepted, models.Accepted), accepted
    done = ended(generated, client, job.id)
    assert done.result.value == "CANCELED"
    assert done.exception.note == "generated client"


def test_every_form_of_submission(generated: str, client: Any) -> None:
    models = module(generated, "models")
    submit_job = module(generated, "api.jobs.submit_job")
    spec = build_jobspec(JobRequest(command=["true"], name="from-jobspec"))
    bodies = [
        models.CommandJob(command=["true"], time_limit="1m"),
        models.ExclusiveCommandJob(command="true", exclusive=True, nodes=1),
        models.JobspecJob.from_dict({"jobspec": spec}),
        models.ScriptJob(script="#!/bin/sh\ntrue\n", batch=False),
        models.ExclusiveScriptJob(script="#!/bin/sh\ntrue\n", exclusive=True, nodes=1),
    ]
    for body in bodies:
        job = submit_job.sync(client=client, body=body)
        assert isinstance(job, models.Job), job
        assert ended(generated, client, job.id).result.value == "COMPLETED"


def test_errors_come_back_as_the_documented_models(generated: str, client: Any) -> None:
    models = module(generated, "models")
    get_job = module(generated, "api.jobs.get_job")
    submit_job = module(generated, "api.jobs.submit_job")
    missing = get_job.sync(client=client, job_id="ƒ2")
    assert isinstance(missing, models.ErrorBody)
    assert "not found" in missing.detail
    refused = submit_job.sync(client=client, body=models.CommandJob(command=["true"], nodes=2))
    assert isinstance(refused, models.ValidationErrorBody)
    assert "nodes" in refused.detail
