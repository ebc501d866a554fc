"""The backend contract: the same API on every backend (local always, flux when present)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from sidecar.jobid import parse_jobid
from tests.support.jobwait import job_of, wait_for


def submit(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def test_echo_completes_with_output(any_client: TestClient) -> None:
    job = submit(any_client, command=["echo", "hello"], name="greeting")
    assert job["id"].startswith("ƒ")
    assert parse_jobid(job["id"]) == int(job["id_dec"])
    done = wait_for(any_client, job["id"])
    assert (done["result"], done["returncode"], done["name"]) == ("COMPLETED", 0, "greeting")
    assert done["t_submit"] <= done["t_run"] <= done["t_cleanup"] <= done["t_inactive"]
    output = any_client.get(f"/api/v1/jobs/{job['id']}/output")
    assert output.status_code == 200
    assert output.headers["content-type"].startswith("text/plain")
    assert output.text == "hello\n"


def test_command_string_is_split_like_a_shell(any_client: TestClient) -> None:
    job = submit(any_client, command="printf '%s|' 'a b' c")
    wait_for(any_client, job["id"])
    assert any_client.get(f"/api/v1/jobs/{job['id']}/output").text == "a b|c|"


def test_failure_keeps_return_code(any_client: TestClient) -> None:
    job = submit(any_client, command=["sh", "-c", "echo oops >&2; exit 3"])
    done = wait_for(any_client, job["id"])
    assert (done["result"], done["returncode"]) == ("FAILED", 3)
    lines = any_client.get(
        f"/api/v1/jobs/{job['id']}/output", headers={"Accept": "application/x-ndjson"}
    )
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    assert [line for line in lines.iter_lines() if line] == [
        '{"stream":"stderr","rank":0,"data":"oops\\n"}'
    ]
    stdout_only = any_client.get(f"/api/v1/jobs/{job['id']}/output", params={"stream": "stdout"})
    assert stdout_only.text == ""


def test_tasks_run_once_per_rank(any_client: TestClient) -> None:
    job = submit(any_client, command=["sh", "-c", "echo rank=$FLUX_TASK_RANK"], tasks=2)
    done = wait_for(any_client, job["id"])
    assert (done["tasks"], done["result"]) == (2, "COMPLETED")
    text = any_client.get(f"/api/v1/jobs/{job['id']}/output").text
    assert sorted(text.splitlines()) == ["rank=0", "rank=1"]


def test_environment_is_exactly_the_request(any_client: TestClient) -> None:
    job = submit(any_client, command=["env"], env={"GREETING": "hi"})
    wait_for(any_client, job["id"])
    text = any_client.get(f"/api/v1/jobs/{job['id']}/output").text
    assert "GREETING=hi" in text
    assert "test-token-0123456789" not in text
    assert "FLUX_SIDECAR" not in text


def test_cancel_running_job(any_client: TestClient) -> None:
    job = submit(any_client, command=["sleep", "60"])
    wait_for(any_client, job["id"], "RUN")
    response = any_client.post(f"/api/v1/jobs/{job['id']}/cancel", json={"reason": "enough"})
    assert response.status_code == 202
    done = wait_for(any_client, job["id"])
    assert done["result"] == "CANCELED"
    assert done["exception"]["type"] == "cancel"
    again = any_client.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 409


def test_signal_running_job(any_client: TestClient) -> None:
    job = submit(any_client, command=["sleep", "60"])
    wait_for(any_client, job["id"], "RUN")
    response = any_client.post(f"/api/v1/jobs/{job['id']}/signal", json={"signal": "SIGTERM"})
    assert response.status_code == 202, response.text
    done = wait_for(any_client, job["id"])
    assert (done["result"], done["returncode"]) == ("FAILED", 143)
    late = any_client.post(f"/api/v1/jobs/{job['id']}/signal", json={"signal": 15})
    assert late.status_code == 409


def test_time_limit_ends_in_timeout(any_client: TestClient) -> None:
    job = submit(any_client, command=["sleep", "60"], time_limit="1s")
    done = wait_for(any_client, job["id"])
    assert done["result"] == "TIMEOUT"
    assert done["exception"]["type"] == "timeout"


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda j: j["id"], id="f58"),
        pytest.param(lambda j: "f" + j["id"][1:], id="f58-ascii"),
        pytest.param(lambda j: j["id_dec"], id="decimal"),
        pytest.param(lambda j: hex(int(j["id_dec"])), id="hex"),
        pytest.param(
            lambda j: ".".join(f"{int(j['id_dec']) >> s & 0xFFFF:04x}" for s in (48, 32, 16, 0)),
            id="dothex",
        ),
    ],
)
def test_any_id_encoding(any_client: TestClient, encode: Any) -> None:
    job = submit(any_client, command=["true"])
    assert job_of(any_client, encode(job))["id"] == job["id"]


@pytest.mark.parametrize(
    ("job_id", "status"),
    [("not-an-id", 400), ("ƒ0OIl", 400), ("99999999999999999999999", 400), ("ƒ2", 404)],
)
def test_bad_and_unknown_ids(any_client: TestClient, job_id: str, status: int) -> None:
    for path in ("", "/output", "/events"):
        response = any_client.get(f"/api/v1/jobs/{job_id}{path}")
        assert response.status_code == status, (path, response.text)
        assert isinstance(response.json()["detail"], str)
    assert any_client.post(f"/api/v1/jobs/{job_id}/cancel").status_code == status


def test_list_is_newest_first_and_pages_are_stable(any_client: TestClient) -> None:
    ids = [submit(any_client, command=["true"], name="paged")["id"] for _ in range(5)]
    first = any_client.get("/api/v1/jobs", params={"name": "paged", "limit": 2}).json()
    assert [j["id"] for j in first["jobs"]] == ids[:-3:-1]
    submit(any_client, command=["true"], name="paged")  # arrives between pages
    seen = [j["id"] for j in first["jobs"]]
    cursor = first["next"]
    while cursor:
        page = any_client.get(
            "/api/v1/jobs", params={"name": "paged", "limit": 2, "cursor": cursor}
        ).json()
        seen += [j["id"] for j in page["jobs"]]
        cursor = page["next"]
    assert seen == ids[::-1]


def test_list_filters(any_client: TestClient) -> None:
    ok = submit(any_client, command=["true"], name="filtered")
    bad = submit(any_client, command=["false"], name="filtered")
    wait_for(any_client, ok["id"])
    wait_for(any_client, bad["id"])
    failed = any_client.get("/api/v1/jobs", params={"name": "filtered", "result": "failed"})
    assert [j["id"] for j in failed.json()["jobs"]] == [bad["id"]]
    inactive = any_client.get("/api/v1/jobs", params={"name": "filtered", "state": "INACTIVE,RUN"})
    assert {j["id"] for j in inactive.json()["jobs"]} == {ok["id"], bad["id"]}
    assert any_client.get("/api/v1/jobs", params={"state": "NOPE"}).status_code == 400
    assert any_client.get("/api/v1/jobs", params={"cursor": "garbage!"}).status_code == 400


def test_job_events_history_then_end(any_client: TestClient) -> None:
    job = submit(any_client, command=["true"])
    with any_client.stream("GET", f"/api/v1/jobs/{job['id']}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        names = [
            line.split('"name":"')[1].split('"')[0]
            for line in response.iter_lines()
            if line.startswith("data: ")
        ]
    assert names[0] == "submit"
    assert names[-1] == "clean"
    assert {"alloc", "start", "finish", "release", "free"} <= set(names)


def test_resources_describe_the_instance(any_client: TestClient) -> None:
    body = any_client.get("/api/v1/resources").json()
    for kind in ("nodes", "cores", "gpus"):
        counts = body[kind]
        assert counts["up"] + counts["down"] == counts["total"]
    assert body["cores"]["total"] >= 1


def test_idempotency_key_returns_the_same_job(any_client: TestClient) -> None:
    headers = {"Idempotency-Key": "retry-0001"}
    first = any_client.post("/api/v1/jobs", json={"command": ["true"]}, headers=headers)
    second = any_client.post("/api/v1/jobs", json={"command": ["true"]}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    other = any_client.post("/api/v1/jobs", json={"command": ["false"]}, headers=headers)
    assert other.status_code == 400


def test_raw_jobspec(any_client: TestClient) -> None:
    from sidecar.jobspec import build_jobspec
    from sidecar.models import JobRequest

    spec = build_jobspec(JobRequest(command=["echo", "from-jobspec"], name="spec"))
    job = submit(any_client, jobspec=spec)
    done = wait_for(any_client, job["id"])
    assert (done["name"], done["result"]) == ("spec", "COMPLETED")
    assert any_client.get(f"/api/v1/jobs/{job['id']}/output").text == "from-jobspec\n"
    broken = any_client.post("/api/v1/jobs", json={"jobspec": {"version": 9}})
    assert broken.status_code == 422


def test_dependency_afterok(any_client: TestClient) -> None:
    first = submit(any_client, command=["sleep", "1"])
    second = submit(any_client, command=["true"], dependencies=[f"afterok:{first['id']}"])
    assert job_of(any_client, second["id"])["state"] in {"DEPEND", "INACTIVE"}
    done = wait_for(any_client, second["id"])
    assert done["result"] == "COMPLETED"
    assert done["t_run"] >= job_of(any_client, first["id"])["t_inactive"]
