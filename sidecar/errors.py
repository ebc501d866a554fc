"""Domain errors: what went wrong, with the HTTP status each one stands for.

    SidecarError
    ├── InvalidRequest            400  (a malformed id or cursor, a bad idempotency key)
    │   ├── InvalidJobId
    │   └── InvalidCursor
    ├── AuthError                 401
    ├── PermissionDenied          403
    ├── JobNotFound               404
    ├── Conflict                  409
    │   └── JobInactive           (cancelling or signalling a finished job)
    ├── TooManyRequests           429  (the same refused credentials again, at once)
    ├── Unprocessable             422
    │   └── InvalidJobspec        (the broker or the local backend refused the job)
    ├── BrokerUnavailable         503
    │   └── ShuttingDown          (no new work while the sidecar shuts down)
    └── BackendTimeout            504

Backends and the lifecycle raise these; ``sidecar.api.errors`` is the one place
that turns them into responses.
"""

from __future__ import annotations


class SidecarError(Exception):
    """Base of every error the sidecar reports to a client."""

    status_code = 500
    headers: dict[str, str] | None = None

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


class TooManyRequests(SidecarError):
    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class Unprocessable(SidecarError):
    status_code = 422


class InvalidJobspec(Unprocessable):
    pass


class BrokerUnavailable(SidecarError):
    status_code = 503


class ShuttingDown(BrokerUnavailable):
    def __init__(self) -> None:
        super().__init__("the sidecar is shutting down and accepts no new work")


class BackendTimeout(SidecarError):
    status_code = 504
