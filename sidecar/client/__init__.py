"""Python clients for flux-sidecar, returning the same pydantic models as the server.

    from sidecar.client import SidecarClient

    with SidecarClient("http://127.0.0.1:5000", token="...") as client:
        job = client.submit(command=["hostname"], tasks=2)
        done = client.wait(job.id, timeout=60)
        print(done.result, client.output(job.id))

This package owns the client side of the HTTP API: ``sync`` (``SidecarClient``),
``async_`` (``AsyncSidecarClient``, the same methods as coroutines and async
iterators), ``calls`` (what both send, described as data), ``transfers`` and
``transfers_async`` (their files methods, on what ``filecalls`` shares),
``errors`` (the client's exception tree) and ``sse`` (reading event streams). Both clients take
``url`` and ``token`` (else ``FLUX_SIDECAR_URL``, default
``http://127.0.0.1:5000``, and ``FLUX_SIDECAR_TOKEN``) or an injected ``httpx``
client; reads and submissions with an ``idempotency_key`` are retried on
connection errors, nothing else is. It imports only the shared core
(``sidecar.models``), never the server, so it installs and runs anywhere.
"""

from sidecar.client.async_ import AsyncSidecarClient
from sidecar.client.errors import (
    APIError,
    AuthFailed,
    ClientError,
    Conflict,
    FieldError,
    NotFound,
    ServerUnreachable,
    Unavailable,
    ValidationFailed,
    WaitTimeout,
)
from sidecar.client.sync import SidecarClient

__all__ = [
    "APIError",
    "AsyncSidecarClient",
    "AuthFailed",
    "ClientError",
    "Conflict",
    "FieldError",
    "NotFound",
    "ServerUnreachable",
    "SidecarClient",
    "Unavailable",
    "ValidationFailed",
    "WaitTimeout",
]
