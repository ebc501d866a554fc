"""Request and response models shared by the server, the backends and the client."""

from __future__ import annotations

import enum
import signal as signals
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictFloat,
    WithJsonSchema,
)

from sidecar.patterns import INTEGRAL, NO_NUL, any_case, full, one_of
from sidecar.submission import JobRequest, parse_duration

__all__ = ["JobRequest", "parse_duration"]  # where every other part finds them


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
    reason: Annotated[str, Field(max_length=1024, pattern=NO_NUL)] | None = None


SIGNAL_NUMBERS = sorted(int(s) for s in signals.valid_signals())
_SIGNAL_NAMES = {
    name.removeprefix("SIG"): int(s) for name, s in signals.Signals.__members__.items()
}
SIGNAL_PATTERN = (
    f"^(?:(?:{any_case('SIG')})?{one_of(list(_SIGNAL_NAMES), ignore_case=True)}"
    f"|{one_of([str(n) for n in SIGNAL_NUMBERS])})$"
)


def signal_number(value: Any) -> Any:
    """A signal number from a number, ``"10"``, ``SIGUSR1`` or ``usr1``."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        if not full(SIGNAL_PATTERN, value):
            raise ValueError(f"{value[:32]!r} is not a signal name (SIGUSR1, USR1) or number")
        return int(value) if value.isdigit() else _SIGNAL_NAMES[value.upper().removeprefix("SIG")]
    if isinstance(value, int) and not isinstance(value, bool) and value not in SIGNAL_NUMBERS:
        raise ValueError(f"{value} is not a signal number")
    return value


class SignalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signal: Annotated[
        int,
        Strict(),
        INTEGRAL,
        BeforeValidator(signal_number),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "integer", "enum": SIGNAL_NUMBERS},
                    {"type": "string", "pattern": SIGNAL_PATTERN},
                ]
            }
        ),
    ] = Field(description="a name such as SIGUSR1 or USR1, or a number")


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


class IdleStatus(BaseModel):
    """Idle teardown (``--idle-shutdown``): how long until the sidecar shuts the cluster down."""

    after_seconds: float = Field(description="idle time that ends the MiniCluster")
    idle_seconds: float = Field(description="since the last API call or active job")
    seconds_left: float = Field(description="until the shutdown (mode drain) begins")


class Info(BaseModel):
    name: str = "flux-sidecar"
    version: str
    backend: BackendInfo
    uptime: float = Field(description="seconds since the sidecar started")
    auth: bool
    idle_shutdown: IdleStatus | None = Field(None, description="null unless idle teardown is on")


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
    timeout_seconds: StrictFloat = Field(
        60.0, ge=0, le=86400, description="how long drain waits for active jobs"
    )


class ShutdownStatus(BaseModel):
    phase: str = Field(
        description="serving, starting, draining, cancelling, stopping-broker or exiting"
    )
    in_progress: bool
    mode: Literal["cancel", "drain", "now"] | None = None
    reason: str | None = Field(
        None, description="api, signal, completion-file, broker-gone or idle"
    )
    started_at: float | None = None
    elapsed: float | None = None
    active_jobs: int | None = Field(None, description="jobs still active at the last check")
