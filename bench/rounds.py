"""The submission measurements, in alternating rounds, and their medians and paired ratios.

Each round measures the in-process baseline, the sidecar and upstream one
after another, moments apart, in an order that alternates between rounds, and
brings the instance back to the same state before each measurement. A ratio
is the median of each round's own ratio: measurements moments apart share
whatever else the machine is doing.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.load import Load, load
from bench.servers import Server, cpu_seconds

Settle = Callable[[], None]
InProcess = Callable[..., float]


@dataclass
class Samples:
    """Per figure, one value per round, in round order."""

    values: dict[str, list[float]] = field(default_factory=dict)
    loads: dict[str, list[Load]] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        self.values.setdefault(key, []).append(value)

    def median(self, key: str) -> float | None:
        got = self.values.get(key)
        return statistics.median(got) if got else None

    def ratio(self, key: str, base: str) -> float | None:
        """The median of per-round ratios."""
        top, bottom = self.values.get(key), self.values.get(base)
        if not top or not bottom:
            return None
        return statistics.median(a / b for a, b in zip(top, bottom, strict=True))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure_submissions(
    servers: list[Server],
    in_process: InProcess,
    settle: Settle,
    *,
    runs: int,
    jobs: int,
    single: int,
) -> Samples:
    """Submissions/s at 32 and 1 clients, jobs running and held; latency and CPU per submission."""
    samples = Samples()
    for server in servers:  # warm-up: imports, caches, first connections
        load(server.port, server.submit(held=server.name == "sidecar"), 8, 40)
        settle()
    for round_number in range(runs):
        order = servers if round_number % 2 == 0 else servers[::-1]
        for held in (False, True):
            mode = "held" if held else "running"
            samples.add(f"in-process/{mode}", in_process(jobs, held=held))
            settle()
            for clients, count in ((32, jobs), (1, single)):
                for server in order:
                    if held and server.name == "upstream":
                        continue  # upstream cannot hold a job
                    key = f"{server.name}/{mode}/{clients}"
                    before = cpu_seconds(server.pid)
                    result = load(server.port, server.submit(held=held), clients, count)
                    cpu = cpu_seconds(server.pid) - before
                    samples.add(key, result.rate)
                    samples.add(f"{key}/cpu-ms", cpu * 1000 / count)
                    samples.add(f"{key}/p50-ms", percentile(result.latencies, 0.5) * 1000)
                    samples.add(f"{key}/p99-ms", percentile(result.latencies, 0.99) * 1000)
                    settle()
    return samples


def measure_lists(servers: list[Server], samples: Samples, jobs: int, runs: int) -> None:
    """List latency p50 (ms): the sidecar's pages of 50 and 1000, upstream's one listing."""
    for server in servers:
        limits = (50, 1000) if server.name == "sidecar" else (0,)
        for limit in limits:
            requests = 40 if limit == 50 else 10
            key = f"{server.name}/list/{limit}/{jobs}"
            for _ in range(runs):
                result = load(server.port, server.listing(limit), 1, requests)
                samples.add(key, percentile(result.latencies, 0.5) * 1000)
