"""Domain errors, and the single place where they become HTTP responses.

    SidecarError
    ├── InvalidRequest            400  (a malformed id or cursor, a bad idempotency key)
    │   ├── InvalidJobId
    │   └── InvalidCursor
    ├── AuthError                 401
    ├── PermissionDenied          403
    ├── JobNotFound               404
    ├── Conflict                  409
    │   └── JobInactive           (cancelling or signalling a finished job)
    ├── Unprocessable             422
    │   ├── InvalidJobspec        (the broker or the local backend refused the job)
    │   └── InvalidSignal
    ├── BrokerUnavailable         503
    │   └── ShuttingDown          (no new work while the sidecar shuts down)
    └── BackendTimeout            504

Backends raise these; routes never build error responses themselves.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sidecar.models import ErrorBody, FieldError, ValidationErrorBody

logger = logging.getLogger(__name__)


class SidecarError(Exception):
    """Base of every error the sidecar reports to a client."""

    status_code = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequest(SidecarError):
    status_code = 400


class InvalidJobId(InvalidRequest):
    def __init__(self, text: str) -> None:
        shown = text if len(text) <= 64 else text[:64] + "..."
        super().__init__(
            f"invalid job id {shown!r}: expected f58 (ƒ... or f...), decimal, hex or dothex"
        )


class InvalidCursor(InvalidRequest):
    def __init__(self) -> None:
        super().__init__("invalid cursor: pass the 'next' value of a previous page unchanged")


class AuthError(SidecarError):
    status_code = 401


class PermissionDenied(SidecarError):
    status_code = 403


class JobNotFound(SidecarError):
    status_code = 404

    def __init__(self, job: str) -> None:
        super().__init__(f"job {job} not found")


class Conflict(SidecarError):
    status_code = 409


class JobInactive(Conflict):
    def __init__(self, job: str, action: str) -> None:
        super().__init__(f"cannot {action} job {job}: it is no longer active")


class Unprocessable(SidecarError):
    status_code = 422


class InvalidJobspec(Unprocessable):
    pass


class InvalidSignal(Unprocessable):
    def __init__(self, text: str) -> None:
        super().__init__(f"signal: {text[:32]!r} is not a signal name (SIGUSR1, USR1) or number")


class BrokerUnavailable(SidecarError):
    status_code = 503


class ShuttingDown(BrokerUnavailable):
    def __init__(self) -> None:
        super().__init__("the sidecar is shutting down and accepts no new work")


class BackendTimeout(SidecarError):
    status_code = 504


AUTH_CHALLENGE = 'Bearer realm="flux-sidecar"'


def error_response(status_code: int, detail: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": AUTH_CHALLENGE} if status_code == 401 else None
    return JSONResponse({"detail": detail, **extra}, status_code=status_code, headers=headers)


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts) if parts else "body"


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """Flatten pydantic's errors into ``{"field", "message"}`` pairs clients can show."""
    errors = []
    for err in exc.errors():
        message = str(err.get("msg", "invalid value"))
        if err.get("type") == "json_invalid":
            message = "request body is not valid JSON"
        message = message.removeprefix("Value error, ")
        errors.append({"field": _field_name(tuple(err.get("loc", ()))), "message": message})
    return errors


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


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to ``{"detail": ...}``: the one place domain errors meet HTTP."""

    @app.exception_handler(SidecarError)
    async def _sidecar_error(request: Request, exc: SidecarError) -> JSONResponse:
        if exc.status_code >= 500:
            logger.warning("%s %s: %s", request.method, request.url.path, exc.detail)
        return error_response(exc.status_code, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return error_response(422, detail or "invalid request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error; see the sidecar log")
