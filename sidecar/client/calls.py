"""What the sync and async clients share: settings, and every call described as data.

A call is a method, a path, its parameters and a parser; the two clients differ
only in how they send it. Only calls that are safe to repeat are retried on a
connection error: reads, and submissions that carry an ``Idempotency-Key``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from sidecar.client.errors import ServerUnreachable
from sidecar.models import (
    Accepted,
    Info,
    Job,
    JobPage,
    JobRequest,
    JobResult,
    JobState,
    Resources,
    ShutdownStatus,
)

DEFAULT_URL = "http://127.0.0.1:5000"
URL_ENV = "FLUX_SIDECAR_URL"
TOKEN_ENV = "FLUX_SIDECAR_TOKEN"  # noqa: S105 - the name of a variable, not a secret
API = "/api/v1"
# The server sends a keep-alive comment every 15 s; a quieter stream is a dead connection.
EVENTS_READ_TIMEOUT = 60.0
WAIT_POLL_MAX = 1.0

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
JobId = str | int
Filter = str | JobState | JobResult | Iterable[str | JobState | JobResult] | None


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: dict[str, str] | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    retry: bool = False


def _model(kind: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: kind.model_validate_json(response.content)


def _text(response: httpx.Response) -> str:
    return response.text


def _joined(values: Filter) -> str | None:
    if values is None:
        return None
    items = [values] if isinstance(values, str) else list(values)
    return ",".join(v.value if isinstance(v, (JobState, JobResult)) else str(v) for v in items)


def job_path(job_id: JobId, tail: str = "") -> str:
    return f"{API}/jobs/{quote(str(job_id).strip(), safe='')}{tail}"


def as_state(state: JobState | str) -> JobState:
    return state if isinstance(state, JobState) else JobState(state.strip().upper())


def reached(job: Job, target: JobState) -> bool:
    """The job is in ``target`` or past it (INACTIVE is past every state)."""
    order = list(JobState)
    return order.index(job.state) >= order.index(target)


def backoff(attempt: int) -> float:
    return float(min(0.2 * 2**attempt, 2.0))


class ClientBase:
    """Settings: ``url`` and ``token`` from arguments, else ``FLUX_SIDECAR_URL`` / ``_TOKEN``.

    With an injected ``httpx`` client and no ``url``, paths are relative to its ``base_url``.
    """

    def __init__(
        self,
        url: str | None,
        token: str | None,
        *,
        injected: bool,
        timeout: float,
        retries: int,
    ) -> None:
        chosen = url or (None if injected else os.environ.get(URL_ENV) or DEFAULT_URL)
        self.url = (chosen or "").rstrip("/")
        self._token = token if token is not None else os.environ.get(TOKEN_ENV) or None
        self._timeout = timeout
        self._retries = max(0, retries)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        headers.update(extra or {})
        return headers

    def _unreachable(self, exc: Exception, call: Call[Any] | None = None) -> ServerUnreachable:
        where = self.url or "the sidecar"
        unsure = call is not None and call.method != "GET" and not call.retry
        note = " (the request may or may not have been applied)" if unsure else ""
        return ServerUnreachable(f"cannot reach {where}: {exc or type(exc).__name__}{note}")

    # The calls, as data.

    def _submit_call(
        self, request: JobRequest | None, idempotency_key: str | None, fields: dict[str, Any]
    ) -> Call[Job]:
        if request is None:
            request = JobRequest(**fields)
        elif fields:
            request = request.model_copy(update=fields)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        body = request.model_dump(mode="json", exclude_defaults=True)
        return Call(
            "POST", f"{API}/jobs", _model(Job), body=body, headers=headers, retry=bool(headers)
        )

    def _page_call(
        self,
        state: Filter,
        result: Filter,
        name: str | None,
        user: str | None,
        limit: int,
        cursor: str | None,
    ) -> Call[JobPage]:
        params = {
            key: value
            for key, value in (
                ("state", _joined(state)),
                ("result", _joined(result)),
                ("name", name),
                ("user", user),
                ("limit", str(limit)),
                ("cursor", cursor),
            )
            if value
        }
        return Call("GET", f"{API}/jobs", _model(JobPage), params=params, retry=True)

    def _job_call(self, job_id: JobId) -> Call[Job]:
        return Call("GET", job_path(job_id), _model(Job), retry=True)

    def _cancel_call(self, job_id: JobId, reason: str | None) -> Call[Accepted]:
        body = {"reason": reason} if reason else None
        return Call("POST", job_path(job_id, "/cancel"), _model(Accepted), body=body)

    def _signal_call(self, job_id: JobId, signal: int | str) -> Call[Accepted]:
        body = {"signal": signal}
        return Call("POST", job_path(job_id, "/signal"), _model(Accepted), body=body)

    def _output_call(self, job_id: JobId, streams: Iterable[str]) -> Call[str]:
        params = {"stream": ",".join(streams)}
        return Call("GET", job_path(job_id, "/output"), _text, params=params, retry=True)

    def _resources_call(self) -> Call[Resources]:
        return Call("GET", f"{API}/resources", _model(Resources), retry=True)

    def _info_call(self) -> Call[Info]:
        return Call("GET", f"{API}/info", _model(Info), retry=True)

    def _shutdown_call(self, mode: str, timeout_seconds: float | None) -> Call[ShutdownStatus]:
        body: dict[str, Any] = {"mode": mode}
        if timeout_seconds is not None:
            body["timeout_seconds"] = timeout_seconds
        return Call("POST", f"{API}/shutdown", _model(ShutdownStatus), body=body)

    def _shutdown_status_call(self) -> Call[ShutdownStatus]:
        return Call("GET", f"{API}/shutdown", _model(ShutdownStatus), retry=True)

    def _stream_timeout(self, read: float | None) -> httpx.Timeout:
        return httpx.Timeout(self._timeout, read=read)
