"""Every operation the OpenAPI document says needs the token refuses requests without it.

The matrix is generated from ``/openapi.json``: each operation declaring
``security`` gets 401 with ``WWW-Authenticate`` for missing, wrong and odd
credentials, and each one not declaring it answers without any. A new route
is covered the day it is added, and the document cannot claim otherwise.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sidecar.backends.local.backend import LocalBackend
from sidecar.server.app import create_app
from tests.support.app import TOKEN, make_settings

OPEN = {"/healthz", "/readyz", "/metrics"}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


BAD_CREDENTIALS: dict[str, str | bytes | None] = {
    "none": None,
    "empty": "",
    "wrong-token": "Bearer wrong-token-value",
    "empty-bearer": "Bearer ",
    "token-prefix": f"Bearer {TOKEN[:-1]}",
    "token-longer": f"Bearer {TOKEN}x",
    "very-long": "Bearer " + "t" * 8000,
    "non-ascii": "Bearer tøken".encode(),
    "jwt-shaped": "Bearer aaa.bbb.ccc",
    "wrong-scheme": f"Token {TOKEN}",
    "scheme-only": "Bearer",
    "basic-other-user": _basic("mallory", TOKEN),
    "basic-wrong-token": _basic("flux", "wrong-token-value"),
    "basic-not-base64": "Basic %%%",
    "basic-no-colon": "Basic " + base64.b64encode(TOKEN.encode()).decode(),
}


@functools.cache
def _document() -> dict[str, Any]:
    document: dict[str, Any] = create_app(
        make_settings(user="flux"), LocalBackend(cores=1)
    ).openapi()
    return document


def _operations(*, secured: bool) -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, operations in _document()["paths"].items()
        for method, operation in operations.items()
        if bool(operation.get("security")) == secured
    )


@pytest.fixture(scope="module")
def strict_client() -> Iterator[TestClient]:
    app = create_app(make_settings(user="flux"), LocalBackend(cores=1))
    with TestClient(app) as client:
        yield client


def _concrete(path: str) -> str:
    return path.replace("{job_id}", "ƒ2").replace("{jobid}", "ƒ2").replace("{id}", "ƒ2")


@pytest.mark.parametrize("credentials", list(BAD_CREDENTIALS), ids=str)
@pytest.mark.parametrize(("method", "path"), _operations(secured=True), ids=lambda v: str(v))
def test_operation_requires_the_token(
    strict_client: TestClient, method: str, path: str, credentials: str
) -> None:
    header = BAD_CREDENTIALS[credentials]
    headers = {"Authorization": header} if header is not None else {}
    response = strict_client.request(method, _concrete(path), headers=headers, json={})
    assert response.status_code == 401, (method, path, response.text)
    declared = _document()["paths"][path][method.lower()]["responses"]["401"]["headers"]
    assert declared["WWW-Authenticate"]["schema"]["const"] == response.headers["WWW-Authenticate"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert response.json()["detail"]
    assert TOKEN not in response.text


# Bodies and queries the routes would refuse: the token is checked first, so a caller
# without it learns nothing of what a route accepts.
BAD_REQUESTS: dict[str, dict[str, Any]] = {
    "malformed-json": {"content": b"{bad", "headers": {"Content-Type": "application/json"}},
    "not-utf8": {"content": b"\xff\xfe", "headers": {"Content-Type": "application/json"}},
    "wrong-fields": {"json": {"mode": "maybe", "signal": [], "command": 5, "no": 1}},
    "text-body": {"content": b"x", "headers": {"Content-Type": "text/plain"}},
    "bad-query": {"json": {}, "params": {"limit": "0", "follow": "maybe", "after": "-1"}},
}


@pytest.mark.parametrize("bad", list(BAD_REQUESTS), ids=str)
@pytest.mark.parametrize(("method", "path"), _operations(secured=True), ids=lambda v: str(v))
def test_the_token_is_checked_before_the_request(
    strict_client: TestClient, method: str, path: str, bad: str
) -> None:
    response = strict_client.request(method, _concrete(path), **BAD_REQUESTS[bad])
    assert response.status_code == 401, (method, path, response.text)
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_a_malformed_body_names_the_body(strict_client: TestClient) -> None:
    response = strict_client.post(
        "/api/v1/jobs",
        content=b"{bad",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize(("method", "path"), _operations(secured=False), ids=lambda v: str(v))
def test_an_operation_without_security_needs_no_token(
    strict_client: TestClient, method: str, path: str
) -> None:
    response = strict_client.request(method, _concrete(path))
    assert response.status_code != 401, (method, path, response.text)


def test_the_document_secures_all_but_the_probes_and_metrics() -> None:
    document = _document()
    assert set(document["components"]["securitySchemes"]) == {"bearer", "basic"}
    assert {path for _, path in _operations(secured=False)} == OPEN
    secured = {path for _, path in _operations(secured=True)}
    assert {"/api/v1/jobs", "/api/v1/jobs/{job_id}", "/api/v1/shutdown", "/v1/token"} <= secured


def test_without_auth_the_document_declares_none() -> None:
    document = create_app(make_settings(auth=False), LocalBackend(cores=1)).openapi()
    assert "securitySchemes" not in document.get("components", {})
    assert not any(op.get("security") for ops in document["paths"].values() for op in ops.values())


def test_metrics_can_require_the_token() -> None:
    app = create_app(make_settings(metrics_auth=True), LocalBackend(cores=1))
    assert app.openapi()["paths"]["/metrics"]["get"]["security"]
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 401
        ok = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
