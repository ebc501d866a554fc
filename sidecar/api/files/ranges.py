"""``Range: bytes=...`` (RFC 9110 section 14): which part of a file a download asks for."""

from __future__ import annotations

import re

from sidecar.errors import RangeNotSatisfiable

_SPEC = re.compile(r"(?P<first>[0-9]*)-(?P<last>[0-9]*)")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte asked for (inclusive), or None for the whole file.

    One range is served as 206. Other units are ignored and several ranges are
    answered with the whole file, both as RFC 9110 allows; a malformed or
    unsatisfiable range is refused with 416.
    """
    if header is None:
        return None
    unit, sep, ranges = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    # Empty list elements ("bytes=0-9,") are ignored, as RFC 9110 section 5.6.1 asks.
    specs = [_SPEC.fullmatch(spec.strip()) for spec in ranges.split(",") if spec.strip()]
    if not sep or not specs or any(m is None or m["first"] == m["last"] == "" for m in specs):
        raise RangeNotSatisfiable(
            f"malformed Range {header[:64]!r}: use bytes=FIRST-LAST, bytes=FIRST- or bytes=-COUNT",
            size,
        )
    if len(specs) > 1:
        return None
    (match,) = specs
    assert match is not None
    if match["first"] == "":
        count = int(match["last"])
        if count == 0 or size == 0:
            raise RangeNotSatisfiable(f"Range {header[:64]!r}: no bytes to send", size)
        return max(0, size - count), size - 1
    first = int(match["first"])
    if match["last"] and int(match["last"]) < first:
        raise RangeNotSatisfiable(f"Range {header[:64]!r}: the last byte is before the first", size)
    last = int(match["last"]) if match["last"] else size - 1
    if first >= size:
        raise RangeNotSatisfiable(
            f"Range {header[:64]!r} starts at or after the end of the file ({size} bytes)", size
        )
    return first, min(last, size - 1)
