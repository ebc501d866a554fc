"""The Flux jobspec v1 (RFC 25) the sidecar takes in a submission, as a model.

It is the part of RFC 25 that both backends run unchanged: one resource (a
slot, or nodes holding one slot each), cores and optionally GPUs per slot,
one task, and the system attributes Flux documents. Everything here passes
Flux's own jobspec validator, so the schema this model publishes is exactly
what a submission may carry.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictFloat,
    WithJsonSchema,
    model_validator,
)

from sidecar.patterns import ENV_NAME, INTEGRAL, NO_NUL, full, is_unicode

Text = Annotated[str, Field(pattern=NO_NUL)]
Name = Annotated[str, Field(pattern=NO_NUL, min_length=1, max_length=256)]


# JSON Schema's ``propertyNames``: pydantic would write the key pattern as
# ``patternProperties``, which lets keys that do not match through.
def _env_name(key: str) -> str:
    if not full(ENV_NAME, key):
        raise ValueError(f"{key[:64]!r} is not a valid environment variable name")
    return key


def _no_nul(text: str) -> str:
    if "\0" in text:
        raise ValueError("contains a NUL byte")
    if not is_unicode(text):
        raise ValueError("is not valid Unicode text (a lone surrogate)")
    return text


# The messages a person reads next to the field; the schema states the same rules.
Environment = Annotated[
    dict[Annotated[str, AfterValidator(_env_name)], Annotated[str, AfterValidator(_no_nul)]],
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"pattern": ENV_NAME},
            "additionalProperties": {"type": "string", "pattern": NO_NUL},
        }
    ),
]
Labels = Annotated[
    dict[Text, Text],
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL},
            "additionalProperties": {"type": "string", "pattern": NO_NUL},
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Core(_Strict):
    type: Literal["core"]
    count: Annotated[int, Strict(), Field(ge=1, le=100_000), INTEGRAL]


class Gpu(_Strict):
    type: Literal["gpu"]
    count: Annotated[int, Strict(), Field(ge=1, le=1_000), INTEGRAL]


class Slot(_Strict):
    type: Literal["slot"]
    count: Annotated[int, Strict(), Field(ge=1, le=1_000_000), INTEGRAL]
    label: Name
    with_: tuple[Core] | tuple[Core, Gpu] = Field(alias="with")


class Node(_Strict):
    type: Literal["node"]
    count: Annotated[int, Strict(), Field(ge=1, le=100_000), INTEGRAL]
    exclusive: StrictBool = False
    with_: tuple[Slot] = Field(alias="with")


class PerSlot(_Strict):
    per_slot: Annotated[int, Strict(), Field(ge=1, le=1_000_000), INTEGRAL]


class Total(_Strict):
    total: Annotated[int, Strict(), Field(ge=1, le=1_000_000), INTEGRAL]


class Task(_Strict):
    command: list[Text] = Field(min_length=1)
    slot: Name
    count: PerSlot | Total


class JobName(_Strict):
    name: Annotated[str, Field(pattern=NO_NUL, max_length=256)]


class Dependency(_Strict):
    """Joined as ``scheme:value``, so the scheme has no colon."""

    scheme: Annotated[str, Field(pattern=r"^[^:\x00]+$")]
    value: Annotated[str, Field(pattern=r"^[^\x00]+$")]


_OPTIONAL = ("cwd", "job", "queue")


def _absent_not_null(schema: dict[str, Any]) -> None:
    for name in _OPTIONAL:
        prop = schema["properties"][name]
        prop.pop("default", None)
        choices = [choice for choice in prop.pop("anyOf") if choice != {"type": "null"}]
        prop.update(choices[0])


class System(_Strict):
    # Flux reads cwd, job and queue as a string or an object when present: null is none.
    model_config = ConfigDict(extra="forbid", json_schema_extra=_absent_not_null)

    duration: StrictFloat = Field(ge=0, allow_inf_nan=False, description="seconds; 0 means none")
    environment: Environment = Field(default_factory=dict)
    cwd: Annotated[str, Field(pattern=NO_NUL, max_length=4096)] | None = None
    job: JobName | None = None
    queue: Annotated[str, Field(pattern=NO_NUL, max_length=256)] | None = None
    urgency: Annotated[int, Strict(), Field(ge=0, le=31), INTEGRAL] = Field(16)
    dependencies: list[Dependency] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in _OPTIONAL:
                if name in data and data[name] is None:
                    raise ValueError(f"{name}: leave it out rather than null")
        return data


class Attributes(_Strict):
    system: System
    user: Labels = Field(default_factory=dict)


class JobspecV1(_Strict):
    """A complete Flux jobspec, version 1 (RFC 25)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    version: Annotated[int, Strict(), Field(ge=1, le=1), INTEGRAL]
    resources: tuple[Node | Slot]
    tasks: tuple[Task]
    attributes: Attributes
