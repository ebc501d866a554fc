"""A lean load generator: keep-alive HTTP/1.1 connections, one request in flight on each.

A minimal client on purpose: with 32 connections an httpx client spends more
of a core per request than the sidecar does, which would measure the client
(README, "Benchmarks"). Every connection sends the same request, waits for its
answer, and sends again; each answer's status and latency are kept.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    """One request, as bytes, and the statuses that count as success."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    ok: tuple[int, ...] = (200,)

    def encode(self, port: int) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class Load:
    """What one measurement saw (and the answers' bodies, when asked to keep them)."""

    requests: int
    seconds: float
    latencies: list[float]
    bodies: list[bytes] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


class RequestFailed(Exception):
    pass


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            body += await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
        return status, body
    return status, await reader.readexactly(int(headers.get("content-length", "0")))


async def _load(port: int, request: Request, clients: int, count: int, keep: bool) -> Load:
    raw = request.encode(port)
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(clients)]
    remaining = count
    latencies: list[float] = []
    bodies: list[bytes] = []

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            sent = time.perf_counter()
            writer.write(raw)
            status, body = await _answer(reader)
            latencies.append(time.perf_counter() - sent)
            if status not in request.ok:
                raise RequestFailed(f"{request.method} {request.path}: {status} {body[:300]!r}")
            if keep:
                bodies.append(body)

    start = time.perf_counter()
    try:
        await asyncio.gather(*(client(r, w) for r, w in streams))
    finally:
        for _, writer in streams:
            writer.close()
    return Load(count, time.perf_counter() - start, latencies, bodies)


def load(port: int, request: Request, clients: int, count: int, *, keep: bool = False) -> Load:
    """``count`` requests from ``clients`` concurrent keep-alive connections."""
    return asyncio.run(_load(port, request, clients, count, keep))
