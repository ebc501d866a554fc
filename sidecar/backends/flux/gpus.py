"""GPUs of each job, from its R: job-list reports cores and nodes, never GPUs.

A job's R (RFC 20) lists, per group of ranks, the ids of the cores and GPUs
it holds (``R_lite``). The count is known from the moment of allocation and
never changes, so it is kept: from the journal's ``alloc`` entries, which
carry R, and, for jobs allocated while the sidecar was not watching, from one
lookup of R the first time such a job is shown. A job that never ran holds
no GPUs and needs no lookup.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

# Bounded: one int per job; Flux purges old inactive jobs, so does this.
MAX_JOBS = 200_000


def idset_count(text: str) -> int:
    """How many ids an RFC 22 idset such as ``"0-3,7"`` holds."""
    count = 0
    for part in text.split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        count += int(high or low) - int(low) + 1
    return count


def count_gpus(resources: Any) -> int:
    """The GPUs in an R object (or its JSON text); 0 when it has none or cannot be read."""
    try:
        if isinstance(resources, str):
            resources = json.loads(resources)
        return sum(
            idset_count(str(entry["rank"])) * idset_count(str(entry["children"].get("gpu", "")))
            for entry in resources["execution"]["R_lite"]
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return 0


class GpuCounts:
    """jobid -> GPUs, for jobs whose allocation is known."""

    def __init__(self, max_jobs: int = MAX_JOBS) -> None:
        self._counts: OrderedDict[int, int] = OrderedDict()
        self._max_jobs = max_jobs

    def get(self, jobid: int) -> int | None:
        return self._counts.get(jobid)

    def record(self, jobid: int, gpus: int) -> None:
        self._counts[jobid] = gpus
        while len(self._counts) > self._max_jobs:
            self._counts.popitem(last=False)
