"""Flux jobspec v1 (RFC 14/25): built from a submit request, or read back into one.

``build_jobspec`` produces what flux-core's ``JobspecV1.from_command`` does, so
both backends run the same job for the same request; ``request_from_jobspec``
reads a submitted jobspec (``sidecar.jobspec_model``) back for the local backend.
"""

from __future__ import annotations

import math
import stat
from typing import Any

from pydantic import ValidationError

from sidecar.errors import InvalidJobspec
from sidecar.jobspec_model import JobspecV1, Node, Slot, Total
from sidecar.models import JobRequest

# With an empty request ``env`` a job still needs a PATH to find its programs;
# the sidecar's own environment (and so its token) must never be copied in.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def job_environment(env: dict[str, str], flux_bindir: str | None = None) -> dict[str, str]:
    """The job's environment: exactly the request's, plus a PATH when it has none.

    ``flux_bindir`` (the broker's ``flux``) leads that PATH for script jobs: a
    batch job's broker is ``flux``, and scripts call it.
    """
    path = f"{flux_bindir}:{DEFAULT_PATH}" if flux_bindir else DEFAULT_PATH
    return {"PATH": path, **env}


def _resource(
    kind: str, count: int, children: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    res: dict[str, Any] = {"type": kind, "count": count}
    if children:
        res["with"] = children
    return res


# Where the job shell writes a job's files (RFC 37, attributes.system.files).
SCRIPT_PATH = "{{tmpdir}}/script"


def program(request: JobRequest, flux_bindir: str | None = None) -> list[str]:
    """What each task runs: the command, or the script (in a Flux instance of its own).

    A batch job's broker is the instance's own ``flux``, by its path where it is
    known: a PATH of the request's own need not lead to it.
    """
    if request.script is None:
        return list(request.command or [])
    flux = f"{flux_bindir}/flux" if flux_bindir else "flux"
    return [flux, "broker", SCRIPT_PATH] if request.batch else [SCRIPT_PATH]


def job_name(request: JobRequest) -> str | None:
    """A script job is named for what it is, as ``flux batch`` names it for its file."""
    if request.name or request.script is None:
        return request.name
    return "batch" if request.batch else "script"


def build_jobspec(request: JobRequest, flux_bindir: str | None = None) -> dict[str, Any]:
    """A jobspec v1 for a command or script request.

    A command has the shape of ``JobspecV1.from_command``; a script that of
    ``from_batch_command`` (``flux batch``): its text in the job's files, run
    by a broker per node with the shell options ``flux batch`` sets, or, with
    ``batch`` false, run as each task's program.
    """
    if request.command is None and request.script is None:
        raise ValueError("build_jobspec needs a command or a script")
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
        "environment": job_environment(
            request.env, flux_bindir if request.script is not None else None
        ),
        "urgency": request.urgency,
    }
    if request.cwd:
        system["cwd"] = request.cwd
    name = job_name(request)
    if name:
        system["job"] = {"name": name}
    if request.queue:
        system["queue"] = request.queue
    if request.dependencies:
        system["dependencies"] = [_dependency(d) for d in request.dependencies]
    if request.script is not None:
        mode = 0o700 | stat.S_IFREG
        system["files"] = {"script": {"mode": mode, "data": request.script, "encoding": "utf-8"}}
        if request.batch:
            options = {"per-resource": {"type": "node"}, "mpi": "none", "exit-timeout": "none"}
            system["shell"] = {"options": options}
    return {
        "version": 1,
        "resources": [top],
        "tasks": [{"command": program(request, flux_bindir), "slot": "task", "count": task_count}],
        "attributes": {"system": system},
    }


def _dependency(uri: str) -> dict[str, str]:
    scheme, sep, value = uri.partition(":")
    if not sep or not scheme or not value:
        raise InvalidJobspec(f"dependency {uri!r}: expected scheme:value, e.g. afterok:ƒ2Ex...")
    return {"scheme": scheme, "value": value}


def system_attributes(jobspec: dict[str, Any]) -> dict[str, Any] | None:
    """A jobspec's ``attributes.system``, or None where it has no such object."""
    attributes = jobspec.get("attributes")
    system = attributes.get("system") if isinstance(attributes, dict) else None
    return system if isinstance(system, dict) else None


def request_from_jobspec(jobspec: dict[str, Any]) -> JobRequest:
    """The command request a jobspec v1 describes; ``InvalidJobspec`` if it is not one.

    A submitted jobspec was validated with the request; this reads it as Flux
    would, so the request's own cross-field checks (nodes at most tasks) do not
    apply: Flux takes such a jobspec too.
    """
    # Flux takes a cwd of any length: the API's limit is on what the caller sent,
    # and a relative cwd has since been joined onto the files root.
    given = system_attributes(jobspec)
    cwd = given.get("cwd") if given is not None else None
    if given is not None and isinstance(cwd, str):
        without = {k: v for k, v in given.items() if k != "cwd"}
        jobspec = {**jobspec, "attributes": {**jobspec["attributes"], "system": without}}
    try:
        spec = JobspecV1.model_validate(jobspec)
    except ValidationError as exc:
        raise InvalidJobspec(f"jobspec: {_first_error(exc)}") from None
    top = spec.resources[0]
    nodes, exclusive, slot = None, False, top
    if isinstance(top, Node):
        nodes, exclusive, slot = top.count, top.exclusive, top.with_[0]
    assert isinstance(slot, Slot)
    slots = slot.count * (nodes or 1)
    count = spec.tasks[0].count
    tasks = count.total if isinstance(count, Total) else slots * count.per_slot
    gpus = slot.with_[1].count if len(slot.with_) == 2 else 0
    system = spec.attributes.system
    return JobRequest.model_construct(
        command=list(spec.tasks[0].command),
        jobspec=None,
        tasks=tasks,
        nodes=nodes,
        cores_per_task=slot.with_[0].count,
        gpus_per_task=gpus,
        exclusive=exclusive,
        time_limit=system.duration,
        cwd=cwd if isinstance(cwd, str) else system.cwd,
        env=dict(system.environment),
        name=system.job.name if system.job else None,
        queue=system.queue,
        urgency=system.urgency,
        dependencies=[f"{d.scheme}:{d.value}" for d in system.dependencies],
    )


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"]) or "jobspec"
    return f"{field}: {err['msg']}"
