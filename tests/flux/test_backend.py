"""The flux backend on a real instance (``make test-flux``: inside ``flux start --test-size=2``).

What the contract suite cannot say about Flux: jobs span the instance's two
ranks, Flux's own tools agree with the API, and errors carry Flux's words.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sidecar.jobid import parse_jobid
from sidecar.jobspec import DEFAULT_PATH
from sidecar.server.app import create_app
from tests.support.app import AUTH, make_backend, make_settings
from tests.support.flux import flux, flux_bindir
from tests.support.jobwait import job_of, wait_for

pytestmark = pytest.mark.flux


@pytest.fixture
def api() -> Iterator[TestClient]:
    settings = make_settings(backend="flux")
    with TestClient(create_app(settings, make_backend("flux", settings)), headers=AUTH) as client:
        yield client


def submit(api: TestClient, **body: Any) -> dict[str, Any]:
    response = api.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def output(api: TestClient, job_id: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get(
        f"/api/v1/jobs/{job_id}/output", params=params, headers={"Accept": "application/x-ndjson"}
    )
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def test_info_reports_the_instance(api: TestClient) -> None:
    backend = api.get("/api/v1/info").json()["backend"]
    assert (backend["kind"], backend["size"]) == ("flux", 2)
    assert backend["broker_version"] in flux("version")
    assert backend["flux_version"] in flux("version")


def test_a_job_spans_both_ranks(api: TestClient) -> None:
    # `flux getattr rank` in each task names the broker rank it runs on.
    env = {"PATH": f"{flux_bindir()}:{DEFAULT_PATH}"}
    job = submit(api, command=["flux", "getattr", "rank"], nodes=2, tasks=2, env=env)
    done = wait_for(api, job["id"])
    assert (done["result"], done["nodes"], done["tasks"]) == ("COMPLETED", 2, 2)
    assert sorted(line["data"] for line in output(api, job["id"])) == ["0\n", "1\n"]
    assert done["nodelist"] == flux("jobs", "-no", "{nodelist}", job["id"]).strip()


def test_lines_carry_their_task_rank(api: TestClient) -> None:
    job = submit(api, command=["sh", "-c", "echo task-$FLUX_TASK_RANK"], tasks=2)
    wait_for(api, job["id"])
    lines = output(api, job["id"])
    assert sorted((line["rank"], line["data"]) for line in lines) == [
        (0, "task-0\n"),
        (1, "task-1\n"),
    ]


def test_time_limit_as_a_flux_duration_ends_in_timeout(api: TestClient) -> None:
    job = submit(api, command=["sleep", "60"], time_limit="0.02m")
    done = wait_for(api, job["id"])
    assert (done["result"], done["exception"]["type"]) == ("TIMEOUT", "timeout")
    assert float(flux("jobs", "-no", "{duration}", job["id"])) == pytest.approx(1.2)


def test_signal_reaches_the_tasks(api: TestClient) -> None:
    script = 'trap "echo got-usr1; exit 7" USR1; echo ready; while :; do sleep 0.1; done'
    job = submit(api, command=["sh", "-c", script])
    deadline = time.monotonic() + 60
    while "ready\n" not in [line["data"] for line in output(api, job["id"])]:
        assert time.monotonic() < deadline, job_of(api, job["id"])
        time.sleep(0.1)
    response = api.post(f"/api/v1/jobs/{job['id']}/signal", json={"signal": "USR1"})
    assert response.status_code == 202, response.text
    done = wait_for(api, job["id"])
    assert (done["result"], done["returncode"]) == ("FAILED", 7)
    assert "got-usr1\n" in [line["data"] for line in output(api, job["id"])]


def test_signal_before_the_job_runs_is_a_conflict(api: TestClient) -> None:
    job = submit(api, command=["true"], urgency=0)
    try:
        response = api.post(f"/api/v1/jobs/{job['id']}/signal", json={"signal": "USR1"})
        assert response.status_code == 409
        assert "not running" in response.json()["detail"]
    finally:
        api.post(f"/api/v1/jobs/{job['id']}/cancel")


def _cli_resources() -> dict[str, list[str]]:
    return {
        state: flux(
            "resource", "list", "-n", "-s", state, "-o", "{nnodes} {ncores} {ngpus} {nodelist}"
        )
        .strip()
        .split(" ")
        for state in ("all", "up", "down", "allocated", "free")
    }


def _api_resources(api: TestClient) -> dict[str, list[str]]:
    body = api.get("/api/v1/resources").json()
    key = {"all": "total"}
    return {
        state: [
            *(str(body[kind][key.get(state, state)]) for kind in ("nodes", "cores", "gpus")),
            *([body["nodelist"][state]] if state != "all" and body["nodelist"][state] else []),
        ]
        for state in ("all", "up", "down", "allocated", "free")
    }


def test_resources_equal_flux_resource_list(api: TestClient) -> None:
    for _ in range(20):  # a job of another test may end in between: read until still
        before, cli, after = _api_resources(api), _cli_resources(), _api_resources(api)
        if before == after:
            break
        time.sleep(0.2)
    cli["all"] = cli["all"][:3]  # the API gives node lists by state, not for all
    assert before == cli
    assert (before["all"][:2], before["up"][:2]) == (["2", "4"], ["2", "4"])


def test_refusals_name_the_field_or_keep_fluxs_words(api: TestClient) -> None:
    # A malformed jobspec never reaches Flux: the request's schema names what is wrong.
    response = api.post("/api/v1/jobs", json={"jobspec": {"version": 1, "tasks": []}})
    assert response.status_code == 422
    assert "jobspec.resources" in [e["field"] for e in response.json()["errors"]]
    refused = api.post("/api/v1/jobs", json={"command": ["true"], "dependencies": ["nope:1"]})
    assert refused.status_code == 422
    assert "nope" in refused.json()["detail"]


def test_pages_hold_every_job_once_while_jobs_arrive(api: TestClient) -> None:
    name = f"paging-{uuid.uuid4().hex[:8]}"
    held = flux("submit", "--cc=1-150", "--urgency=0", f"--job-name={name}", "true").split()
    added: list[str] = []
    try:
        seen: list[dict[str, Any]] = []
        params: dict[str, Any] = {"name": name, "limit": 7}
        while True:
            page = api.get("/api/v1/jobs", params=params).json()
            seen += page["jobs"]
            if not page["next"]:
                break
            params["cursor"] = page["next"]
            added.append(submit(api, command=["true"], name=name, urgency=0)["id"])
        ids = [int(job["id_dec"]) for job in seen]
        assert sorted(ids) == sorted(parse_jobid(job) for job in held)
        keys = [(job["t_submit"], int(job["id_dec"])) for job in seen]
        assert keys == sorted(keys, reverse=True)
        everything = api.get("/api/v1/jobs", params={"name": name, "limit": 1000}).json()
        newest = [parse_jobid(job) for job in added[::-1]]
        assert [int(job["id_dec"]) for job in everything["jobs"]] == newest + ids
    finally:
        flux("cancel", *held, *added)


def test_the_request_shape_reaches_flux(api: TestClient, tmp_path: Path) -> None:
    here = submit(api, command=["pwd"], cwd=str(tmp_path), name="where")
    whole = submit(api, command=["true"], nodes=1, tasks=1, exclusive=True)
    assert [line["data"] for line in output(api, wait_for(api, here["id"])["id"])] == [
        f"{tmp_path}\n"
    ]
    assert (wait_for(api, whole["id"])["cores"], flux("jobs", "-no", "{ncores}", whole["id"])) == (
        2,
        "2\n",
    )
    queue = api.post("/api/v1/jobs", json={"command": ["true"], "queue": "nope"})
    assert (queue.status_code, queue.json()["detail"]) == (422, "'nope' is not a valid queue")
    # Flux takes an unsatisfiable job and fails it at allocation, as `flux submit` does.
    gpus = wait_for(api, submit(api, command=["true"], gpus_per_task=1)["id"])
    assert (gpus["result"], gpus["exception"]["type"]) == ("FAILED", "alloc")


def test_a_batch_script_is_an_instance_of_its_own(api: TestClient) -> None:
    script = "#!/bin/sh\necho size=$(flux getattr size)\nflux run -N2 -n2 true && echo ran\n"
    job = submit(api, script=script, tasks=2, nodes=2)
    done = wait_for(api, job["id"], timeout=120)
    assert (done["result"], done["nodes"]) == ("COMPLETED", 2)
    text = api.get(f"/api/v1/jobs/{job['id']}/output", params={"stream": "stdout"}).text
    assert text.splitlines() == ["size=2", "ran"]
