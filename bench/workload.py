"""The instance under the servers: the in-process baseline, and its state between measurements.

The baseline is what the broker takes from one handle, for the same job the
servers submit (``true``, running, or held with urgency 0), with as many
``submit_async`` in flight as the servers have clients: 32, or 1, each sent
as soon as an earlier one has its job id. With every submission in flight at
once it is the broker's own ceiling, which no client of one request at a time
can reach. Between measurements the instance is brought back to the same
state (nothing active, no job left), so every measurement starts alike; the
list figures fill it with inactive jobs first.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from typing import Any

from bench.load import Load
from sidecar.jobspec import build_jobspec
from sidecar.models import JobRequest


def _jobspec(held: bool) -> tuple[str, int]:
    request = JobRequest.model_validate({"command": ["true"], "urgency": 0 if held else 16})
    return json.dumps(build_jobspec(request)), request.urgency


def in_process(jobs: int, *, held: bool, window: int | None = None) -> Load:
    """``jobs`` submissions from one handle, ``window`` in flight (None: all of them)."""
    import flux
    import flux.job

    handle = flux.Flux()
    jobspec, urgency = _jobspec(held)
    latencies: list[float] = []
    sent = 0

    def send() -> None:
        nonlocal sent
        sent += 1
        future = flux.job.submit_async(handle, jobspec, urgency=urgency)
        future.then(answered, time.perf_counter())

    def answered(future: Any, since: float) -> None:
        future.get_id()  # raises, and so stops the reactor, if the broker refused it
        latencies.append(time.perf_counter() - since)
        if sent < jobs:
            send()
        elif len(latencies) == jobs:
            handle.reactor_stop()

    start = time.perf_counter()
    for _ in range(jobs if window is None else min(window, jobs)):
        send()
    handle.reactor_run()
    return Load(jobs, time.perf_counter() - start, latencies)


def _flux(*args: str, timeout: float = 600) -> None:
    subprocess.run(["flux", *args], check=True, capture_output=True, timeout=timeout)


def drain() -> None:
    """Every job submitted so far run to its end."""
    _flux("queue", "idle", "--quiet")


def settle() -> None:
    """Nothing active and no job left: held jobs cancelled, running ones finished, all purged."""
    _flux("cancel", "--all", "--quiet")
    drain()
    _flux("job", "purge", "--force", "--num-limit=0")


def fill(jobs: int) -> None:
    """``jobs`` more inactive jobs in the instance: submitted held, then cancelled."""
    in_process(jobs, held=True, window=1000)
    _flux("cancel", "--all", "--quiet")
    drain()


def local_in_process(jobs: int, *, held: bool, window: int | None = None) -> Load:
    """The local backend's own ``submit``, no HTTP (the baseline without Flux)."""
    from sidecar.backends.local.backend import LocalBackend

    async def run() -> Load:
        backend = LocalBackend()
        await backend.start()
        request = JobRequest.model_validate({"command": ["true"], "urgency": 0 if held else 16})
        latencies: list[float] = []
        remaining = jobs

        async def submitter() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                since = time.perf_counter()
                await backend.submit(request)
                latencies.append(time.perf_counter() - since)

        start = time.perf_counter()
        await asyncio.gather(*(submitter() for _ in range(min(window or jobs, jobs))))
        seconds = time.perf_counter() - start
        await backend.close()
        return Load(jobs, seconds, latencies)

    return asyncio.run(run())
