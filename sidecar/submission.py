"""A submission: a command or a script with its shape, or a complete Flux jobspec (one).

Its JSON Schema is the validator written out: a ``oneOf`` of the command and
script forms (each plain, or with exclusive nodes and so a node count) and
the jobspec form, each forbidding the others' fields, and a pattern for every string the
validator parses. The two rules a pattern without look-around cannot state
(``nodes`` at most ``tasks``; no script line that ``flux batch`` would read
as a directive) are in the descriptions.
"""

from __future__ import annotations

import re
import shlex
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetPydanticSchema,
    Strict,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import core_schema

from sidecar.jobspec_model import Environment, JobspecV1
from sidecar.patterns import (
    DEPENDENCY,
    DURATION,
    INTEGRAL,
    NO_NUL,
    SCRIPT,
    SHELL_WORDS,
    full,
    is_unicode,
)

_FSD_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_HELP = "use seconds or a duration such as '30s', '10m', '2h'"


def parse_duration(value: float | int | str) -> float:
    """Seconds from a number or a Flux Standard Duration (``"90"``, ``"1.5m"``, ``"2h"``)."""
    if isinstance(value, bool):
        raise ValueError(f"expected seconds or a duration: {_DURATION_HELP}")
    if isinstance(value, str):
        if not full(DURATION, value):
            raise ValueError(f"{value[:64]!r} is not a duration: {_DURATION_HELP}")
        if value[0] in "iI":
            return 0.0
        unit = value.lstrip("0123456789.")
        return float(value[: len(value) - len(unit)]) * _FSD_SECONDS[unit or "s"]
    seconds = float(value)
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError("must be a finite number of seconds >= 0")
    return seconds


def _split_command(value: Any) -> Any:
    if isinstance(value, str):
        if not full(SHELL_WORDS, value):
            raise ValueError(
                "not a command line: close every quote, end no line with a backslash, "
                "and give at least one word (no NUL bytes)"
            )
        return shlex.split(value)
    return value


def _seconds(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, (str, int, float)) else value


def _as_given(value: Any) -> Any:
    return value


def _checked(value: Any, validate: core_schema.ValidatorFunctionWrapHandler) -> Any:
    # The client's own keys, with 2.0 read as the integer 2: Flux's validator wants an int.
    spec: JobspecV1 = validate(value)
    return spec.model_dump(mode="json", by_alias=True, exclude_unset=True)


Command = Annotated[
    list[Annotated[str, Field(pattern=NO_NUL)]],
    Field(min_length=1),
    BeforeValidator(_split_command),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": SHELL_WORDS},
                {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": NO_NUL}},
            ]
        }
    ),
]
# Validated as a JobspecV1, passed on (and serialized) as a dictionary of the client's keys.
Jobspec = Annotated[
    dict[str, Any],
    GetPydanticSchema(
        lambda _, handler: core_schema.no_info_wrap_validator_function(
            _checked,
            handler(JobspecV1),
            serialization=core_schema.plain_serializer_function_ser_schema(_as_given),
        )
    ),
]
Seconds = Annotated[
    float,
    BeforeValidator(_seconds),
    WithJsonSchema(
        {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": DURATION}]}
    ),
]
Text = Annotated[str, Field(pattern=NO_NUL)]
MAX_SCRIPT = 1_000_000
# A line flux batch would read as a directive (flux.job.directives.DirectiveParser
# matches ^[^\w]*(?:flux|FLUX): line by line; here the whole text at once).
_DIRECTIVE = re.compile(r"^[^\w\n]*(?:flux|FLUX):", re.MULTILINE)


def _check_script(value: Any) -> Any:
    if isinstance(value, str):
        if not value.startswith("#!"):
            raise ValueError("a script starts with #! and its interpreter, e.g. #!/bin/sh")
        if len(value) > MAX_SCRIPT:
            raise ValueError(f"a script is at most {MAX_SCRIPT} characters")
        if "\0" in value:
            raise ValueError("a script must not contain a NUL byte")
        if not is_unicode(value):
            raise ValueError("a script must be valid Unicode text (it has a lone surrogate)")
        if "\r" in value:
            raise ValueError(r"a script must have Unix line breaks (\n), not DOS ones (\r\n)")
        directive = _DIRECTIVE.search(value)
        if directive is not None:
            number = value.count("\n", 0, directive.start()) + 1
            raise ValueError(
                f"line {number} is a 'flux:' directive, which only flux batch reads: "
                "give its options as fields (nodes, tasks, time_limit, ...) instead"
            )
    return value


Script = Annotated[
    str,
    BeforeValidator(_check_script),
    WithJsonSchema({"type": "string", "pattern": SCRIPT, "maxLength": MAX_SCRIPT}),
]

_JOBSPEC_FORM = {"jobspec", "command", "script"}
_NULL = {"type": "null"}


def _required(prop: dict[str, Any]) -> dict[str, Any]:
    """A nullable, defaulted property as a required one: without the null, without the default."""
    kept = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
    if isinstance(kept.get("type"), list):
        kept["type"] = next(t for t in kept["type"] if t != "null")
    choices = [choice for choice in prop.get("anyOf", []) if choice != _NULL]
    if len(choices) == 1:
        kept.update(choices[0])
    elif choices:
        kept["anyOf"] = choices
    return kept


def _nullable(prop: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [{type: T}, {type: null}]`` as ``type: [T, null]``: generators do better."""
    choices = prop.get("anyOf", [])
    if len(choices) == 2 and choices[1] == _NULL and isinstance(choices[0].get("type"), str):
        rest = {k: v for k, v in prop.items() if k != "anyOf"}
        return {**choices[0], **rest, "type": [choices[0]["type"], "null"]}
    return prop


def _exactly_one(schema: dict[str, Any]) -> None:
    """The forms of a request as alternatives generators build directly: a command or a
    script (exclusive or not: exclusive nodes need a node count) or a jobspec, each
    forbidding the others' fields; ``batch`` belongs to the script forms."""
    properties = {name: _nullable(prop) for name, prop in schema.pop("properties").items()}
    shape = {k: v for k, v in properties.items() if k not in ("command", "script", "batch")}
    forms: list[tuple[str, dict[str, Any], list[str]]] = []
    for program, title, others in (
        ("command", "Command", {"script": _NULL}),
        ("script", "Script", {"command": _NULL, "batch": properties["batch"]}),
    ):
        plain = {
            **shape,
            **others,
            program: _required(properties[program]),
            "jobspec": _NULL,
            "exclusive": {**_required(properties["exclusive"]), "const": False},
        }
        exclusive = {
            **plain,
            "exclusive": {**_required(properties["exclusive"]), "const": True},
            "nodes": _required(properties["nodes"]),
        }
        forms.append((f"{title}Job", plain, [program]))
        forms.append((f"Exclusive{title}Job", exclusive, [program, "exclusive", "nodes"]))
    jobspec = {"jobspec": _required(properties["jobspec"]), "command": _NULL, "script": _NULL}
    forms.append(("JobspecJob", jobspec, ["jobspec"]))
    for key in ("type", "additionalProperties"):
        schema.pop(key, None)
    schema["oneOf"] = [
        {
            "title": title,
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": False,
        }
        for title, props, required in forms
    ]


class JobRequest(BaseModel):
    """A job to submit: a command or a script with its shape, or a complete Flux jobspec.

    With a command, ``nodes`` must not exceed ``tasks``.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_exactly_one)

    command: Command | None = Field(
        None,
        description="argv list, or a string split like a shell would",
        examples=[["hostname"], "echo hello"],
    )
    script: Script | None = Field(
        None,
        description=(
            "the text of a script that starts with #!, as flux batch and sbatch take it; "
            "Unix line breaks, and no '# flux:' directive lines (give their options as fields)"
        ),
        examples=["#!/bin/sh\nhostname\n"],
    )
    batch: bool = Field(
        True,
        strict=True,
        description="with a script: run it in a Flux instance of its own on the job's "
        "resources, as flux batch does; false runs it as each task's program",
    )
    jobspec: Jobspec | None = Field(
        None, description="a complete Flux jobspec v1; then no other field"
    )
    name: Annotated[str, Field(pattern=NO_NUL, max_length=256)] | None = None
    tasks: Annotated[int, Strict(), Field(ge=1, le=1_000_000), INTEGRAL] = Field(1)
    nodes: Annotated[int, Strict(), Field(ge=1, le=100_000), INTEGRAL] | None = Field(
        None, description="at most tasks"
    )
    cores_per_task: Annotated[int, Strict(), Field(ge=1, le=100_000), INTEGRAL] = Field(1)
    gpus_per_task: Annotated[int, Strict(), Field(ge=0, le=1_000), INTEGRAL] = Field(0)
    exclusive: bool = Field(False, strict=True, description="whole nodes; needs nodes")
    time_limit: Seconds = Field(0.0, description="seconds, or a Flux duration like '10m'; 0 = none")
    cwd: Annotated[str, Field(pattern=NO_NUL, max_length=4096)] | None = Field(
        None, description="working directory; relative paths and none mean under the files root"
    )
    env: Environment = Field(default_factory=dict, description="the job's whole environment")
    queue: Annotated[str, Field(pattern=NO_NUL, max_length=256)] | None = None
    urgency: Annotated[int, Strict(), Field(ge=0, le=31), INTEGRAL] = Field(
        16, description="0 holds the job"
    )
    dependencies: list[Annotated[str, Field(pattern=DEPENDENCY)]] = Field(
        default_factory=list, description="e.g. afterok:ƒ2Ex..."
    )

    @model_validator(mode="after")
    def _check_shape(self) -> JobRequest:
        given = [f for f in ("command", "script", "jobspec") if getattr(self, f) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'command', 'script' or 'jobspec'")
        if self.script is None and "batch" in self.model_fields_set:
            raise ValueError("'batch' is for a script: drop it")
        if self.jobspec is not None:
            extra = sorted(self.model_fields_set - _JOBSPEC_FORM)
            if extra:
                raise ValueError(f"with a jobspec, the jobspec says it all: drop {extra[0]!r}")
            return self
        if self.nodes is not None and self.nodes > self.tasks:
            raise ValueError("nodes must not be greater than tasks")
        if self.exclusive and self.nodes is None:
            raise ValueError("exclusive needs a node count ('nodes')")
        return self
