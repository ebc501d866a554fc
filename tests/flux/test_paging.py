"""Paging of the flux backend's job list against a stand-in for job-list (no Flux needed).

The stand-in returns jobs in job-list's own order (pending by priority, then
running by start time, then inactive by end time), stops at ``max_entries``
and at ``since`` in its inactive list, as flux-core's job-list does.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from sidecar.backends.flux.paging import Cursor, Hint, decode_cursor, encode_cursor, newest_first

Record = dict[str, Any]


@dataclass
class JobListStandIn:
    jobs: list[Record] = field(default_factory=list)
    returned: list[int] = field(default_factory=list)
    _order: list[Record] | None = None

    def add(self, t_submit: float, state: str, rng: random.Random) -> Record:
        record: Record = {"id": len(self.jobs) + 1, "t_submit": t_submit, "state": state}
        record["priority"] = rng.randrange(3)
        record["t_run"] = t_submit + rng.random() * 50
        record["t_inactive"] = record["t_run"] + rng.random() * 50
        self.jobs.append(record)
        self._order = None
        return record

    def _ordered(self) -> list[Record]:
        if self._order is None:
            self._order = self._sort()
        return self._order

    def _sort(self) -> list[Record]:
        pending = sorted(
            (j for j in self.jobs if j["state"] == "pending"),
            key=lambda j: (-j["priority"], j["id"]),
        )
        running = sorted(
            (j for j in self.jobs if j["state"] == "running"), key=lambda j: -j["t_run"]
        )
        inactive = sorted(
            (j for j in self.jobs if j["state"] == "inactive"),
            key=lambda j: (-j["t_inactive"], -j["id"]),
        )
        return pending + running + inactive

    async def fetch(
        self, constraint: Record, since: float, max_entries: int, attrs: list[str] | None
    ) -> list[Record]:
        found: list[Record] = []
        for job in self._ordered():
            if job["state"] == "inactive" and job["t_inactive"] <= since:
                break
            if all(_matches(job, term) for term in constraint["and"]):
                found.append({"id": job["id"], "t_submit": job["t_submit"]})
                if len(found) == max_entries:
                    break
        self.returned.append(len(found))
        return found

    def expected(self) -> list[int]:
        return [j["id"] for j in sorted(self.jobs, key=lambda j: (-j["t_submit"], -j["id"]))]


def _matches(job: Record, term: Record) -> bool:
    ((key, (value,)),) = term.items()
    assert key == "t_submit", term
    t = job["t_submit"]
    for operator, holds in ((">=", t.__ge__), ("<=", t.__le__), ("<", t.__lt__)):
        if value.startswith(operator):
            return bool(holds(float(value[len(operator) :])))
    raise AssertionError(term)


def page_all(
    stand_in: JobListStandIn, limit: int, between: Callable[[], None] | None = None
) -> tuple[list[int], list[int]]:
    """Every page in turn: the ids seen, and how many job-list calls each page took."""

    async def run() -> tuple[list[int], list[int]]:
        seen: list[int] = []
        calls: list[int] = []
        cursor: Cursor | None = None
        hint = Hint()
        while True:
            before = len(stand_in.returned)
            page = await newest_first(stand_in.fetch, [], cursor, limit, hint)
            calls.append(len(stand_in.returned) - before)
            seen += [r["id"] for r in page.records]
            if page.next is None:
                return seen, calls
            cursor = decode_cursor(encode_cursor(page.next))
            hint = page.hint
            if between is not None:
                between()

    return asyncio.run(run())


@pytest.mark.parametrize("seed", range(6), ids=lambda s: f"seed-{s}")
@pytest.mark.parametrize("limit", [1, 7, 50])
def test_pages_are_every_job_newest_first(seed: int, limit: int) -> None:
    rng = random.Random(seed)
    stand_in = JobListStandIn()
    t = 1_700_000_000.0
    for _ in range(rng.choice([0, 5, 300, 600])):
        t += rng.expovariate(5.0) if rng.random() < 0.9 else rng.random() * 3600
        stand_in.add(t, rng.choice(["pending", "running", "inactive", "inactive"]), rng)
    seen, calls = page_all(stand_in, limit)
    assert seen == stand_in.expected()
    cap = min(max(20 * (limit + 1), 1000), max(4 * (limit + 1), 5000))
    assert max(stand_in.returned, default=0) <= cap
    assert max(calls) <= 20


def test_a_small_instance_takes_one_call_per_page() -> None:
    rng = random.Random(1)
    stand_in = JobListStandIn()
    for n in range(40):
        stand_in.add(1_700_000_000.0 + n, "inactive", rng)
    seen, calls = page_all(stand_in, 50)
    assert (len(seen), calls) == (40, [2])  # one probe, then the page's jobs


def test_jobs_added_between_pages_never_show_on_later_pages() -> None:
    rng = random.Random(2)
    stand_in = JobListStandIn()
    clock = [1_700_000_000.0]

    def submit(count: int) -> None:
        for _ in range(count):
            clock[0] += 0.01
            stand_in.add(clock[0], "pending", rng)

    submit(400)
    first = stand_in.expected()
    seen, _ = page_all(stand_in, 9, between=lambda: submit(30))
    assert seen == first


@pytest.mark.parametrize("group", [20, 21, 250])
def test_ties_on_submit_time_are_broken_by_id(group: int) -> None:
    rng = random.Random(group)
    stand_in = JobListStandIn()
    for n in range(2 * group + 3):
        stand_in.add(1_700_000_000.0 + (n // group), "pending", rng)
    seen, _ = page_all(stand_in, 20)
    assert seen == stand_in.expected()


@pytest.mark.parametrize("state", ["pending", "inactive"])
def test_a_burst_long_ago_takes_few_calls_once_hinted(state: str) -> None:
    # 10,000 jobs in 20 s, an hour ago: job-list's order (oldest first for
    # pending jobs of one priority) says little about submit times.
    rng = random.Random(4)
    stand_in = JobListStandIn()
    start = time.time() - 3600
    for n in range(10_000):
        job = stand_in.add(start + n * 0.002, state, rng)
        job["priority"] = 1

    async def first_pages() -> list[int]:
        calls, hint = [], Hint()
        for _ in range(3):
            before = len(stand_in.returned)
            page = await newest_first(stand_in.fetch, [], None, 50, hint)
            assert [r["id"] for r in page.records] == stand_in.expected()[:50]
            calls.append(len(stand_in.returned) - before)
            hint = page.hint
        return calls

    first, *later = asyncio.run(first_pages())
    assert first <= 25
    assert later == [2, 2]
