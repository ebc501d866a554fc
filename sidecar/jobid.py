"""Flux job ids (FLUIDs): generation, f58 encoding, and parsing of every encoding users type.

A FLUID is 64 bits: 40 bits of milliseconds, 14 bits of generator id, 10 bits of
sequence (flux-core ``src/common/libutil/fluid.c``). The API returns ids as f58
and as a decimal string, and accepts f58 (``ƒ`` or ``f`` prefix), decimal,
``0x`` hex, dothex (``0000.0000.0000.0000``) and the KVS form (``job.<dothex>``).
"""

from __future__ import annotations

import threading
import time

from sidecar.errors import InvalidJobId

F58_PREFIX = "ƒ"
F58_ASCII_PREFIX = "f"
_B58_DIGITS = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_VALUES = {c: i for i, c in enumerate(_B58_DIGITS)}
_MAX_B58_LEN = 12
_TS_BITS, _GEN_BITS, _SEQ_BITS = 40, 14, 10
MAX_JOBID = (1 << 64) - 1


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
    if not text or len(text) > _MAX_B58_LEN:
        raise ValueError(text)
    value = 0
    for char in text:
        value = value * 58 + _B58_VALUES[char]
    return value


def _decode_dothex(text: str) -> int:
    parts = text.split(".")
    if len(parts) != 4 or not all(0 < len(p) <= 4 for p in parts):
        raise ValueError(text)
    value = 0
    for part in parts:
        value = (value << 16) | int(part, 16)
    return value


def parse_jobid(text: str) -> int:
    """Parse any supported Flux id encoding; raise ``InvalidJobId`` otherwise."""
    raw = text.strip()
    try:
        if raw.startswith("job."):
            value = _decode_dothex(raw[4:])
        elif "." in raw:
            value = _decode_dothex(raw)
        elif raw.startswith(F58_PREFIX):
            value = _decode_b58(raw[len(F58_PREFIX) :])
        elif raw.startswith(F58_ASCII_PREFIX):
            value = _decode_b58(raw[len(F58_ASCII_PREFIX) :])
        elif raw.lower().startswith("0x"):
            value = int(raw[2:], 16)
        elif raw.isdigit() and raw.isascii():
            value = int(raw, 10)
        else:
            raise ValueError(raw)
    except (ValueError, KeyError):
        raise InvalidJobId(text) from None
    if value > MAX_JOBID or value >> (_GEN_BITS + _SEQ_BITS) >= (1 << _TS_BITS):
        raise InvalidJobId(text)
    return value


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
