"""The OpenAPI document beyond what FastAPI writes: who may call what, and what follows what.

Security is declared per operation, from the settings (``--no-auth`` leaves it
out, ``METRICS_AUTH`` adds ``/metrics``), so that clients and fuzzers know which
calls need the token. Links say where a response's ids lead (a submitted job to
its page, output, events, cancel and signal), which stateful tests follow.
Error bodies come last, from ``sidecar.api.errors``.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi.routing import APIRoute

from sidecar.api.errors import AUTH_CHALLENGE, document_errors

OPEN_PATHS = frozenset({"/healthz", "/readyz"})
SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "the API token (on /v1 also an access token from POST /v1/token)",
    },
    "basic": {"type": "http", "scheme": "basic", "description": "any user name, the API token"},
}
_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}, {"basic": []}]
_BACKEND_ERRORS = {
    "503": {"description": "broker unavailable or shutting down"},
    "504": {"description": "the broker did not answer in time"},
}
_AUTH_ERROR = "missing or wrong token; see WWW-Authenticate"
_AUTH_HEADERS = {
    "WWW-Authenticate": {
        "description": f"the challenge: {AUTH_CHALLENGE}",
        "required": True,
        "schema": {"type": "string", "const": AUTH_CHALLENGE},
    }
}


def operation_id(route: APIRoute) -> str:
    """Operation ids are the route functions' names: what generated clients call."""
    return route.name


def _job_links(id_field: str, targets: dict[str, str]) -> dict[str, Any]:
    return {
        name: {"operationId": operation, "parameters": {"job_id": f"$response.body#/{id_field}"}}
        for name, operation in targets.items()
    }


LINKS = {
    ("/api/v1/jobs", "post", "201"): _job_links(
        "id",
        {
            "GetJob": "get_job",
            "JobOutput": "job_output",
            "JobEvents": "job_events",
            "SignalJob": "signal_job",
            "CancelJob": "cancel_job",
            "UpstreamJob": "upstream_get_job",
        },
    ),
    ("/v1/jobs/submit", "post", "200"): _job_links(
        "id",
        {
            "UpstreamJob": "upstream_get_job",
            "UpstreamOutput": "upstream_job_output",
            "UpstreamCancel": "upstream_cancel_job",
            "Job": "get_job",
        },
    ),
}


def _not_null(parameter: dict[str, Any]) -> None:
    """An optional parameter is one left out: there is no null to send in a query or header."""
    schema = parameter.get("schema", {})
    choices = [c for c in schema.get("anyOf", []) if c != {"type": "null"}]
    if "anyOf" in schema and len(choices) == 1:
        del schema["anyOf"]
        parameter["schema"] = {**choices[0], **schema}
    elif "anyOf" in schema:
        schema["anyOf"] = choices


def document_api(schema: dict[str, Any], *, auth: bool, metrics_auth: bool) -> dict[str, Any]:
    """Add security, backend errors and links to FastAPI's document, then the error bodies."""
    open_paths = OPEN_PATHS if metrics_auth else OPEN_PATHS | {"/metrics"}
    if auth:
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                _not_null(parameter)
            responses = operation.setdefault("responses", {})
            if auth and path not in open_paths:
                operation["security"] = _SECURITY
                refused = responses.setdefault("401", {"description": _AUTH_ERROR})
                refused.setdefault("headers", copy.deepcopy(_AUTH_HEADERS))
            if path.startswith(("/api/v1/", "/v1/")) and path != "/v1/token":
                for code, response in _BACKEND_ERRORS.items():
                    responses.setdefault(code, response)
            if method == "post":
                responses.setdefault("413", {"description": "body too large"})
            if "requestBody" in operation:
                responses.setdefault("400", {"description": "the body could not be read"})
            for code, links in (
                (code, LINKS.get((path, method, code))) for code in list(responses)
            ):
                if links:
                    responses[code]["links"] = links
    _name_alternatives(schema)
    return document_errors(schema)


def _name_alternatives(schema: dict[str, Any]) -> None:
    """Each titled alternative of a component becomes a component of its own, for client
    generators that name a model after where it is defined (``CommandJob``, ``JobspecJob``)."""
    components = schema.get("components", {}).get("schemas", {})
    for component in list(components.values()):
        alternatives = component.get("oneOf", [])
        for index, alternative in enumerate(alternatives):
            title = alternative.get("title")
            if title and "$ref" not in alternative and title not in components:
                components[title] = alternative
                alternatives[index] = {"$ref": f"#/components/schemas/{title}"}
