"""Domain errors: what went wrong, with the HTTP status each one stands for.

    SidecarError
    ├── InvalidRequest            400  (a malformed id or cursor, a bad idempotency key)
    │   ├── InvalidJobId
    │   ├── InvalidCursor
    │   └── InvalidPath           (absolute, ``..``, NUL: not a path under the files root)
    ├── AuthError                 401
    ├── PermissionDenied          403
    │   └── PathOutsideRoot       (a symlink leads out of the files root)
    ├── JobNotFound               404
    ├── PathNotFound              404
    ├── Conflict                  409
    │   ├── JobInactive           (cancelling or signalling a finished job)
    │   └── PathConflict          (a directory where a file is expected, or the reverse)
    ├── UploadTooLarge            413
    ├── RangeNotSatisfiable       416  (``size`` goes into ``Content-Range``)
    ├── TooManyRequests           429  (the same refused credentials again, at once)
    ├── Unprocessable             422
    │   └── InvalidJobspec        (the broker or the local backend refused the job)
    ├── BrokerUnavailable         503
    │   └── ShuttingDown          (no new work while the sidecar shuts down)
    ├── FilesUnavailable          503  (the files root is missing or unreadable)
    ├── BackendTimeout            504
    └── InsufficientStorage       507  (the volume under the files root is full)

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


# Files under the files root (``/api/v1/files``).


class InvalidPath(InvalidRequest):
    pass


class PathOutsideRoot(PermissionDenied):
    def __init__(self, path: str) -> None:
        super().__init__(f"{path!r} leads outside the files root (through a symbolic link)")


class PathNotFound(SidecarError):
    status_code = 404

    def __init__(self, path: str) -> None:
        super().__init__(f"{path!r} not found under the files root")


class PathConflict(Conflict):
    pass


class UploadTooLarge(SidecarError):
    status_code = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"upload exceeds {limit} bytes (FLUX_SIDECAR_MAX_UPLOAD_BYTES)")


class RangeNotSatisfiable(SidecarError):
    status_code = 416

    def __init__(self, detail: str, size: int) -> None:
        super().__init__(detail)
        self.size = size
        # RFC 9110 section 15.5.17: a 416 says how long the representation is.
        self.headers = {"Content-Range": f"bytes */{size}"}


class InsufficientStorage(SidecarError):
    status_code = 507  # RFC 4918


class FilesUnavailable(SidecarError):
    status_code = 503
