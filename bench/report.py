"""The one table ``make bench`` prints: sidecar, upstream, in-process, and the ratios.

"x upstream" is how many times better the sidecar is than upstream on that
row (its rate over upstream's, or upstream's time or memory over its own), so
above 1 is better either way; "x in-process" is the same against
``submit_async`` in-process with as many submissions in flight as the row has
clients. Ratios are medians of per-round ratios where both were measured in
the same round, else ratios of medians.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from bench.rounds import Samples

# DESIGN section 10, as raised by the benchmark issue.
TARGET_IN_PROCESS = 0.7
TARGET_UPSTREAM = 3.0
TARGET_CPU_MS = 1.0


@dataclass
class Row:
    label: str
    key: str  # the figure's key, without the server's name
    unit: str
    higher_is_better: bool
    in_process: str | None = None  # the in-process figure to compare with
    server: bool = True  # False: a figure of the in-process baseline alone


def _rows(fills: list[int]) -> list[Row]:
    rows = [
        Row("submissions/s, 32 clients, jobs running", "running/32", "/s", True, "running/32"),
        Row("submissions/s, 1 client, jobs running", "running/1", "/s", True, "running/1"),
        Row("submissions/s, 32 clients, jobs held", "held/32", "/s", True, "held/32"),
        Row("submissions/s, 1 client, jobs held", "held/1", "/s", True, "held/1"),
        Row("in-process, all in flight, jobs running", "", "/s", True, "running/all", False),
        Row("in-process, all in flight, jobs held", "", "/s", True, "held/all", False),
    ]
    for stat in ("p50", "p99"):
        key = f"running/1/{stat}-ms"
        rows.append(Row(f"submit {stat}, 1 client, jobs running", key, " ms", False, key))
    rows += [
        Row(
            "server CPU per submission, 32 clients, jobs running", "running/32/cpu-ms", " ms", False
        ),
        Row(
            "server CPU per job, after the load until all have run",
            "running/32/drain-cpu-ms",
            " ms",
            False,
        ),
    ]
    for jobs in fills:
        rows += [
            Row(
                f"list p50, {jobs} jobs, limit=50 (upstream: all)", f"list/50/{jobs}", " ms", False
            ),
            Row(f"list p50, {jobs} jobs, limit=1000", f"list/1000/{jobs}", " ms", False),
        ]
    rows += [
        Row("state change to SSE subscriber, p50", "event-p50-ms", " ms", False),
        Row("state change to SSE subscriber, p99", "event-p99-ms", " ms", False),
        Row("idle resident memory", "idle-mib", " MiB", False),
        Row("resident memory after the load", "loaded-mib", " MiB", False),
        Row("process start to ready", "ready-s", " s", False),
    ]
    return rows


def _versus(
    samples: Samples, row: Row, other: str, ours: float | None, theirs: float | None
) -> float | None:
    """How many times better the sidecar is than ``other`` on this row."""
    if theirs is None or ours is None:
        return None
    if row.higher_is_better:
        return samples.ratio(f"sidecar/{row.key}", other)
    return theirs / ours if ours else None


def _upstream_key(row: Row) -> str:
    # Upstream lists everything at once: its one figure stands against both pages.
    if row.key.startswith("list/"):
        return "list/0/" + row.key.rsplit("/", 1)[1]
    return row.key


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    digits = 0 if unit == "/s" or value >= 100 else 2 if value < 10 else 1
    return f"{value:.{digits}f}{unit}"


def print_report(samples: Samples, args: argparse.Namespace, servers: list[str]) -> None:
    with_upstream = "upstream" in servers
    print(
        f"medians of {args.runs} rounds; {args.jobs} jobs per 32-client figure, "
        f"{args.single_jobs} per 1-client figure; jobs are `true`"
    )
    header = ("figure", "sidecar", "upstream", "in-process", "x upstream", "x in-process")
    table = [header]
    worse: list[str] = []
    for row in _rows(sorted(args.fill)):
        ours = samples.median(f"sidecar/{row.key}") if row.server else None
        theirs = samples.median(f"upstream/{_upstream_key(row)}") if with_upstream else None
        base = samples.median(f"in-process/{row.in_process}") if row.in_process else None
        versus = _versus(samples, row, f"upstream/{row.key}", ours, theirs)
        if versus is not None and versus < 1:
            worse.append(f"{row.label}: {versus:.2f}x")
        relative = _versus(samples, row, f"in-process/{row.in_process}", ours, base)
        table.append(
            (
                row.label,
                _fmt(ours, row.unit),
                _fmt(theirs, row.unit),
                _fmt(base, row.unit),
                "-" if versus is None else f"{versus:.2f}",
                "-" if relative is None else f"{relative:.2f}",
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for line in table:
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)]
        print("  " + "  ".join(cells))
    _verdicts(samples, with_upstream, worse)


def _verdicts(samples: Samples, with_upstream: bool, worse: list[str]) -> None:
    if not with_upstream:
        print("the targets are the flux backend's: run make bench where flux is on PATH")
        return

    def verdict(ok: bool) -> str:
        return "meets" if ok else "misses"

    relative = samples.ratio("sidecar/running/32", "in-process/running/32")
    ceiling = samples.ratio("sidecar/running/32", "in-process/running/all")
    if relative is not None and ceiling is not None:
        print(
            f"32 clients, jobs running, vs in-process with 32 in flight: {relative:.2f} "
            f"({verdict(relative >= TARGET_IN_PROCESS)} >= {TARGET_IN_PROCESS}); "
            f"vs all in flight: {ceiling:.2f}"
        )
    cpu = samples.median("sidecar/running/32/cpu-ms")
    if cpu is not None:
        print(
            f"server CPU per submission: {cpu:.2f} ms "
            f"({verdict(cpu < TARGET_CPU_MS)} < {TARGET_CPU_MS:g} ms)"
        )
    versus = samples.ratio("sidecar/running/32", "upstream/running/32")
    if versus is not None:
        print(
            f"32 clients, jobs running, vs upstream: {versus:.2f}x "
            f"({verdict(versus >= TARGET_UPSTREAM)} >= {TARGET_UPSTREAM:g}x)"
        )
    print("worse than upstream: " + ("; ".join(worse) if worse else "nothing"))
