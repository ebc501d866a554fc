"""``/v1``: upstream flux-restful-api's routes, shapes and token flow, over the real app."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jose import jwt  # type: ignore[import-untyped]

from sidecar.backends.local.backend import LocalBackend
from sidecar.compat.shapes import expand_hostlist, parse_envars
from sidecar.compat.token import decode_jwt, encode_jwt
from sidecar.server.app import create_app
from tests.support.app import AUTH, TOKEN, make_settings

SECRET = "shared-secret-key"


def upstream_jwt(
    user: Any = "fluxuser", password: Any = TOKEN, key: str = SECRET, **extra: Any
) -> str:
    """What upstream's client sends to /v1/token (signed by python-jose, as it does)."""
    claims = {"user": user, "pass": password, "scope": "token", **extra}
    token: str = jwt.encode(claims, key)
    return token


@pytest.fixture
def v1() -> Iterator[TestClient]:
    settings = make_settings(secret_key=SECRET, user="fluxuser")
    with TestClient(create_app(settings, LocalBackend(cores=2)), headers=AUTH) as client:
        yield client


def access_headers(client: TestClient, **jwt_args: Any) -> dict[str, str]:
    response = client.post(
        "/v1/token", headers={"Authorization": f"Bearer {upstream_jwt(**jwt_args)}"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    return {"Authorization": f"Bearer {body['access_token']}"}


def submit(client: TestClient, **params: Any) -> int:
    response = client.post("/v1/jobs/submit", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["Message"] == "Job submit."
    job_id: int = response.json()["id"]
    return job_id


def inactive(client: TestClient, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] == "INACTIVE":
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def test_token_flow_gives_an_access_token_for_v1(v1: TestClient) -> None:
    refused = v1.get("/v1/nodes", headers={"Authorization": ""})
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    headers = access_headers(v1)
    nodes = v1.get("/v1/nodes", headers=headers)
    assert nodes.status_code == 200
    assert nodes.json() == {"nodes": [socket.gethostname()]}
    # Access tokens are for the upstream routes only; the native API takes the token.
    assert v1.get("/api/v1/info", headers=headers).status_code == 401


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic Zmx1eDp0b2tlbg==",
        f"Bearer {upstream_jwt(key='another-key')}",
        f"Bearer {upstream_jwt(password='wrong-token')}",
        f"Bearer {upstream_jwt(user='mallory')}",
        f"Bearer {upstream_jwt(scope='admin')}",
        f"Bearer {upstream_jwt(exp=int(time.time()) - 60)}",
        "Bearer "
        + jwt.encode(
            {"user": "fluxuser", "pass": TOKEN, "scope": "token"}, SECRET, algorithm="HS512"
        ),
        "Bearer eyJhbGciOiJub25lIn0.eyJ1c2VyIjoiZmx1eHVzZXIiLCJzY29wZSI6InRva2VuIn0.",
        "Bearer not-a-jwt",
    ],
    ids=[
        "none",
        "basic",
        "other-key",
        "wrong-token",
        "wrong-user",
        "wrong-scope",
        "expired",
        "hs512",
        "alg-none",
        "garbage",
    ],
)
def test_refused_token_requests_are_401_with_a_challenge(
    v1: TestClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {"Authorization": ""}
    response = v1.post("/v1/token", headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["Message"] == response.json()["detail"]
    assert TOKEN not in response.text


def test_the_same_refused_jwt_at_once_is_429_not_another_401(v1: TestClient) -> None:
    # Upstream's client answers a 401 from /v1/token by sending the same JWT again.
    headers = {"Authorization": f"Bearer {upstream_jwt(password='wrong-token')}"}
    assert v1.post("/v1/token", headers=headers).status_code == 401
    again = v1.post("/v1/token", headers=headers)
    assert again.status_code == 429, again.text
    assert int(again.headers["Retry-After"]) > 0
    assert "refused" in again.json()["detail"]
    other = {"Authorization": f"Bearer {upstream_jwt(password='another-wrong-token')}"}
    assert v1.post("/v1/token", headers=other).status_code == 401
    assert v1.post("/v1/token", headers={"Authorization": "Bearer x"}).status_code == 401
    assert v1.post("/v1/token", headers={"Authorization": "Bearer x"}).status_code == 401
    # The right credentials are never held back by an earlier refusal.
    good = {"Authorization": f"Bearer {upstream_jwt()}"}
    assert v1.post("/v1/token", headers=good).status_code == 200


def test_the_api_token_itself_gets_an_access_token(v1: TestClient) -> None:
    response = v1.post("/v1/token")
    assert response.status_code == 200, response.text
    access = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert v1.get("/v1/nodes", headers=access).status_code == 200


def test_the_api_token_itself_also_works_on_v1(v1: TestClient) -> None:
    assert v1.get("/v1/jobs").status_code == 200
    basic = v1.get("/v1/jobs", auth=("fluxuser", TOKEN), headers={"Authorization": ""})
    assert basic.status_code == 200


def test_without_a_secret_key_the_token_is_the_key() -> None:
    settings = make_settings()
    with TestClient(create_app(settings, LocalBackend(cores=1))) as client:
        headers = access_headers(client, user=None, key=TOKEN)
        assert client.get("/v1/jobs", headers=headers).status_code == 200
        refused = client.post("/v1/token", headers={"Authorization": f"Bearer {upstream_jwt()}"})
        assert refused.status_code == 401


def test_rotating_the_token_revokes_access_tokens(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    settings = make_settings(token=None, token_file=token_file, secret_key=SECRET)
    with TestClient(create_app(settings, LocalBackend(cores=1))) as client:
        headers = access_headers(client)
        assert client.get("/v1/nodes", headers=headers).status_code == 200
        token_file.write_text("a-new-token-after-rotation")
        revoked = client.get("/v1/nodes", headers=headers)
        assert revoked.status_code == 401
        assert "WWW-Authenticate" in revoked.headers


def test_auth_off_leaves_v1_open() -> None:
    settings = make_settings(auth=False)
    with TestClient(create_app(settings, LocalBackend(cores=1))) as client:
        assert client.get("/v1/nodes").status_code == 200
        assert client.post("/v1/token").json()["token_type"] == "Bearer"


def test_job_shape_listing_and_details(v1: TestClient) -> None:
    job_id = submit(v1, command="echo pancakes", num_tasks="2")
    job = inactive(v1, job_id)
    assert job["id"] == job_id
    assert job["result"] == "COMPLETED"
    assert job["success"] is True
    assert job["returncode"] == 0
    assert job["ntasks"] == 2
    assert job["nnodes"] == 1
    assert job["exception"] == {"occurred": False, "severity": "", "type": "", "note": ""}
    listed = v1.get("/v1/jobs").json()
    assert [j["id"] for j in listed["jobs"]] == [job_id]
    by_id = v1.get("/v1/jobs", params={"details": "true"}).json()
    assert list(by_id) == [str(job_id)]
    assert (
        v1.get("/v1/jobs", params={"detail": "true", "listing": "true"}).json()[0]["id"] == job_id
    )
    searched = v1.get("/v1/jobs/search", params={"query": "ECHO", "start": 0, "length": 5}).json()
    assert searched["recordsTotal"] == 1
    assert [j["id"] for j in searched["data"]] == [job_id]
    assert v1.get("/v1/jobs/search", params={"query": "nomatch"}).json()["recordsFiltered"] == 0


def test_submissions_through_v1_are_counted(v1: TestClient) -> None:
    def submitted() -> float:
        for line in v1.get("/metrics").text.splitlines():
            if line.startswith("flux_sidecar_jobs_submitted_total "):
                return float(line.split()[1])
        raise AssertionError("no flux_sidecar_jobs_submitted_total")

    before = submitted()
    submit(v1, command="true")
    assert submitted() == before + 1


def test_missing_and_malformed_ids_are_404_and_400(v1: TestClient) -> None:
    missing = v1.get("/v1/jobs/1234567")
    assert missing.status_code == 404
    assert "not found" in missing.json()["Message"]
    for path in ("/v1/jobs/not-an-id", "/v1/jobs/not-an-id/output"):
        assert v1.get(path).status_code == 400
    assert v1.post("/v1/jobs/not-an-id/cancel").status_code == 400


def test_output_and_its_stream(v1: TestClient) -> None:
    quiet = submit(v1, command="true")
    inactive(v1, quiet)
    assert v1.get(f"/v1/jobs/{quiet}/output").json() == {
        "Message": "The output does not exist yet."
    }
    loud = submit(v1, command="printf 'a\\nb\\n'")
    inactive(v1, loud)
    assert v1.get(f"/v1/jobs/{loud}/output").json() == {"Output": ["a\n", "b\n"]}
    assert v1.get(f"/v1/jobs/{loud}/output/stream").text == "a\nb\n"


@pytest.mark.parametrize(
    "envars",
    ["{'GREETING': 'hi'}", '{"GREETING": "hi"}', "GREETING=hi"],
    ids=["python-repr", "json", "pairs"],
)
def test_envars_in_the_query(v1: TestClient, envars: str) -> None:
    job_id = submit(v1, command="sh -c 'echo $GREETING'", envars=envars)
    inactive(v1, job_id)
    assert v1.get(f"/v1/jobs/{job_id}/output").json() == {"Output": ["hi\n"]}


@pytest.mark.parametrize(
    "body",
    [{"command": "sh -c 'echo $GREETING'", "envars": {"GREETING": "hi"}}, {"GREETING": "hi"}],
    ids=["fields", "bare-environment"],
)
def test_fields_in_a_json_body(v1: TestClient, body: dict[str, Any]) -> None:
    params = {} if "command" in body else {"command": "sh -c 'echo $GREETING'"}
    response = v1.post("/v1/jobs/submit", params=params, json=body)
    assert response.status_code == 200, response.text
    job_id = response.json()["id"]
    inactive(v1, job_id)
    assert v1.get(f"/v1/jobs/{job_id}/output").json() == {"Output": ["hi\n"]}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "command"),
        ({"command": "true", "num_tasks": "0"}, "num_tasks"),
        ({"command": "true", "num_tasks": "many"}, "num_tasks"),
        ({"command": "true", "option_flags": "ompi=x"}, "option_flags"),
        ({"command": "true", "is_launcher": "true"}, "is_launcher"),
        ({"command": "true", "envars": "not pairs"}, "envars"),
        ({"command": "true", "exclusive": "true"}, "exclusive"),
    ],
    ids=[
        "no-command",
        "zero-tasks",
        "nan-tasks",
        "option-flags",
        "launcher",
        "bad-envars",
        "exclusive-without-nodes",
    ],
)
def test_refused_submissions_list_their_errors(
    v1: TestClient, params: dict[str, str], field: str
) -> None:
    response = v1.post("/v1/jobs/submit", params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["Message"] == "Invalid submit request"
    assert any(error.startswith(field) or field in error for error in body["Errors"]), body


def test_cancel_twice_and_nodes(v1: TestClient) -> None:
    job_id = submit(v1, command="sleep 30")
    first = v1.post(f"/v1/jobs/{job_id}/cancel")
    assert first.status_code == 200
    assert first.json() == {"Message": "Job is requested to cancel.", "id": job_id}
    assert inactive(v1, job_id)["result"] == "CANCELED"
    again = v1.post(f"/v1/jobs/{job_id}/cancel")
    assert again.status_code == 409
    assert "cannot be cancelled" in again.json()["Message"]


def test_service_stop_starts_the_shutdown(v1: TestClient) -> None:
    response = v1.post("/v1/service/stop")
    assert response.status_code == 200
    assert response.json()["Message"] == "Shutdown started."
    assert response.json()["mode"] == "cancel"
    refused = v1.post("/v1/jobs/submit", params={"command": "true"})
    assert refused.status_code == 503
    assert "shutting down" in refused.json()["Message"]


@pytest.mark.parametrize(
    ("hostlist", "hosts"),
    [
        ("", []),
        ("vm", ["vm"]),
        ("node[0-2,5]", ["node0", "node1", "node2", "node5"]),
        ("n[08-10],login", ["n08", "n09", "n10", "login"]),
        ("rack[1-2]-n[1-2]", ["rack1-n1", "rack1-n2", "rack2-n1", "rack2-n2"]),
    ],
    ids=["empty", "single", "range", "padded-and-plain", "two-dimensions"],
)
def test_expand_hostlist(hostlist: str, hosts: list[str]) -> None:
    assert expand_hostlist(hostlist) == hosts


def test_jwt_interoperates_with_python_jose() -> None:
    now = time.time()
    ours = encode_jwt({"sub": "x", "exp": int(now) + 60}, b"k")
    assert jwt.decode(ours, "k", algorithms=["HS256"])["sub"] == "x"
    theirs = jwt.encode({"user": "u", "pass": "p", "scope": "token"}, "k")
    assert decode_jwt(theirs, b"k", now) == {"user": "u", "pass": "p", "scope": "token"}
    with pytest.raises(ValueError, match="expired"):
        decode_jwt(encode_jwt({"exp": int(now) - 1}, b"k"), b"k", now)
    with pytest.raises(ValueError, match="signature"):
        decode_jwt(theirs, b"other", now)


def test_parse_envars_refuses_what_is_not_an_environment() -> None:
    assert parse_envars("A=1,B=x=y") == {"A": "1", "B": "x=y"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_envars("[1, 2]")
