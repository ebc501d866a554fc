"""The errors the Python client raises, and the one place HTTP answers become them.

    ClientError
    ├── ServerUnreachable        no answer: connection refused, reset or timed out (after retries)
    ├── WaitTimeout              ``wait`` gave up before the job got there (also a TimeoutError)
    └── APIError                 the server answered with an error status
        ├── AuthFailed           401, 403: missing or wrong token
        ├── NotFound             404: no such job
        ├── Conflict             409: e.g. cancelling a job that has ended
        ├── ValidationFailed     400, 413, 422: a refused request; ``errors`` lists the fields
        └── Unavailable          502, 503, 504: broker down, or the sidecar is shutting down

Every ``APIError`` has ``status_code`` and ``detail`` (the server's message).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from sidecar.models import Job


class ClientError(Exception):
    """Base of every error the client raises."""


class ServerUnreachable(ClientError):
    """The sidecar did not answer; idempotent calls were retried first."""


class WaitTimeout(ClientError, TimeoutError):
    """The job did not reach the awaited state in time; ``job`` is its last known state."""

    def __init__(self, job: Job, timeout: float) -> None:
        super().__init__(f"job {job.id} is still {job.state.value} after {timeout:g}s")
        self.job = job


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class APIError(ClientError):
    """The server refused the request; ``detail`` says why."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail


class AuthFailed(APIError):
    pass


class NotFound(APIError):
    pass


class Conflict(APIError):
    pass


class ValidationFailed(APIError):
    def __init__(self, status_code: int, detail: str, errors: list[FieldError]) -> None:
        super().__init__(status_code, detail)
        self.errors = errors


class Unavailable(APIError):
    pass


_BY_STATUS: dict[int, type[APIError]] = {
    401: AuthFailed,
    403: AuthFailed,
    404: NotFound,
    409: Conflict,
    502: Unavailable,
    503: Unavailable,
    504: Unavailable,
}


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def raise_for_error(response: httpx.Response) -> None:
    """Raise the matching ``APIError`` for a 4xx/5xx answer; the body must have been read."""
    if response.status_code < 400:
        return
    body = _body(response)
    detail = str(body.get("detail") or response.reason_phrase or "error")
    status = response.status_code
    if status in (400, 413, 422):
        errors = [
            FieldError(str(e.get("field", "")), str(e.get("message", "")))
            for e in body.get("errors") or []
            if isinstance(e, dict)
        ]
        raise ValidationFailed(status, detail, errors)
    raise _BY_STATUS.get(status, APIError)(status, detail)
