"""Newest-first pages of Flux jobs from job-list, with a cursor that stays put.

Newest first means most recently submitted first: ``(t_submit, id)``
descending, the local backend's order (Flux ids are time-ordered, and
t_submit follows them). job-list cannot sort that way: it returns pending
jobs by priority, then running jobs by start time, then inactive jobs by end
time, and stops at ``max_entries``. So a page asks job-list for a window of
submit times (``t_submit`` constraints, pushed down with the filters) and
narrows or widens the window until it holds between ``limit + 1`` and a
bounded number of jobs; those are sorted here. ``since`` lets job-list stop
early in its inactive list (a job ends after it is submitted). No page ever
fetches every job.

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
Fetch = Callable[[Record, float, int], Awaitable[list[Record]]]

GROW = 8.0
RESOLUTION = 1e-6
MAX_PROBES = 40
SINCE_MARGIN = 1.0
_PREFIX = "flux:"


class Cursor(NamedTuple):
    t_submit: float
    id: int
    tie: bool = False  # more jobs may share t_submit (with smaller ids)


class Page(NamedTuple):
    records: list[Record]
    next: Cursor | None
    width: float


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


def _page(records: list[Record], limit: int, width: float) -> Page:
    """The first ``limit`` of ``records`` (newest first, all there is above the last)."""
    if len(records) <= limit or limit == 0:
        return Page(records[:limit], None, width)
    last, following = records[limit - 1], records[limit]
    tie = float(following["t_submit"]) == float(last["t_submit"])
    return Page(records[:limit], Cursor(*_key(last), tie), width)


async def newest_first(
    fetch: Fetch, terms: list[Record], cursor: Cursor | None, limit: int, hint: float
) -> Page:
    """One page of job-list records, newest first, and the window width that found it.

    Pass back the returned ``width`` as ``hint`` next time: jobs tend to
    arrive at a steady rate, so the first window tried usually fits.
    """
    head: list[Record] = []
    if cursor is not None and cursor.tie:
        t = cursor.t_submit
        instant = [{"t_submit": [f">={t!r}"]}, {"t_submit": [f"<={t!r}"]}]
        ties = await fetch({"and": [*terms, *instant]}, _since(t, 0.0), 0)
        head = _newest([r for r in ties if _key(r) < (t, cursor.id)])
        if len(head) > limit:
            return _page(head, limit, hint)
    below, width = await _window_search(fetch, terms, cursor, limit - len(head) + 1, hint)
    return _page(head + below, limit, width)


async def _window_search(
    fetch: Fetch, terms: list[Record], cursor: Cursor | None, wanted: int, hint: float
) -> tuple[list[Record], float]:
    """All records of a window of submit times below ``cursor`` holding ``wanted`` or more.

    The first probe has no lower bound: when fewer than a bounded number of
    jobs match, that is the answer. Otherwise the window starts at ``hint``
    seconds and is narrowed or widened geometrically until it holds between
    ``wanted`` and ``cap`` jobs.
    """
    cap = 2 * wanted + 100
    ref = cursor.t_submit if cursor is not None else time.time()
    upper = [{"t_submit": [f"<{cursor.t_submit!r}"]}] if cursor is not None else []
    few, full, width = 0.0, ref, ref
    for probe in range(MAX_PROBES):
        bounded = width < ref
        records = await fetch(_window(terms, upper, ref, width), _since(ref, width), cap)
        if len(records) < cap and (len(records) >= wanted or not bounded):
            return _newest(records), width
        if len(records) < cap:
            few = width
        else:
            full = min(width, ref)
        if full - few < RESOLUTION:
            break
        if probe == 0 and hint < full:
            width = hint
        elif few == 0.0:
            width = full / GROW
        else:
            width = math.sqrt(few * full)
    # Only ties on t_submit are left: take the whole (tiny) window.
    records = await fetch(_window(terms, upper, ref, full), _since(ref, full), 0)
    return _newest(records), full


def _window(terms: list[Record], upper: list[Record], ref: float, width: float) -> Record:
    lower = [{"t_submit": [f">={ref - width!r}"]}] if width < ref else []
    return {"and": [*terms, *upper, *lower]}


def _since(ref: float, width: float) -> float:
    """job-list's ``since``: no job submitted in the window ended before it."""
    return max(0.0, ref - width - SINCE_MARGIN) if width < ref else 0.0
