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
InProcess = Callable[..., Load]
CONCURRENCY = (32, 1)


@dataclass
class Samples:
    """Per figure, one value per round, in round order; latencies pooled over every round."""

    values: dict[str, list[float]] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        self.values.setdefault(key, []).append(value)

    def pool(self, key: str, latencies: list[float]) -> None:
        self.latencies.setdefault(key, []).extend(latencies)

    def median(self, key: str) -> float | None:
        got = self.values.get(key)
        return statistics.median(got) if got else None

    def ratio(self, key: str, base: str) -> float | None:
        """The median of per-round ratios."""
        top, bottom = self.values.get(key), self.values.get(base)
        if not top or not bottom:
            return None
        return statistics.median(a / b for a, b in zip(top, bottom, strict=True))

    def percentiles(self) -> None:
        """p50 and p99 (ms) of each pooled figure (of 3 rounds of 100, p99 is the third slowest)."""
        for key, pooled in self.latencies.items():
            self.values[f"{key}/p50-ms"] = [percentile(pooled, 0.5) * 1000]
            self.values[f"{key}/p99-ms"] = [percentile(pooled, 0.99) * 1000]


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
    drain: Settle | None = None,
) -> Samples:
    """Submissions/s at 32 and 1 clients, jobs running and held; latency and CPU per job.

    The in-process baseline has as many submissions in flight as the servers
    have clients, and, once a round, all of them at once (the broker's
    ceiling). A server's CPU is counted from its first submission to its last
    answer, and then, apart, until ``drain`` has seen the jobs run to their
    end: the sidecar follows every job's events as it runs.
    """
    samples = Samples()
    for server in servers:  # warm-up: imports, caches, first connections
        load(server.port, server.submit(held=server.name == "sidecar"), 8, 40)
        settle()
    for round_number in range(runs):
        order = servers if round_number % 2 == 0 else servers[::-1]
        for held in (False, True):
            mode = "held" if held else "running"
            samples.add(f"in-process/{mode}/all", in_process(jobs, held=held).rate)
            settle()
            for clients in CONCURRENCY:
                count = jobs if clients > 1 else single
                baseline = in_process(count, held=held, window=clients)
                samples.add(f"in-process/{mode}/{clients}", baseline.rate)
                if clients == 1:
                    samples.pool(f"in-process/{mode}/1", baseline.latencies)
                settle()
                for server in order:
                    if held and server.name == "upstream":
                        continue  # upstream cannot hold a job
                    key = f"{server.name}/{mode}/{clients}"
                    before = cpu_seconds(server.pid)
                    result = load(server.port, server.submit(held=held), clients, count)
                    loaded = cpu_seconds(server.pid)
                    samples.add(key, result.rate)
                    samples.add(f"{key}/cpu-ms", (loaded - before) * 1000 / count)
                    if drain is not None and not held:
                        drain()
                        after = (cpu_seconds(server.pid) - loaded) * 1000 / count
                        samples.add(f"{key}/drain-cpu-ms", after)
                    if clients == 1:
                        samples.pool(key, result.latencies)
                    settle()
    samples.percentiles()
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
