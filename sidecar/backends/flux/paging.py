"""Newest-first pages of Flux jobs from job-list, with a cursor that stays put.

Newest first means most recently submitted first: ``(t_submit, id)``
descending, the local backend's order (Flux ids are time-ordered, and
t_submit follows them). job-list cannot sort that way: it returns pending
jobs by priority, then running jobs by start time, then inactive jobs by end
time, and stops at ``max_entries``. So a page first finds a window of submit
times (``t_submit`` constraints, pushed down with the filters) holding at
least ``limit + 1`` jobs and at most a bounded number, probing with
``t_submit`` alone; then it fetches the page's jobs, all attributes, from the
top of that window. Each probe narrows the window to the ``limit + 1``-th
newest submit time it has seen, or halves it; ``since`` lets job-list stop
early in its inactive list (a job ends after it is submitted). A hint kept
from the last page (where the window started) usually makes one probe
enough. No page ever fetches every job.

The cursor holds the ``(t_submit, id)`` of a page's last job; the next page
holds the jobs submitted strictly before. New jobs always sort before the
first page, so paging while jobs arrive neither repeats nor skips a job. Two
jobs rarely share a submit time; when the page boundary falls inside such a
tie the cursor says so, and the next page first reads that one instant.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from sidecar.errors import InvalidCursor

Record = dict[str, Any]
# (constraint, since, max_entries, attributes or None for all of them)
Fetch = Callable[[Record, float, int, "list[str] | None"], Awaitable[list[Record]]]

PROBE_ATTRS = ["t_submit"]
RESOLUTION = 1e-6
MAX_PROBES = 200
SINCE_MARGIN = 1.0
_PREFIX = "flux:"


class Cursor(NamedTuple):
    t_submit: float
    id: int
    tie: bool = False  # more jobs may share t_submit (with smaller ids)


class Hint(NamedTuple):
    """Where the last window began: absolute for a first page, below the cursor otherwise."""

    first: float = 0.0
    below: float = 0.0


class Page(NamedTuple):
    records: list[Record]
    next: Cursor | None
    hint: Hint


def encode_cursor(cursor: Cursor) -> str:
    text = f"{_PREFIX}{cursor.t_submit!r}:{cursor.id}{':tie' if cursor.tie else ''}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        if not raw.startswith(_PREFIX):
            raise ValueError(raw)
        t_submit, jobid, *tie = raw[len(_PREFIX) :].split(":")
        cursor = Cursor(float(t_submit), int(jobid), tie == ["tie"])
        if not math.isfinite(cursor.t_submit) or cursor.t_submit < 0 or cursor.id < 0:
            raise ValueError(raw)
        if tie not in ([], ["tie"]):
            raise ValueError(raw)
        return cursor
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor() from None


def hint_key(terms: list[Record]) -> str:
    return json.dumps(terms, sort_keys=True)


def _key(record: Record) -> tuple[float, int]:
    return float(record.get("t_submit", 0.0)), int(record["id"])


def _newest(records: list[Record]) -> list[Record]:
    return sorted(records, key=_key, reverse=True)


def _page(records: list[Record], limit: int, hint: Hint) -> Page:
    """The first ``limit`` of ``records`` (newest first, all there is above the last)."""
    if len(records) <= limit or limit == 0:
        return Page(records[:limit], None, hint)
    last, following = records[limit - 1], records[limit]
    tie = float(following["t_submit"]) == float(last["t_submit"])
    return Page(records[:limit], Cursor(*_key(last), tie), hint)


async def newest_first(
    fetch: Fetch, terms: list[Record], cursor: Cursor | None, limit: int, hint: Hint
) -> Page:
    """One page of job-list records, newest first; pass its ``hint`` to the next call."""
    head: list[Record] = []
    if cursor is not None and cursor.tie:
        t = cursor.t_submit
        instant = [{"t_submit": [f">={t!r}"]}, {"t_submit": [f"<={t!r}"]}]
        ties = await fetch({"and": [*terms, *instant]}, _since(t), 0, None)
        head = _newest([r for r in ties if _key(r) < (t, cursor.id)])
        if len(head) > limit:
            return _page(head, limit, hint)
    upper = [{"t_submit": [f"<{cursor.t_submit!r}"]}] if cursor is not None else []
    if cursor is None:
        top, start = time.time() + 1.0, hint.first
    else:
        top, start = cursor.t_submit, cursor.t_submit - hint.below if hint.below else 0.0
    window = await _window(fetch, terms, upper, limit - len(head) + 1, start, top)
    chosen = _newest(window)[: limit - len(head) + 1]
    records: list[Record] = []
    if chosen:
        bounds = [
            {"t_submit": [f">={chosen[-1]['t_submit']!r}"]},
            {"t_submit": [f"<={chosen[0]['t_submit']!r}"]},
        ]
        found = await fetch(
            {"and": [*terms, *upper, *bounds]}, _since(chosen[-1]["t_submit"]), 0, None
        )
        records = _newest(found)
    # Next time, start where this page's jobs begin: for a first page that
    # window still holds them (and what arrived since); below a cursor, twice
    # this span, as the next page is most likely as dense.
    oldest = float(chosen[-1]["t_submit"]) if chosen else 0.0
    if cursor is None:
        hint = hint._replace(first=oldest)
    else:
        hint = hint._replace(below=2 * (cursor.t_submit - oldest) if chosen else 0.0)
    return _page(head + records, limit, hint)


async def _window(
    fetch: Fetch, terms: list[Record], upper: list[Record], wanted: int, start: float, top: float
) -> list[Record]:
    """Every job (``t_submit`` only) of a window below ``top`` holding ``wanted`` or more.

    The window's lower bound lies between ``lo`` (at least ``wanted`` jobs
    above it: seen, or a probe came back full) and ``hi`` (fewer: a probe came
    back short). A probe returns its whole window, or ``cap`` jobs of it in
    job-list's order. After a full probe the next one starts at the
    ``wanted``-th newest job seen, which drops at least ``cap - wanted`` jobs
    from the window; when job-list's order says little about submit times
    (pending jobs come oldest first) every other probe halves the interval.
    """
    cap = min(max(20 * wanted, 1000), max(4 * wanted, 5000))
    seen: dict[int, float] = {}
    lo, hi = -math.inf, top
    x: float | None = start if 0.0 < start < top else None
    fulls = 0
    for _ in range(MAX_PROBES):
        records = await fetch(_bounded(terms, upper, x), _since(x), cap, PROBE_ATTRS)
        if len(records) < cap and (len(records) >= wanted or x is None):
            return records
        seen.update((int(r["id"]), float(r["t_submit"])) for r in records)
        if len(records) < cap and x is not None:
            hi, fulls = x, 0
            if math.isfinite(lo):
                x = (lo + hi) / 2
            else:  # no lower bound yet: widen the window
                x = top - 4 * (top - x) if top - 4 * (top - x) > 0 else None
        else:
            inside = sorted((t for t in seen.values() if x is None or t >= x), reverse=True)
            floor = inside[wanted - 1]
            if x is not None and floor <= x:
                break  # the wanted-th newest shares the window's first instant
            lo, fulls = max(lo, floor), fulls + 1
            x = (lo + hi) / 2 if fulls > 4 and fulls % 2 else lo
        if hi - lo < RESOLUTION:
            break
    # Only ties on t_submit are left: take the whole window at ``lo``.
    bound = lo if math.isfinite(lo) else None
    return await fetch(_bounded(terms, upper, bound), _since(bound), 0, PROBE_ATTRS)


def _bounded(terms: list[Record], upper: list[Record], lower: float | None) -> Record:
    below = [{"t_submit": [f">={lower!r}"]}] if lower is not None else []
    return {"and": [*terms, *upper, *below]}


def _since(lower: float | None) -> float:
    """job-list's ``since``: no job submitted in the window ended before it."""
    return max(0.0, lower - SINCE_MARGIN) if lower is not None else 0.0
