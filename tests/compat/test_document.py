"""Every ``/v1`` answer is what the app's OpenAPI document says it is, field for field.

The document's response schemas forbid fields they do not name, so a route that
answers more (or other) than its model states fails here, as it would fail
schemathesis's response-conformance check.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from sidecar.backends.local.backend import LocalBackend
from sidecar.server.app import create_app
from tests.support.app import AUTH, make_settings

DOCUMENT = "urn:flux-sidecar:openapi"
JOB = "/v1/jobs/{job_id}"
OUTPUT = f"{JOB}/output"
CANCEL = f"{JOB}/cancel"
# GET /v1/jobs: {"jobs": [...]}, with details an object by id, with listing too a list.
LISTINGS: list[tuple[dict[str, str], type]] = [
    ({}, dict),
    ({"limit": "1"}, dict),
    ({"details": "true"}, dict),
    ({"detail": "true"}, dict),
    ({"details": "true", "listing": "true"}, list),
]


class Document:
    """The app's own document; it remembers which ``/v1`` operations it has checked."""

    def __init__(self, schema: dict[str, Any]) -> None:
        resource = Resource.from_contents(schema, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(DOCUMENT, resource)
        self.paths: dict[str, dict[str, Any]] = schema["paths"]
        self.checked: set[tuple[str, str]] = set()

    def upstream_operations(self) -> set[tuple[str, str]]:
        return {
            (method, path)
            for path, operations in self.paths.items()
            if path.startswith("/v1/")
            for method in operations
        }

    def validator(self, method: str, path: str, status: int, media: str) -> Draft202012Validator:
        """The schema of one response, as a ``$ref`` into the document (so its refs resolve)."""
        parts = ("paths", path, method, "responses", str(status), "content", media, "schema")
        pointer = "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)
        return Draft202012Validator({"$ref": f"{DOCUMENT}#/{pointer}"}, registry=self.registry)

    def check(self, method: str, path: str, response: httpx.Response) -> Any:
        """``response``'s body, after checking it against what ``method path`` documents."""
        assert response.status_code == 200, response.text
        media = response.headers["content-type"].partition(";")[0]
        assert media in self.paths[path][method]["responses"]["200"]["content"]
        self.checked.add((method, path))
        if media != "application/json":
            return response.text
        body = response.json()
        self.validator(method, path, 200, media).validate(body)
        return body


@pytest.fixture
def v1() -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(), LocalBackend(cores=2)), headers=AUTH) as client:
        yield client


@pytest.fixture
def document(v1: TestClient) -> Document:
    return Document(v1.get("/openapi.json").json())


def submitted(v1: TestClient, document: Document, command: str) -> int:
    response = v1.post("/v1/jobs/submit", params={"command": command})
    job_id: int = document.check("post", "/v1/jobs/submit", response)["id"]
    return job_id


def job(v1: TestClient, document: Document, job_id: int) -> dict[str, Any]:
    found: dict[str, Any] = document.check("get", JOB, v1.get(f"/v1/jobs/{job_id}"))
    return found


def ended(v1: TestClient, document: Document, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while (found := job(v1, document, job_id))["state"] != "INACTIVE":
        assert time.monotonic() < deadline, found
        time.sleep(0.05)
    return found


def test_every_upstream_operation_answers_as_documented(v1: TestClient, document: Document) -> None:
    token = document.check("post", "/v1/token", v1.post("/v1/token"))
    assert token["token_type"] == "Bearer"

    sleeper = submitted(v1, document, "sleep 30")
    pending = job(v1, document, sleeper)
    assert (pending["result"], pending["returncode"]) == ("", "")
    quiet = document.check("get", OUTPUT, v1.get(f"/v1/jobs/{sleeper}/output"))
    assert quiet == {"Message": "The output does not exist yet."}
    cancel = document.check("post", CANCEL, v1.post(f"/v1/jobs/{sleeper}/cancel"))
    assert cancel["id"] == sleeper
    exception = ended(v1, document, sleeper)["exception"]
    assert (exception["occurred"], exception["type"]) == (True, "cancel")

    loud = submitted(v1, document, "printf 'a\\nb\\n'")
    assert ended(v1, document, loud)["returncode"] == 0
    lines = document.check("get", OUTPUT, v1.get(f"/v1/jobs/{loud}/output"))
    assert lines == {"Output": ["a\n", "b\n"]}
    stream = v1.get(f"/v1/jobs/{loud}/output/stream")
    assert document.check("get", f"{OUTPUT}/stream", stream) == "a\nb\n"
    assert ended(v1, document, submitted(v1, document, "false"))["result"] == "FAILED"

    for params, shape in LISTINGS:
        listed = document.check("get", "/v1/jobs", v1.get("/v1/jobs", params=params))
        assert isinstance(listed, shape), params
    by_id = document.check("get", "/v1/jobs", v1.get("/v1/jobs", params={"details": "true"}))
    assert {sleeper, loud} <= {int(key) for key in by_id}
    for params in ({}, {"query": "printf", "draw": "3"}, {"start": "1", "length": "1"}):
        table = document.check("get", "/v1/jobs/search", v1.get("/v1/jobs/search", params=params))
        assert table["draw"] == params.get("draw", 1)

    nodes = document.check("get", "/v1/nodes", v1.get("/v1/nodes"))
    assert len(nodes["nodes"]) == 1
    stop = document.check("post", "/v1/service/stop", v1.post("/v1/service/stop"))
    assert (stop["Message"], stop["mode"]) == ("Shutdown started.", "cancel")
    assert document.checked == document.upstream_operations()


def test_a_field_the_document_lacks_does_not_conform(v1: TestClient, document: Document) -> None:
    found = ended(v1, document, submitted(v1, document, "true"))
    answers = [
        ("get", JOB, {**found, "gpus": 0}),
        ("get", JOB, {**found, "exception": {**found["exception"], "timestamp": 0.0}}),
        ("get", "/v1/jobs", {"jobs": [found], "next": None}),
        ("get", "/v1/jobs", {str(found["id"]): found, "next": found}),
        ("get", OUTPUT, {"Output": [], "Message": "both"}),
        ("post", "/v1/jobs/submit", {"Message": "Job submit.", "id": found["id"], "f58": "x"}),
    ]
    for method, path, body in answers:
        with pytest.raises(ValidationError):
            document.validator(method, path, 200, "application/json").validate(body)
