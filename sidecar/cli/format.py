"""How the command line shows things to people: aligned tables, durations, one-line states."""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from sidecar.models import Job, JobEvent, Resources, StateChange


def to_json(value: BaseModel | dict[str, Any] | list[Any]) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, ensure_ascii=False)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned."""
    cells = [[str(c) for c in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [
        bool(rows) and all(isinstance(r[i], (int, float)) for r in rows)
        for i in range(len(headers))
    ]
    lines = []
    for row in cells:
        padded = [
            cell.rjust(width) if numeric[i] else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)


def duration(seconds: float | None) -> str:
    """``0.4s``, ``12s``, ``3m05s``, ``2h10m``."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def clock(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return datetime.datetime.fromtimestamp(timestamp).strftime("%H:%M:%S.%f")[:-3]


def runtime(job: Job, now: float) -> float | None:
    if job.t_run is None:
        return None
    return (job.t_cleanup or now) - job.t_run


def status(job: Job) -> str:
    """``RUN``, or ``COMPLETED`` / ``FAILED rc=1`` / ``CANCELED`` once inactive."""
    if job.result is None:
        return job.state.value
    text = job.result.value
    if job.returncode not in (None, 0):
        text += f" rc={job.returncode}"
    return text


JOB_HEADERS = ("ID", "STATUS", "NAME", "USER", "TASKS", "NODES", "RUNTIME", "SUBMITTED")


def job_rows(jobs: Sequence[Job], now: float) -> list[list[object]]:
    return [
        [
            job.id,
            status(job),
            job.name,
            job.user,
            job.tasks,
            job.nodes,
            duration(runtime(job, now)),
            clock(job.t_submit),
        ]
        for job in jobs
    ]


def job_details(job: Job, now: float) -> str:
    fields: list[tuple[str, object]] = [
        ("id", f"{job.id} ({job.id_dec})"),
        ("name", job.name),
        ("user", job.user),
        ("state", job.state.value),
        ("result", job.result.value if job.result else ""),
        ("returncode", job.returncode),
        ("exception", f"{job.exception.type}: {job.exception.note}" if job.exception else ""),
        ("tasks", job.tasks),
        ("nodes", job.nodes),
        ("cores", job.cores),
        ("gpus", job.gpus),
        ("nodelist", job.nodelist),
        ("queue", job.queue),
        ("urgency", job.urgency),
        ("submitted", clock(job.t_submit)),
        ("runtime", duration(runtime(job, now))),
    ]
    width = max(len(key) for key, _ in fields)
    shown = [(k, "" if v is None else str(v)) for k, v in fields]
    return "\n".join(f"{key.ljust(width)}  {value}".rstrip() for key, value in shown)


def resources_table(resources: Resources) -> str:
    headers = ("", "TOTAL", "UP", "DOWN", "ALLOCATED", "FREE")
    rows = [
        [kind, count.total, count.up, count.down, count.allocated, count.free]
        for kind, count in (
            ("nodes", resources.nodes),
            ("cores", resources.cores),
            ("gpus", resources.gpus),
        )
    ]
    lists = [f"{state}: {hosts}" for state, hosts in resources.nodelist.items() if hosts]
    return table(headers, rows) + ("\n\n" + "\n".join(lists) if lists else "")


def state_change(change: StateChange) -> str:
    result = f" {change.result.value}" if change.result else ""
    return f"{clock(change.timestamp)}  {change.id}  {change.state.value}{result}"


def job_event(event: JobEvent) -> str:
    context = " ".join(f"{k}={json.dumps(v)}" for k, v in event.context.items())
    return f"{clock(event.timestamp)}  {event.name}  {context}".rstrip()
