"""Every operation in the OpenAPI document refuses requests without the right credentials.

The matrix is generated from ``/openapi.json``, so a new route is covered the
day it is added. Only the probes (and ``/metrics`` unless configured) are open.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sidecar.backends.local.backend import LocalBackend
from sidecar.server.app import create_app
from tests.support.app import TOKEN, make_settings

OPEN = {"/healthz", "/readyz", "/metrics"}
UPSTREAM_TOKEN_ROUTE = "/v1/token"  # upstream's own token exchange, checked in the compat tests


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


BAD_CREDENTIALS = {
    "none": None,
    "wrong-token": "Bearer wrong-token-value",
    "wrong-scheme": f"Token {TOKEN}",
    "basic-other-user": _basic("mallory", TOKEN),
    "basic-wrong-token": _basic("flux", "wrong-token-value"),
}


def _operations() -> list[tuple[str, str]]:
    app = create_app(make_settings(user="flux"), LocalBackend(cores=1))
    schema: dict[str, Any] = app.openapi()
    return sorted(
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if path not in OPEN and path != UPSTREAM_TOKEN_ROUTE
    )


@pytest.fixture(scope="module")
def strict_client() -> Iterator[TestClient]:
    app = create_app(make_settings(user="flux"), LocalBackend(cores=1))
    with TestClient(app) as client:
        yield client


def _concrete(path: str) -> str:
    return path.replace("{job_id}", "ƒ2").replace("{jobid}", "ƒ2").replace("{id}", "ƒ2")


@pytest.mark.parametrize("credentials", list(BAD_CREDENTIALS), ids=str)
@pytest.mark.parametrize(("method", "path"), _operations(), ids=lambda v: str(v))
def test_operation_requires_the_token(
    strict_client: TestClient, method: str, path: str, credentials: str
) -> None:
    header = BAD_CREDENTIALS[credentials]
    headers = {"Authorization": header} if header else {}
    response = strict_client.request(method, _concrete(path), headers=headers, json={})
    assert response.status_code == 401, (method, path, response.text)
    assert TOKEN not in response.text


def test_matrix_covers_the_native_api() -> None:
    paths = {path for _, path in _operations()}
    assert {"/api/v1/jobs", "/api/v1/jobs/{job_id}", "/api/v1/shutdown"} <= paths


def test_metrics_can_require_the_token() -> None:
    app = create_app(make_settings(metrics_auth=True), LocalBackend(cores=1))
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 401
        ok = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
