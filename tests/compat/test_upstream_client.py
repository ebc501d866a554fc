"""Upstream's own ``flux-restful-client`` (from PyPI), unchanged, against a sidecar with auth on."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flux_restful_client.main import get_client  # type: ignore[import-untyped]

from tests.support.serverproc import ServerProcess, run_server

SECRET = "upstream-shared-secret"
USER = "fluxuser"
Connect = Callable[..., Any]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {"FLUX_SIDECAR_SECRET_KEY": SECRET, "FLUX_SIDECAR_USER": USER}
    with run_server(tmp_path, env=env) as process:
        yield process


@pytest.fixture
def connect() -> Iterator[Callable[..., Any]]:
    """Upstream clients; their httpx sessions (which upstream never closes) closed at the end."""
    clients: list[Any] = []

    def make(url: str, token: str, secret_key: str = SECRET, user: str | None = USER) -> Any:
        # attempts=0: a refused connection must fail the test, not sleep through five retries.
        client = get_client(host=url, user=user, token=token, secret_key=secret_key, attempts=0)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.session.close()


def ended(client: Any, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        info: dict[str, Any] = client.jobs(job_id)
        if info["state"] == "INACTIVE":
            return info
        assert time.monotonic() < deadline, info
        time.sleep(0.05)


def test_submit_list_info_output_nodes(server: ServerProcess, connect: Connect) -> None:
    client = connect(server.url, server.token)
    # The first call meets the 401, fetches a token, and is retried with a JSON body.
    first = client.submit("sh -c 'echo $GREETING'", envars={"GREETING": "hello"})
    assert first["Message"] == "Job submit."
    # Later calls present the access token and send the fields as query parameters.
    second = client.submit("sh -c 'echo $GREETING'", num_tasks=2, envars={"GREETING": "hi"})
    for job_id, lines in ((first["id"], ["hello\n"]), (second["id"], ["hi\n", "hi\n"])):
        info = ended(client, job_id)
        assert info["result"] == "COMPLETED"
        assert client.output(job_id) == {"Output": lines}
    assert info["ntasks"] == 2
    listed = client.jobs()
    assert [job["id"] for job in listed["jobs"]] == [second["id"], first["id"]]
    assert client.list_nodes()["nodes"]
    assert client.search(query="sh")["recordsTotal"] == 2
    assert client.jobs(123456789) is None  # upstream's client reads our 404 as "no such job"


def test_cancel(server: ServerProcess, connect: Connect) -> None:
    client = connect(server.url, server.token)
    job_id = client.submit("sleep 60")["id"]
    assert "requested to cancel" in client.cancel(job_id)["Message"]
    assert ended(client, job_id)["result"] == "CANCELED"
    assert "cannot be cancelled" in client.cancel(job_id)["Message"]


def test_stop_service_ends_the_sidecar(server: ServerProcess, connect: Connect) -> None:
    client = connect(server.url, server.token)
    stopped = client.stop_service()
    assert stopped["Message"] == "Shutdown started."
    assert server.wait_exit(60) == 0


@pytest.mark.parametrize(
    ("secret_key", "token"),
    [("not-the-secret", None), (SECRET, "not-the-token")],
    ids=["wrong-secret-key", "wrong-token"],
)
def test_refused_credentials_end_in_an_error_not_a_loop(
    server: ServerProcess, connect: Connect, secret_key: str, token: str | None
) -> None:
    client = connect(server.url, token or server.token, secret_key=secret_key)
    # Upstream's client reads ``response.reason`` (httpx has ``reason_phrase``) to report
    # a refused token request, so any refusal surfaces as this AttributeError.
    with pytest.raises(AttributeError, match="reason"):
        client.list_nodes()
    token_requests = [line for line in server.logs().splitlines() if "POST /v1/token" in line]
    # The 401 sends the client back to /v1/token with the same JWT once; the 429 ends it.
    assert [line.split('" ')[-1].split()[0] for line in token_requests] == ["401", "429"]
    assert '"GET /v1/nodes HTTP/1.1" 401' in server.logs()


def test_without_a_secret_key_the_token_signs(tmp_path: Path, connect: Connect) -> None:
    with run_server(tmp_path) as server:
        client = connect(server.url, server.token, secret_key=server.token, user=None)
        job_id = client.submit("true")["id"]
        assert ended(client, job_id)["returncode"] == 0
