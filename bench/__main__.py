"""``make bench``: the figures of DESIGN section 10, measured side by side in one run.

Inside a Flux instance (``flux`` on PATH: ``make bench`` starts one) the
sidecar runs its flux backend and the baseline is ``submit_async`` on the same
broker; elsewhere it runs the local backend and the baseline is that backend's
own ``submit`` called in-process. Figures are medians of several runs; they
are figures, not assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

import httpx

from bench.figures import (
    HELD,
    Sidecar,
    event_latency_ms,
    fill,
    list_latency_ms,
    resident_mib,
    sidecar,
)
from bench.submit_rate import rest_rate

TARGETS = {
    "ratio": 0.7,  # REST at 32 clients against in-process
    "list_p50_ms": 25.0,
    "event_p50_ms": 50.0,
    "idle_mib": 70.0,
    "ready_s": 2.0,
}


def flux_available() -> bool:
    if not os.environ.get("FLUX_URI"):
        return False
    try:
        import flux  # noqa: F401
    except ImportError:
        return False
    return True


def local_in_process_rate(jobs: int) -> float:
    """The local backend's own ``submit``, held jobs, no HTTP."""
    from sidecar.backends.local.backend import LocalBackend
    from sidecar.models import JobRequest

    async def run() -> float:
        backend = LocalBackend()
        await backend.start()
        request = JobRequest.model_validate(HELD)
        start = time.perf_counter()
        for _ in range(jobs):
            await backend.submit(request)
        rate = jobs / (time.perf_counter() - start)
        await backend.close()
        return rate

    return asyncio.run(run())


async def _cancel_held(side: Sidecar) -> None:
    headers = {"Authorization": f"Bearer {side.token}"}
    async with httpx.AsyncClient(base_url=side.url, headers=headers, timeout=60) as http:
        while True:
            page = (await http.get("/api/v1/jobs", params={"state": "SCHED", "limit": 1000})).json()
            if not page["jobs"]:
                return
            for start in range(0, len(page["jobs"]), 32):
                batch = page["jobs"][start : start + 32]
                await asyncio.gather(*(http.post(f"/api/v1/jobs/{j['id']}/cancel") for j in batch))


def cancel_held(side: Sidecar, backend: str) -> None:
    if backend == "flux":
        from bench.submit_rate import cancel_all

        cancel_all()
    else:
        asyncio.run(_cancel_held(side))


def rates(side: Sidecar, backend: str, jobs: int, runs: int) -> dict[str, float]:
    port = side.port
    if backend == "flux":
        from bench.submit_rate import in_process_rate
    else:
        in_process_rate = local_in_process_rate
    samples: dict[str, list[float]] = {"in-process": [], "1": [], "8": [], "32": []}
    rest_rate(port, side.token, 8, 50)  # warm-up
    cancel_held(side, backend)
    for _ in range(runs):
        samples["in-process"].append(in_process_rate(jobs))
        if backend == "flux":
            cancel_held(side, backend)
        for clients in (1, 8, 32):
            samples[str(clients)].append(rest_rate(port, side.token, clients, jobs))
            cancel_held(side, backend)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description="flux-sidecar benchmarks (DESIGN section 10)")
    parser.add_argument("--jobs", type=int, default=300, help="submissions per rate measurement")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (medians)")
    parser.add_argument("--fill", type=int, default=10_000, help="jobs in the instance for lists")
    args = parser.parse_args()
    backend = "flux" if flux_available() else "local"
    print(f"flux-sidecar benchmarks, {backend} backend, {os.cpu_count()} cores, 127.0.0.1")

    ready, idle = [], []
    for _ in range(args.runs):
        with sidecar(backend) as side:
            ready.append(side.ready_seconds)
            time.sleep(2)
            idle.append(resident_mib(side.pid))
    with sidecar(backend) as side:
        rate = rates(side, backend, args.jobs, args.runs)
        fill(side, args.fill)
        lists = [list_latency_ms(side) for _ in range(args.runs)]
        events = [event_latency_ms(side) for _ in range(args.runs)]
        loaded = resident_mib(side.pid)

    base = rate["in-process"]
    rows = [
        ("in-process submissions/s", f"{base:.0f}", "baseline"),
        *(
            (f"REST submissions/s, {n} client(s)", f"{rate[n]:.0f}", f"ratio {rate[n] / base:.2f}")
            for n in ("1", "8", "32")
        ),
        (
            f"GET /api/v1/jobs?limit=50, {args.fill} jobs, p50 / p99",
            f"{statistics.median(p for p, _ in lists):.1f} / "
            f"{statistics.median(q for _, q in lists):.1f} ms",
            f"target p50 < {TARGETS['list_p50_ms']:g} ms",
        ),
        (
            "state change to SSE subscriber, p50 / p99",
            f"{statistics.median(p for p, _ in events):.1f} / "
            f"{statistics.median(q for _, q in events):.1f} ms",
            f"target p50 < {TARGETS['event_p50_ms']:g} ms",
        ),
        ("idle resident memory", f"{statistics.median(idle):.1f} MiB", "target < 70 MiB"),
        (f"resident memory with {args.fill} jobs", f"{loaded:.1f} MiB", ""),
        ("process start to ready", f"{statistics.median(ready):.2f} s", "target < 2 s"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"medians of {args.runs} runs; rates over {args.jobs} held jobs each")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>18}  {note}")
    ratio = rate["32"] / base
    verdict = "meets" if ratio >= TARGETS["ratio"] else "misses"
    print(f"ratio at 32 clients: {ratio:.2f} ({verdict} the {TARGETS['ratio']} target)")


if __name__ == "__main__":
    main()
