"""``make bench``: the sidecar beside upstream flux-restful-api and in-process Flux, one run.

Inside a Flux instance (``make bench`` starts ``flux start --test-size=2``)
the sidecar runs its flux backend next to upstream's ``flux-restful serve``
and both are measured against ``submit_async`` in-process, with the same lean
load generator, in alternating rounds. Without Flux only the sidecar's local
backend is measured, against its own in-process ``submit``. Figures are
medians of ``--runs`` rounds; they are figures, not assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from bench import workload
from bench.figures import event_latency_ms, local_fill, local_settle
from bench.report import print_report
from bench.rounds import Samples, measure_lists, measure_submissions
from bench.servers import Server, resident_mib, sidecar, upstream


def flux_available() -> bool:
    if not os.environ.get("FLUX_URI"):
        return False
    try:
        import flux  # noqa: F401
    except ImportError:
        return False
    return True


def start_up(venv: Path | None, backend: str, runs: int, samples: Samples) -> None:
    """Time to ready and idle memory of fresh processes, alternating the two servers."""
    for _ in range(runs):
        with sidecar(backend) as side:
            time.sleep(2)
            samples.add("sidecar/ready-s", side.ready_seconds)
            samples.add("sidecar/idle-mib", resident_mib(side.pid))
        if venv is not None:
            with upstream(venv) as up:
                time.sleep(2)
                samples.add("upstream/ready-s", up.ready_seconds)
                samples.add("upstream/idle-mib", resident_mib(up.pid))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=600, help="submissions per 32-client figure")
    parser.add_argument("--single-jobs", type=int, default=100, help="per 1-client figure")
    parser.add_argument("--runs", type=int, default=3, help="rounds per figure (medians)")
    parser.add_argument("--upstream", type=Path, help="virtual environment of flux-restful")
    parser.add_argument("--fill", type=int, nargs="+", default=[1000, 10_000])
    args = parser.parse_args()
    on_flux = flux_available()
    backend = "flux" if on_flux else "local"
    venv = args.upstream.resolve() if on_flux and args.upstream else None
    print(f"flux-sidecar benchmarks: {backend} backend, {os.cpu_count()} cores, 127.0.0.1")
    if not on_flux:
        print("no Flux instance: the local backend alone, against its in-process submit")

    samples = Samples()
    start_up(venv, backend, args.runs, samples)
    with ExitStack() as stack:
        servers: list[Server] = [stack.enter_context(sidecar(backend))]
        if venv is not None:
            servers.append(stack.enter_context(upstream(venv)))
        side = servers[0]
        settle = workload.settle if on_flux else partial(local_settle, side)
        in_process = workload.in_process if on_flux else workload.local_in_process
        settle()
        found = measure_submissions(
            servers,
            in_process,
            settle,
            runs=args.runs,
            jobs=args.jobs,
            single=args.single_jobs,
            drain=workload.drain if on_flux else None,
        )
        samples.values.update(found.values)
        have = 0
        for total in sorted(args.fill):
            if on_flux:
                workload.fill(total - have)
            else:
                local_fill(side, total - have)
            have = total
            measure_lists(servers, samples, total, args.runs)
        events = [event_latency_ms(side) for _ in range(args.runs)]
        samples.add("sidecar/event-p50-ms", statistics.median(p for p, _ in events))
        samples.add("sidecar/event-p99-ms", statistics.median(q for _, q in events))
        for server in servers:
            samples.add(f"{server.name}/loaded-mib", resident_mib(server.pid))
        if on_flux:
            workload.settle()
    print_report(samples, args, [s.name for s in servers])


if __name__ == "__main__":
    main()
