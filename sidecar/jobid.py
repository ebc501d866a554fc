"""Flux job ids (FLUIDs): generation, f58 encoding, and parsing of every encoding users type.

A FLUID is 64 bits: 40 bits of milliseconds, 14 bits of generator id, 10 bits of
sequence (flux-core ``src/common/libutil/fluid.c``). The API returns ids as f58
and as a decimal string, and accepts f58 (``ƒ`` or ``f`` prefix), decimal,
``0x`` hex, dothex (``0000.0000.0000.0000``) and the KVS form (``job.<dothex>``).
"""

from __future__ import annotations

import re
import threading
import time

from sidecar.errors import InvalidJobId

F58_PREFIX = "ƒ"
F58_ASCII_PREFIX = "f"
_B58_DIGITS = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_VALUES = {c: i for i, c in enumerate(_B58_DIGITS)}
_GEN_BITS, _SEQ_BITS = 14, 10
# FLUIDs are 64 bits, but Flux carries ids in JSON, whose integers (jansson's) are
# signed 64-bit: no job can have an id of 2^63 or more.
MAX_JOBID = (1 << 63) - 1


def encode_f58(jobid: int) -> str:
    """Encode a job id the way ``flux job id --to=f58`` does."""
    digits = []
    value = jobid
    while True:
        value, rem = divmod(value, 58)
        digits.append(_B58_DIGITS[rem])
        if value == 0:
            break
    return F58_PREFIX + "".join(reversed(digits))


def _decode_b58(text: str) -> int:
    value = 0
    for char in text:
        value = value * 58 + _B58_VALUES[char]
    return value


def _decode_dothex(text: str) -> int:
    value = 0
    for part in text.split("."):
        value = (value << 16) | int(part, 16)
    return value


def _not_above(digits: str, limit: str) -> str:
    """``len(limit)`` digits (of ``digits``, ascending), not led by a zero, at most ``limit``."""
    every = f"[{digits}]"
    branches = []
    for i, char in enumerate(limit):
        lower = digits[1 if i == 0 else 0 : digits.index(char)]
        rest = len(limit) - i - 1
        if lower:
            branches.append(f"{limit[:i]}[{lower}]" + (f"{every}{{{rest}}}" if rest else ""))
    return "|".join([*branches, limit])


def _numbers(digits: str, limit: str) -> str:
    """Numbers in base ``len(digits)`` from 0 to ``limit`` (its spelling), without leading zeros."""
    nonzero = f"[{digits[1:]}]"
    shorter = f"{digits[0]}|{nonzero}[{digits}]{{0,{len(limit) - 2}}}"
    return f"(?:{shorter}|{_not_above(digits, limit)})"


_DECIMAL = _numbers("0123456789", str(MAX_JOBID))
_F58 = _numbers(_B58_DIGITS, encode_f58(MAX_JOBID)[len(F58_PREFIX) :])
_HEX = "[0-9a-fA-F]"
_HEX4 = f"{_HEX}{{1,4}}"
# The top digit of 16 (and of the first group of four) is at most 7: below 2^63.
_HEXNUM = f"(?:{_HEX}{{1,15}}|[0-7]{_HEX}{{15}})"
_DOTHEX = rf"(?:{_HEX}{{1,3}}|[0-7]{_HEX}{{3}})\.{_HEX4}\.{_HEX4}\.{_HEX4}"
# Every spelling ``parse_jobid`` takes, and no other: the OpenAPI document's job id pattern.
JOBID_PATTERN = (
    rf"^(?:[{F58_PREFIX}{F58_ASCII_PREFIX}]{_F58}|{_DECIMAL}|0[xX]{_HEXNUM}"
    rf"|(?:job\.)?{_DOTHEX})$"
)


def parse_jobid(text: str) -> int:
    """Parse any supported Flux id encoding; raise ``InvalidJobId`` otherwise."""
    if re.fullmatch(JOBID_PATTERN, text) is None:
        raise InvalidJobId(text)
    if text.startswith("job."):
        return _decode_dothex(text[4:])
    if "." in text:
        return _decode_dothex(text)
    if text[0] in (F58_PREFIX, F58_ASCII_PREFIX):
        return _decode_b58(text[1:])
    if text[:2] in ("0x", "0X"):
        return int(text[2:], 16)
    return int(text, 10)


class JobIdGenerator:
    """Time-ordered FLUIDs, so that newer jobs always have larger ids (as in Flux)."""

    def __init__(self, generator_id: int = 0, epoch: float = 1_700_000_000.0) -> None:
        self._generator_id = generator_id & ((1 << _GEN_BITS) - 1)
        self._epoch_ms = int(epoch * 1000)
        self._last_ms = 0
        self._seq = 0
        self._lock = threading.Lock()

    def next_id(self) -> int:
        with self._lock:
            now_ms = max(int(time.time() * 1000) - self._epoch_ms, self._last_ms)
            if now_ms == self._last_ms:
                self._seq += 1
                if self._seq >= (1 << _SEQ_BITS):
                    now_ms += 1
                    self._seq = 0
            else:
                self._seq = 0
            self._last_ms = now_ms
            return (
                (now_ms << (_GEN_BITS + _SEQ_BITS)) | (self._generator_id << _SEQ_BITS) | self._seq
            )
