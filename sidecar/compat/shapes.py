"""Upstream flux-restful-api's shapes: its submit fields in, its job dictionaries out.

Translation only: the ``/v1`` routes hand a ``JobRequest`` to the same backend
as ``/api/v1`` and show the ``Job`` it returns the way upstream showed Flux's
job-list entries (integer ids, ``ntasks``, ``nnodes``, ``exception`` ...).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    field_validator,
)

from sidecar.errors import InvalidRequest
from sidecar.models import Job, JobRequest, JobResult, JobState, ShutdownStatus
from sidecar.patterns import DURATION, ENV_NAME, NO_NUL, SHELL_WORDS, full

# Upstream's submit fields and ours; the reverse names error messages in upstream's terms.
_FIELDS = {
    "num_tasks": "tasks",
    "cores_per_task": "cores_per_task",
    "gpus_per_task": "gpus_per_task",
    "num_nodes": "nodes",
    "exclusive": "exclusive",
    "workdir": "cwd",
    "envars": "env",
    "runtime": "time_limit",
}
_UPSTREAM_NAME = {ours: theirs for theirs, ours in _FIELDS.items()}
SUBMIT_FIELDS = ("command", *_FIELDS, "option_flags", "is_launcher")


def _optional(pattern: str) -> str:
    """``pattern``, or the empty string upstream's client sends for an unset field."""
    return f"^(?:{pattern.removeprefix('^').removesuffix('$')})?$"


# The query of upstream's client, field by field: what the document says and the route checks.
SUBMIT_QUERY: dict[str, dict[str, Any]] = {
    "command": {"type": "string", "pattern": SHELL_WORDS},
    "num_tasks": {"type": "string", "pattern": _optional("[1-9][0-9]{0,5}|1000000")},
    "cores_per_task": {"type": "string", "pattern": _optional("[1-9][0-9]{0,4}|100000")},
    "gpus_per_task": {"type": "string", "pattern": _optional("0|[1-9][0-9]{0,2}|1000")},
    "num_nodes": {"type": "string", "pattern": _optional("[1-9][0-9]{0,4}|100000")},
    "exclusive": {"type": "string", "pattern": "^(?:true|false)?$"},
    "workdir": {"type": "string", "pattern": NO_NUL, "maxLength": 4096},
    "runtime": {"type": "string", "pattern": _optional(DURATION)},
}
ENVARS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "propertyNames": {"pattern": ENV_NAME},
    "additionalProperties": {
        "anyOf": [{"type": "string", "pattern": NO_NUL}, {"type": "number"}, {"type": "boolean"}]
    },
}


def submit_parameters() -> list[dict[str, Any]]:
    """The OpenAPI parameters of ``POST /v1/jobs/submit``."""
    parameters = [
        {"name": name, "in": "query", "required": name == "command", "schema": schema}
        for name, schema in SUBMIT_QUERY.items()
    ]
    envars = {"application/json": {"schema": ENVARS_SCHEMA}}
    parameters.append(
        {
            "name": "envars",
            "in": "query",
            "description": "the job's environment as a JSON object (also K=V,K=V)",
            "content": envars,
        }
    )
    return parameters


def query_fields(query: Mapping[str, str]) -> dict[str, Any]:
    """The submit fields of upstream's query, each checked against ``SUBMIT_QUERY``."""
    fields: dict[str, Any] = {}
    errors = []
    for name in SUBMIT_FIELDS:
        value = query.get(name)
        if not value:
            continue  # upstream's client sends an unset field as an empty string
        schema = SUBMIT_QUERY.get(name)
        if schema is not None and not (
            full(schema["pattern"], value) and len(value) <= schema.get("maxLength", len(value))
        ):
            errors.append(f"{name}: {value[:64]!r} is not valid here")
        fields[name] = value
    if errors:
        raise InvalidSubmit(errors)
    return fields


_NO_SHELL_OPTIONS = (
    "option_flags: Flux shell options are not supported; POST a jobspec to /api/v1/jobs instead"
)


class InvalidSubmit(InvalidRequest):
    """A refused ``/v1/jobs/submit``; ``errors`` become upstream's ``Errors`` list."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("invalid submit request: " + "; ".join(errors))
        self.errors = errors


def parse_envars(value: str) -> dict[str, Any]:
    """Upstream's client sends a dict as its Python repr in the query; JSON and K=V,K=V work too."""
    for parse in (json.loads, ast.literal_eval):
        try:
            parsed = parse(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(parsed, dict):
            return parsed
    pairs = [item.partition("=") for item in value.split(",") if item.strip()]
    if not pairs or any(not sep for _, sep, _ in pairs):
        raise ValueError("envars: expected a JSON object or KEY=VALUE,KEY=VALUE")
    return {key.strip(): val for key, _, val in pairs}


class UpstreamSubmit(BaseModel):
    """The fields of upstream's ``POST /v1/jobs/submit``, from its query or a JSON body."""

    model_config = ConfigDict(extra="forbid")

    command: str | list[str | int | float]
    num_tasks: int | None = None
    cores_per_task: int | None = None
    gpus_per_task: int | None = None
    num_nodes: int | None = None
    exclusive: bool | None = None
    workdir: str | None = None
    envars: dict[str, str | int | float | bool] | None = None
    option_flags: str | dict[str, Any] | None = None
    runtime: float | str | None = None
    is_launcher: bool | None = None

    @field_validator("envars", mode="before")
    @classmethod
    def _envars(cls, value: Any) -> Any:
        return parse_envars(value) if isinstance(value, str) else value

    def to_request(self) -> JobRequest:
        if self.option_flags:
            raise InvalidSubmit([_NO_SHELL_OPTIONS])
        if self.is_launcher:
            raise InvalidSubmit(["is_launcher: launchers (nextflow, snakemake) are not supported"])
        command = self.command
        fields: dict[str, Any] = {
            "command": command if isinstance(command, str) else [str(a) for a in command]
        }
        for theirs, ours in _FIELDS.items():
            value = getattr(self, theirs)
            if value is not None:
                fields[ours] = value
        if self.envars is not None:
            fields["env"] = {
                k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in self.envars.items()
            }
        try:
            return JobRequest(**fields)
        except ValidationError as exc:
            raise InvalidSubmit(describe(exc, _UPSTREAM_NAME)) from None


def describe(exc: ValidationError, names: dict[str, str] | None = None) -> list[str]:
    """Pydantic's errors as ``"field: message"`` strings, in upstream's field names."""
    found = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        if loc:
            loc[0] = (names or {}).get(loc[0], loc[0])
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        found.append(f"{'.'.join(loc)}: {message}" if loc else message)
    return found


def upstream_job(job: Job, now: float) -> dict[str, Any]:
    """A job as upstream showed it (Flux's job-list entry plus ``JobInfo`` extras)."""
    exc = job.exception
    runtime = (job.t_cleanup or now) - job.t_run if job.t_run is not None else 0.0
    return {
        "id": int(job.id_dec),
        "name": job.name,
        "user": job.user,
        "state": job.state.value,
        "result": job.result.value if job.result else "",
        "success": job.result is JobResult.COMPLETED,
        "returncode": job.returncode if job.returncode is not None else "",
        "runtime": round(max(runtime, 0.0), 3),
        "urgency": job.urgency,
        "queue": job.queue or "",
        "ntasks": job.tasks,
        "ncores": job.cores,
        "nnodes": job.nodes,
        "nodelist": job.nodelist,
        "t_submit": job.t_submit,
        "t_run": job.t_run or 0.0,
        "t_cleanup": job.t_cleanup or 0.0,
        "t_inactive": job.t_inactive or 0.0,
        "exception_occurred": exc is not None,
        "exception": {
            "occurred": exc is not None,
            "severity": exc.severity if exc else "",
            "type": exc.type if exc else "",
            "note": exc.note if exc else "",
        },
    }


# The answers, for the document only: the routes return their dicts unvalidated.
_ANSWER = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)
_UNSET = Literal[""]


class UpstreamJobException(BaseModel):
    """A job's ``exception``; ``occurred`` false and the rest empty when there was none."""

    model_config = _ANSWER
    occurred: bool
    severity: int | _UNSET
    type: str
    note: str


class UpstreamJob(BaseModel):
    """A job in upstream's shape (``upstream_job``): Flux's job-list entry plus extras."""

    model_config = _ANSWER
    id: int = Field(description="the job id in decimal")
    name: str
    user: str
    state: JobState
    result: JobResult | _UNSET = Field(description="empty until the job has ended")
    success: bool
    returncode: int | _UNSET = Field(description="empty until the job has ended")
    runtime: float
    urgency: int
    queue: str
    ntasks: int
    ncores: int
    nnodes: int
    nodelist: str
    t_submit: float
    t_run: float = Field(description="0 until the job runs, as are the later times")
    t_cleanup: float
    t_inactive: float
    exception_occurred: bool
    exception: UpstreamJobException


class UpstreamJobList(BaseModel):
    """``GET /v1/jobs`` without ``details``."""

    model_config = _ANSWER
    jobs: list[UpstreamJob]


class UpstreamJobsById(RootModel[dict[Annotated[str, Field(pattern=r"^[0-9]+$")], UpstreamJob]]):
    """``GET /v1/jobs?details=true``: the jobs by decimal id."""

    model_config = ConfigDict(json_schema_extra={"additionalProperties": False})


# Without details: {"jobs": [...]}; with details: by id, or with listing a list.
UpstreamJobs = UpstreamJobList | UpstreamJobsById | list[UpstreamJob]


class UpstreamJobTable(BaseModel):
    """``GET /v1/jobs/search``: a page of upstream's data table."""

    model_config = _ANSWER
    data: list[UpstreamJob]
    draw: str | int = Field(description="the request's draw, else 1")
    recordsTotal: int
    recordsFiltered: int


class UpstreamJobMessage(BaseModel):
    """Submit and cancel: upstream's ``Message`` and the job's decimal id."""

    model_config = _ANSWER
    Message: str
    id: int


class UpstreamMessage(BaseModel):
    """Upstream's answer without data, such as output that does not exist yet."""

    model_config = _ANSWER
    Message: str


class UpstreamOutput(BaseModel):
    """A job's output so far, line by line."""

    model_config = _ANSWER
    Output: list[str]


class UpstreamNodes(BaseModel):
    """The nodes that are up."""

    model_config = _ANSWER
    nodes: list[str]


class UpstreamAccessToken(BaseModel):
    """What ``POST /v1/token`` issues: an access token for ``/v1``."""

    model_config = _ANSWER
    access_token: str
    token_type: Literal["Bearer"]


class UpstreamShutdown(ShutdownStatus):
    """``POST /v1/service/stop``: upstream's ``Message`` and the shutdown's status."""

    model_config = _ANSWER
    Message: str


_TOP_LEVEL_COMMA = re.compile(r",(?![^\[]*\])")


def expand_hostlist(hostlist: str) -> list[str]:
    """``node[0-2,5],login`` -> ``node0 node1 node2 node5 login`` (zero padding kept)."""
    hosts: list[str] = []
    for item in filter(None, (part.strip() for part in _TOP_LEVEL_COMMA.split(hostlist))):
        prefix, bracket, rest = item.partition("[")
        if not bracket:
            hosts.append(item)
            continue
        ranges, _, suffix = rest.partition("]")
        tails = expand_hostlist(suffix) if "[" in suffix else [suffix]
        for part in ranges.split(","):
            low, dash, high = part.partition("-")
            numbers = range(int(low), int(high) + 1) if dash else range(int(low), int(low) + 1)
            hosts.extend(f"{prefix}{n:0{len(low)}d}{tail}" for n in numbers for tail in tails)
    return hosts
