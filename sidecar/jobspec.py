"""Flux jobspec v1 (RFC 14/25): built from a submit request, or read back into one.

``build_jobspec`` produces what flux-core's ``JobspecV1.from_command`` does, so
both backends run the same job for the same request; ``request_from_jobspec``
reads the subset of a user's jobspec that the local backend can honour.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from sidecar.errors import InvalidJobspec
from sidecar.models import JobRequest

# With an empty request ``env`` a job still needs a PATH to find its programs;
# the sidecar's own environment (and so its token) must never be copied in.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def job_environment(env: dict[str, str]) -> dict[str, str]:
    """The job's environment: exactly the request's, plus a PATH when it has none."""
    return {"PATH": DEFAULT_PATH, **env}


def _resource(
    kind: str, count: int, children: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    res: dict[str, Any] = {"type": kind, "count": count}
    if children:
        res["with"] = children
    return res


def build_jobspec(request: JobRequest) -> dict[str, Any]:
    """A jobspec v1 for a command request (the shape of ``JobspecV1.from_command``)."""
    if request.command is None:
        raise ValueError("build_jobspec needs a command request")
    children = [_resource("core", request.cores_per_task)]
    if request.gpus_per_task:
        children.append(_resource("gpu", request.gpus_per_task))
    task_count: dict[str, int] = {"per_slot": 1}
    if request.nodes is not None:
        slots = math.ceil(request.tasks / request.nodes)
        if request.tasks % request.nodes:
            task_count = {"total": request.tasks}
        slot = {"type": "slot", "count": slots, "label": "task", "with": children}
        top = _resource("node", request.nodes, [slot])
        if request.exclusive:
            top["exclusive"] = True
    else:
        top = {"type": "slot", "count": request.tasks, "label": "task", "with": children}
    system: dict[str, Any] = {
        "duration": request.time_limit,
        "environment": job_environment(request.env),
        "urgency": request.urgency,
    }
    if request.cwd:
        system["cwd"] = request.cwd
    if request.name:
        system["job"] = {"name": request.name}
    if request.queue:
        system["queue"] = request.queue
    if request.dependencies:
        system["dependencies"] = [_dependency(d) for d in request.dependencies]
    return {
        "version": 1,
        "resources": [top],
        "tasks": [{"command": list(request.command), "slot": "task", "count": task_count}],
        "attributes": {"system": system},
    }


def _dependency(uri: str) -> dict[str, str]:
    scheme, sep, value = uri.partition(":")
    if not sep or not scheme or not value:
        raise InvalidJobspec(f"dependency {uri!r}: expected scheme:value, e.g. afterok:ƒ2Ex...")
    return {"scheme": scheme, "value": value}


def _count(res: dict[str, Any], where: str) -> int:
    count = res.get("count", 1)
    if isinstance(count, dict):
        count = count.get("min")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise InvalidJobspec(f"jobspec: {where} count must be an integer >= 1")
    return count


def _slot_shape(slot: dict[str, Any]) -> tuple[int, int, int]:
    """(slots, cores per slot, gpus per slot) of a ``slot`` resource."""
    cores = gpus = 0
    for child in slot.get("with", []):
        if not isinstance(child, dict):
            raise InvalidJobspec("jobspec: resources must be objects")
        if child.get("type") == "core":
            cores += _count(child, "core")
        elif child.get("type") == "gpu":
            gpus += _count(child, "gpu")
        else:
            raise InvalidJobspec(f"jobspec: unsupported resource {child.get('type')!r} in slot")
    if cores < 1:
        raise InvalidJobspec("jobspec: a slot needs at least one core")
    return _count(slot, "slot"), cores, gpus


def request_from_jobspec(jobspec: dict[str, Any]) -> JobRequest:
    """Read a jobspec v1 back into a command request; ``InvalidJobspec`` if it is not one."""
    if jobspec.get("version") != 1:
        raise InvalidJobspec("jobspec: only version 1 is supported")
    resources, tasks = jobspec.get("resources"), jobspec.get("tasks")
    if not isinstance(resources, list) or len(resources) != 1 or not isinstance(resources[0], dict):
        raise InvalidJobspec("jobspec: 'resources' must be a list of one resource")
    if not isinstance(tasks, list) or len(tasks) != 1 or not isinstance(tasks[0], dict):
        raise InvalidJobspec("jobspec: 'tasks' must be a list of one task")
    top = resources[0]
    nodes: int | None = None
    exclusive = False
    if top.get("type") == "node":
        nodes, exclusive = _count(top, "node"), bool(top.get("exclusive", False))
        children = top.get("with", [])
        if (
            not isinstance(children, list)
            or len(children) != 1
            or not isinstance(children[0], dict)
        ):
            raise InvalidJobspec("jobspec: a node must hold exactly one slot")
        top = children[0]
    if top.get("type") != "slot":
        raise InvalidJobspec("jobspec: resources must be a slot, or a node holding a slot")
    slots, cores, gpus = _slot_shape(top)
    slots *= nodes or 1
    count = tasks[0].get("count", {})
    if not isinstance(count, dict):
        raise InvalidJobspec("jobspec: task count must be an object")
    ntasks = count["total"] if "total" in count else slots * count.get("per_slot", 1)
    system = jobspec.get("attributes", {}).get("system", {})
    if not isinstance(system, dict):
        raise InvalidJobspec("jobspec: attributes.system must be an object")
    deps = system.get("dependencies", [])
    try:
        return JobRequest(
            command=tasks[0].get("command"),
            tasks=ntasks,
            nodes=nodes,
            cores_per_task=cores,
            gpus_per_task=gpus,
            exclusive=exclusive,
            time_limit=system.get("duration", 0),
            cwd=system.get("cwd"),
            env=system.get("environment", {}),
            name=(system.get("job") or {}).get("name"),
            queue=system.get("queue"),
            urgency=system.get("urgency", 16),
            dependencies=[f"{d.get('scheme')}:{d.get('value')}" for d in deps],
        )
    except (ValidationError, AttributeError, TypeError) as exc:
        raise InvalidJobspec(f"jobspec: {_first_error(exc)}") from None


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "jobspec"
        return f"{field}: {err['msg']}"
    return str(exc)
