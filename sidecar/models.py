"""Request and response models shared by the server, the backends and the client."""

from __future__ import annotations

import enum
import re
import shlex
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FSD = re.compile(r"^(?P<num>[0-9]*\.?[0-9]+)(?P<unit>ms|s|m|h|d)?$")
_FSD_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class JobState(str, enum.Enum):
    """Flux job states, in the order a job passes through them."""

    DEPEND = "DEPEND"
    PRIORITY = "PRIORITY"
    SCHED = "SCHED"
    RUN = "RUN"
    CLEANUP = "CLEANUP"
    INACTIVE = "INACTIVE"


ACTIVE_STATES = frozenset(s for s in JobState if s is not JobState.INACTIVE)


class JobResult(str, enum.Enum):
    """How an inactive job ended."""

    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    TIMEOUT = "TIMEOUT"


def parse_duration(value: float | int | str) -> float:
    """Seconds from a number or a Flux Standard Duration (``"90"``, ``"1.5m"``, ``"2h"``)."""
    if isinstance(value, bool):
        raise ValueError("expected seconds or a duration such as '10m'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = value.strip()
        if text.lower() in {"inf", "infinity"}:
            return 0.0
        match = _FSD.match(text)
        if match is None:
            raise ValueError(f"{value!r} is not a duration: use seconds or e.g. '30s', '10m', '2h'")
        seconds = float(match["num"]) * _FSD_SECONDS[match["unit"] or "s"]
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError("must be a finite number of seconds >= 0")
    return seconds


class JobRequest(BaseModel):
    """A job to submit: a command with its shape, or a complete Flux jobspec (exactly one)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"oneOf": [{"required": ["command"]}, {"required": ["jobspec"]}]},
    )

    command: list[str] | None = Field(
        None,
        description="argv list, or a string split like a shell would",
        examples=[["hostname"], "echo hello"],
    )
    jobspec: dict[str, Any] | None = Field(None, description="a complete Flux jobspec v1")
    name: str | None = Field(None, max_length=256)
    tasks: int = Field(1, ge=1, le=1_000_000, strict=True)
    nodes: int | None = Field(None, ge=1, le=100_000, strict=True)
    cores_per_task: int = Field(1, ge=1, le=100_000, strict=True)
    gpus_per_task: int = Field(0, ge=0, le=1_000, strict=True)
    exclusive: bool = Field(False, strict=True)
    time_limit: float = Field(0.0, description="seconds, or a Flux duration like '10m'; 0 = none")
    cwd: str | None = Field(None, max_length=4096)
    env: dict[str, str] = Field(default_factory=dict, description="the job's whole environment")
    queue: str | None = Field(None, max_length=256)
    urgency: int = Field(16, ge=0, le=31, strict=True)
    dependencies: list[str] = Field(default_factory=list, description="e.g. afterok:ƒ2Ex...")

    @field_validator("command", mode="before")
    @classmethod
    def _split_command(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = shlex.split(value)
            except ValueError as exc:
                raise ValueError(f"cannot split command: {exc}") from None
        if isinstance(value, list) and not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("time_limit", mode="before")
    @classmethod
    def _parse_time_limit(cls, value: Any) -> Any:
        if isinstance(value, (str, int, float)):
            return parse_duration(value)
        return value

    @field_validator("env")
    @classmethod
    def _check_env(cls, value: dict[str, str]) -> dict[str, str]:
        for key, val in value.items():
            if not _ENV_NAME.match(key):
                raise ValueError(f"{key!r} is not a valid environment variable name")
            if "\0" in val:
                raise ValueError(f"value of {key} contains a NUL byte")
        return value

    @model_validator(mode="after")
    def _check_shape(self) -> JobRequest:
        if (self.command is None) == (self.jobspec is None):
            raise ValueError("give exactly one of 'command' or 'jobspec'")
        if self.command is not None and any("\0" in arg for arg in self.command):
            raise ValueError("command contains a NUL byte")
        if self.nodes is not None and self.nodes > self.tasks:
            raise ValueError("nodes must not be greater than tasks")
        if self.exclusive and self.nodes is None:
            raise ValueError("exclusive needs a node count ('nodes')")
        return self


class ErrorBody(BaseModel):
    """Every error response."""

    detail: str


class FieldError(BaseModel):
    field: str = Field(description="the offending field, e.g. tasks or env.NAME")
    message: str


class ValidationErrorBody(ErrorBody):
    """A 422: what is wrong, field by field."""

    errors: list[FieldError] = Field(default_factory=list)


class JobException(BaseModel):
    type: str
    note: str = ""
    severity: int = 0


class Job(BaseModel):
    """One job, as Flux's job-list reports it."""

    id: str = Field(description="f58 job id, e.g. ƒ2ExFxXbbd")
    id_dec: str = Field(description="the same id in decimal (exceeds 2^53)")
    name: str
    user: str
    state: JobState
    result: JobResult | None = None
    returncode: int | None = None
    exception: JobException | None = None
    nodes: int
    tasks: int
    cores: int
    gpus: int = 0
    nodelist: str = ""
    queue: str | None = None
    urgency: int = 16
    t_submit: float
    t_run: float | None = None
    t_cleanup: float | None = None
    t_inactive: float | None = None
    cwd: str | None = Field(None, description="working directory; null if Flux was given none")


class JobPage(BaseModel):
    jobs: list[Job]
    next: str | None = Field(None, description="cursor of the next page, or null on the last")


class JobQuery(BaseModel):
    """Filters and paging for a job listing (newest first)."""

    states: frozenset[JobState] = frozenset()
    results: frozenset[JobResult] = frozenset()
    name: str | None = None
    user: str | None = None
    limit: int = 50
    cursor: str | None = None


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=1024)


class SignalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signal: int | str = Field(description="a name such as SIGUSR1 or USR1, or a number")


class Accepted(BaseModel):
    id: str
    detail: str


class JobEvent(BaseModel):
    """One entry of a job's main eventlog."""

    name: str
    timestamp: float
    context: dict[str, Any] = Field(default_factory=dict)


class StateChange(BaseModel):
    """A job entering a state; ``id`` of the SSE message resumes after it."""

    event_id: str = Field(description="opaque; send it back as Last-Event-ID to resume")
    id: str
    id_dec: str
    state: JobState
    result: JobResult | None = None
    timestamp: float


class OutputLine(BaseModel):
    stream: Literal["stdout", "stderr"]
    rank: int
    data: str


class ResourceCount(BaseModel):
    total: int
    up: int
    down: int
    allocated: int
    free: int


class Resources(BaseModel):
    nodes: ResourceCount
    cores: ResourceCount
    gpus: ResourceCount
    nodelist: dict[str, str] = Field(
        description="hostlists by state: up, down, allocated, free", default_factory=dict
    )


class JobStats(BaseModel):
    """Counts of jobs by state, and of inactive jobs by result."""

    states: dict[JobState, int]
    results: dict[JobResult, int]
    total: int


class BackendInfo(BaseModel):
    kind: Literal["flux", "local"]
    size: int = Field(description="number of nodes (broker ranks) in the instance")
    flux_version: str | None = Field(None, description="version of the Flux bindings in use")
    broker_version: str | None = Field(None, description="version the broker reports")
    uri: str | None = None


class Info(BaseModel):
    name: str = "flux-sidecar"
    version: str
    backend: BackendInfo
    uptime: float = Field(description="seconds since the sidecar started")
    auth: bool


class Health(BaseModel):
    status: str
    detail: str | None = None


class ShutdownRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["cancel", "drain", "now"] = Field(
        "cancel",
        description="cancel active jobs, drain (wait for them, then cancel), or now (leave "
        "them to the broker)",
    )
    timeout_seconds: float = Field(
        60.0, ge=0, le=86400, description="how long drain waits for active jobs"
    )


class ShutdownStatus(BaseModel):
    phase: str = Field(
        description="serving, starting, draining, cancelling, stopping-broker or exiting"
    )
    in_progress: bool
    mode: Literal["cancel", "drain", "now"] | None = None
    reason: str | None = Field(None, description="api, signal, completion-file or broker-gone")
    started_at: float | None = None
    elapsed: float | None = None
    active_jobs: int | None = Field(None, description="jobs still active at the last check")
