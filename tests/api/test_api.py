"""API behaviour of the service core on the local backend: auth, validation, limits, docs."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sidecar.backends.local.backend import LocalBackend
from sidecar.jobspec import build_jobspec
from sidecar.models import JobRequest
from sidecar.server.app import create_app
from tests.support.app import TOKEN, make_settings
from tests.support.jobwait import wait_for

SPEC = build_jobspec(JobRequest(command=["true"]))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def anonymous() -> Iterator[TestClient]:
    app = create_app(make_settings(user="flux"), LocalBackend(cores=2))
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        pytest.param(None, 401, id="missing"),
        pytest.param(f"Token {TOKEN}", 401, id="wrong-scheme"),
        pytest.param("Bearer not-the-token", 401, id="wrong-token"),
        pytest.param(f"Bearer {TOKEN}", 200, id="right-token"),
        pytest.param(basic("flux", TOKEN), 200, id="basic"),
        pytest.param(basic("someone", TOKEN), 401, id="basic-wrong-user"),
        pytest.param(basic("flux", "nope"), 401, id="basic-wrong-token"),
        pytest.param("Basic !!!", 401, id="basic-malformed"),
    ],
)
def test_auth(anonymous: TestClient, authorization: str | None, status: int) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = anonymous.get("/api/v1/jobs", headers=headers)
    assert response.status_code == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert TOKEN not in response.text


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_are_open(anonymous: TestClient, path: str) -> None:
    assert anonymous.get(path).status_code == 200


def test_auth_can_be_disabled() -> None:
    app = create_app(make_settings(auth=False, token=None), LocalBackend(cores=2))
    with TestClient(app) as client:
        assert client.get("/api/v1/jobs").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"command": ["true"], "tasks": -1}, "tasks", id="negative-tasks"),
        pytest.param({"command": ["true"], "tasks": "2"}, "tasks", id="string-tasks"),
        pytest.param({"command": ["true"], "cores_per_task": 0}, "cores_per_task", id="zero-cores"),
        pytest.param({"command": ["true"], "gpus_per_task": -1}, "gpus_per_task", id="gpus"),
        pytest.param({"command": ["true"], "urgency": 32}, "urgency", id="urgency"),
        pytest.param({"command": ["true"], "time_limit": "soon"}, "time_limit", id="duration"),
        pytest.param({"command": ["true"], "env": {"A=B": "x"}}, "env.A=B", id="env-name"),
        pytest.param({"command": []}, "command", id="empty-command"),
        pytest.param({"command": 5}, "command", id="command-type"),
        pytest.param({"command": ["true"], "tsks": 2}, "tsks", id="unknown-field"),
        pytest.param({}, "body", id="neither"),
        pytest.param({"command": ["true"], "jobspec": SPEC}, "body", id="both"),
        pytest.param({"jobspec": SPEC, "name": "x"}, "body", id="jobspec-and-fields"),
        pytest.param({"command": ["true"], "nodes": 2}, "body", id="nodes-over-tasks"),
        pytest.param({"command": ["true"], "exclusive": True}, "body", id="exclusive-no-nodes"),
    ],
)
def test_bad_submissions_name_the_field(client: TestClient, body: Any, field: str) -> None:
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    payload = response.json()
    assert isinstance(payload["detail"], str)
    assert field in [e["field"] for e in payload["errors"]]
    assert client.get("/api/v1/jobs").json()["jobs"] == []


def test_malformed_json(client: TestClient) -> None:
    response = client.post(
        "/api/v1/jobs", content=b'{"command": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"]


@pytest.mark.parametrize(
    "shape",
    [{"tasks": 64}, {"nodes": 2, "tasks": 2}, {"gpus_per_task": 1}],
    ids=["cores", "nodes", "gpus"],
)
def test_unsatisfiable_request_fails_at_allocation(client: TestClient, shape: Any) -> None:
    # As Flux does: the job is taken, then fails when it would be allocated.
    response = client.post("/api/v1/jobs", json={"command": ["true"], **shape})
    assert response.status_code == 201, response.text
    job = wait_for(client, response.json()["id"])
    assert job["result"] == "FAILED"
    assert job["exception"]["type"] == "alloc"
    assert job["exception"]["note"].startswith("unsatisfiable request")
    assert job["t_run"] is None


def test_a_queue_is_refused_on_the_local_backend(client: TestClient) -> None:
    response = client.post("/api/v1/jobs", json={"command": ["true"], "queue": "batch"})
    assert response.status_code == 422
    assert "queue" in response.json()["detail"]


def test_body_over_the_limit(client: TestClient) -> None:
    big = {"command": ["true"], "env": {"BIG": "x" * (1024 * 1024 + 1)}}
    assert client.post("/api/v1/jobs", json=big).status_code == 413

    def chunks() -> Iterator[bytes]:
        yield b'{"command": ["true"], "name": "'
        for _ in range(40):
            yield b"y" * 32768
        yield b'"}'

    assert client.post("/api/v1/jobs", content=chunks()).status_code == 413
    assert client.get("/api/v1/jobs").json()["jobs"] == []


def test_bad_signal(client: TestClient) -> None:
    job = client.post("/api/v1/jobs", json={"command": ["sleep", "30"]}).json()
    wait_for(client, job["id"], "RUN")
    response = client.post(f"/api/v1/jobs/{job['id']}/signal", json={"signal": "SIGNOPE"})
    assert response.status_code == 422
    client.post(f"/api/v1/jobs/{job['id']}/cancel")


def test_jobs_wait_in_sched_while_cores_are_busy() -> None:
    app = create_app(make_settings(), LocalBackend(cores=1))
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        running = client.post("/api/v1/jobs", json={"command": ["sleep", "30"]}).json()
        waiting = client.post("/api/v1/jobs", json={"command": ["true"]}).json()
        wait_for(client, running["id"], "RUN")
        assert client.get(f"/api/v1/jobs/{waiting['id']}").json()["state"] == "SCHED"
        resources = client.get("/api/v1/resources").json()
        assert resources["cores"]["allocated"] == 1
        client.post(f"/api/v1/jobs/{running['id']}/cancel")
        assert wait_for(client, waiting["id"])["result"] == "COMPLETED"


def test_token_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    settings = make_settings(token=None, token_file=token_file)
    with TestClient(create_app(settings, LocalBackend(cores=2))) as client:
        first = {"Authorization": "Bearer first-token"}
        assert client.get("/api/v1/info", headers=first).status_code == 200
        replacement = tmp_path / "token.new"
        replacement.write_text("second-token\n")
        replacement.replace(token_file)
        assert client.get("/api/v1/info", headers=first).status_code == 401
        second = {"Authorization": "Bearer second-token"}
        assert client.get("/api/v1/info", headers=second).status_code == 200


def test_info(client: TestClient) -> None:
    info = client.get("/api/v1/info").json()
    assert info["backend"]["kind"] == "local"
    assert info["auth"] is True
    assert info["uptime"] >= 0


def test_openapi_documents_every_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert client.get("/docs").status_code == 200
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("description") or operation.get("summary"), (method, path)
            assert (
                "200" in operation["responses"]
                or "201" in operation["responses"]
                or ("202" in operation["responses"])
            ), (method, path)
    assert {"/api/v1/jobs", "/api/v1/jobs/{job_id}", "/api/v1/events"} <= set(schema["paths"])
