"""The instance under the servers: the in-process baseline, and its state between measurements.

The baseline is what the broker takes from one handle with every
``submit_async`` in flight, for the same job the servers submit: ``true``,
running, or held (urgency 0). Between measurements the instance is brought
back to the same state (nothing active, no job left), so every measurement
starts alike; the list figures fill it with inactive jobs first.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

from sidecar.jobspec import build_jobspec
from sidecar.models import JobRequest


def _jobspec(held: bool) -> tuple[str, int]:
    request = JobRequest.model_validate({"command": ["true"], "urgency": 0 if held else 16})
    return json.dumps(build_jobspec(request)), request.urgency


def in_process_rate(jobs: int, *, held: bool) -> float:
    """Jobs per second from ``submit_async`` with every submission in flight."""
    import flux
    import flux.job

    handle = flux.Flux()
    jobspec, urgency = _jobspec(held)
    start = time.perf_counter()
    futures = [flux.job.submit_async(handle, jobspec, urgency=urgency) for _ in range(jobs)]
    for future in futures:
        future.get_id()
    return jobs / (time.perf_counter() - start)


def _flux(*args: str, timeout: float = 600) -> None:
    subprocess.run(["flux", *args], check=True, capture_output=True, timeout=timeout)


def settle() -> None:
    """Nothing active and no job left: held jobs cancelled, running ones finished, all purged."""
    _flux("cancel", "--all", "--quiet")
    _flux("queue", "idle", "--quiet")
    _flux("job", "purge", "--force", "--num-limit=0")


def fill(jobs: int) -> None:
    """``jobs`` more inactive jobs in the instance: submitted held, then cancelled."""
    import flux
    import flux.job

    handle = flux.Flux()
    jobspec, urgency = _jobspec(held=True)
    for start in range(0, jobs, 1000):
        batch = [
            flux.job.submit_async(handle, jobspec, urgency=urgency)
            for _ in range(min(1000, jobs - start))
        ]
        for future in batch:
            future.get_id()
    _flux("cancel", "--all", "--quiet")
    _flux("queue", "idle", "--quiet")


def local_in_process_rate(jobs: int, *, held: bool) -> float:
    """The local backend's own ``submit``, no HTTP (the baseline without Flux)."""
    from sidecar.backends.local.backend import LocalBackend

    async def run() -> float:
        backend = LocalBackend()
        await backend.start()
        request = JobRequest.model_validate({"command": ["true"], "urgency": 0 if held else 16})
        start = time.perf_counter()
        for _ in range(jobs):
            await backend.submit(request)
        rate = jobs / (time.perf_counter() - start)
        await backend.close()
        return rate

    return asyncio.run(run())
