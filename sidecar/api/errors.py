"""Where domain errors become HTTP responses: the one mapping, and the OpenAPI document of it.

Every error body is ``{"detail": ...}`` (422 also lists ``errors``); a 401
carries ``WWW-Authenticate``. Routes never build error responses themselves.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sidecar.api.auth import Authenticator
from sidecar.errors import SidecarError
from sidecar.models import ErrorBody, FieldError, ValidationErrorBody

logger = logging.getLogger(__name__)


AUTH_CHALLENGE = 'Bearer realm="flux-sidecar"'


def error_response(
    status_code: int, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    headers = dict(headers or {})
    if status_code == 401:
        headers["WWW-Authenticate"] = AUTH_CHALLENGE
    return JSONResponse({"detail": detail, **extra}, status_code=status_code, headers=headers)


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p != "[key]"]  # a mapping's key: the key names the field
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts) if parts else "body"


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """Flatten pydantic's errors into ``{"field", "message"}`` pairs clients can show."""
    errors = []
    for err in exc.errors():
        message = str(err.get("msg", "invalid value"))
        field = _field_name(tuple(err.get("loc", ())))
        if err.get("type") == "json_invalid":  # its loc is ("body", <offset>)
            message, field = "request body is not valid JSON", "body"
        message = message.removeprefix("Value error, ")
        errors.append({"field": field, "message": message})
    return errors


def refuse_unauthenticated(request: Request) -> None:
    """Raise ``AuthError`` when the document secures this operation and the token is wrong.

    FastAPI parses a JSON body before it solves any dependency, so a malformed
    body would otherwise answer 422 to a caller without the token, telling it
    what the route accepts; the token check must come first on every route.
    """
    route = request.scope.get("route")
    template = getattr(route, "path_format", None)
    paths: dict[str, dict[str, Any]] = request.app.openapi().get("paths", {})
    operation = paths.get(template or "", {}).get(request.method.lower(), {})
    if operation.get("security"):
        authenticator: Authenticator = request.app.state.authenticator
        authenticator.check(request.headers.get("authorization"))


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document describe the error bodies this module really sends."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "HTTPValidationError" in components:
        components["HTTPValidationError"] = ValidationErrorBody.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        components["HTTPValidationError"].pop("$defs", None)
        components["FieldError"] = FieldError.model_json_schema()
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    components["ErrorBody"] = ErrorBody.model_json_schema()
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for code, response in operation.get("responses", {}).items():
                if code.startswith(("4", "5")) and code != "422" and "content" not in response:
                    response["content"] = {"application/json": {"schema": error_ref}}
    return schema


def allowed_methods(request: Request) -> str:
    """The methods the OpenAPI document lists for this path (RFC 9110 ``Allow``).

    Starlette names only those of the first route whose path matches, while a
    path such as ``/api/v1/jobs`` has a route per method; and as in OpenAPI, a
    literal path (``/v1/jobs/submit``) hides a template that also matches it.
    """
    paths: dict[str, dict[str, Any]] = request.app.openapi().get("paths", {})
    path = request.scope["path"]
    if path in paths:
        methods = set(paths[path])
    else:
        methods = {
            method
            for template, operations in paths.items()
            if re.fullmatch(re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)), path)
            for method in operations
        }
    return ", ".join(sorted(m.upper() for m in methods))


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to ``{"detail": ...}``: the one place domain errors meet HTTP."""

    @app.exception_handler(SidecarError)
    async def _sidecar_error(request: Request, exc: SidecarError) -> JSONResponse:
        if exc.status_code >= 500:
            logger.warning("%s %s: %s", request.method, request.url.path, exc.detail)
        return error_response(exc.status_code, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        try:
            refuse_unauthenticated(request)
        except SidecarError as refused:
            return error_response(refused.status_code, refused.detail, refused.headers)
        errors = validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return error_response(422, detail or "invalid request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return error_response(exc.status_code, str(exc.detail), headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error; see the sidecar log")
