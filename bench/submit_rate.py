"""Submissions per second: through the REST API against ``submit_async`` in-process.

Run inside a Flux instance (``make bench`` starts ``flux start --test-size=2``).
The baseline is what the broker takes from one handle with every submission
in flight; the sidecar is measured with 1 and with 32 concurrent clients on
127.0.0.1. Jobs are held (urgency 0), so what is measured is submission, not
execution, and they are cancelled after each measurement. Each figure is the
median of a few runs; DESIGN section 10 asks for at least 0.7 at 32 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import time
from collections.abc import Callable

from bench.figures import sidecar
from sidecar.jobspec import build_jobspec
from sidecar.models import JobRequest

BODY = {"command": ["true"], "urgency": 0}


def in_process_rate(jobs: int) -> float:
    """Jobs per second from ``submit_async`` with every submission in flight."""
    import flux
    import flux.job

    handle = flux.Flux()
    jobspec = json.dumps(build_jobspec(JobRequest.model_validate(BODY)))
    start = time.perf_counter()
    futures = [flux.job.submit_async(handle, jobspec, urgency=0) for _ in range(jobs)]
    for future in futures:
        future.get_id()
    return jobs / (time.perf_counter() - start)


class _Connection:
    """One keep-alive HTTP/1.1 connection, spoken plainly.

    A minimal client on purpose: with 32 connections httpx's own overhead
    saturates a core before the server does, which would measure the client.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def post(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length:")
        )
        await self.reader.readexactly(length)
        return int(lines[0].split()[1])


async def _rest_rate(port: int, token: str, clients: int, jobs: int) -> float:
    body = json.dumps(BODY).encode()
    request = (
        f"POST /api/v1/jobs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    connections = [
        _Connection(*await asyncio.open_connection("127.0.0.1", port)) for _ in range(clients)
    ]
    remaining = list(range(jobs))

    async def client(connection: _Connection) -> None:
        while remaining:
            remaining.pop()
            status = await connection.post(request)
            if status != 201:
                raise SystemExit(f"POST /api/v1/jobs answered {status}")

    start = time.perf_counter()
    await asyncio.gather(*(client(c) for c in connections))
    rate = jobs / (time.perf_counter() - start)
    for connection in connections:
        connection.writer.close()
    return rate


def rest_rate(port: int, token: str, clients: int, jobs: int) -> float:
    """Jobs per second through ``POST /api/v1/jobs`` from ``clients`` concurrent clients."""
    return asyncio.run(_rest_rate(port, token, clients, jobs))


def cancel_all() -> None:
    subprocess.run(["flux", "cancel", "--all", "--quiet"], check=False, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300, help="submissions per measurement")
    parser.add_argument("--runs", type=int, default=3, help="measurements per figure")
    args = parser.parse_args()
    results: dict[str, list[float]] = {"in-process": [], "rest-1": [], "rest-32": []}
    with sidecar("flux") as side:
        port, token = side.port, side.token
        rest_rate(port, token, 8, 50)  # warm-up: imports and caches
        cancel_all()
        measures: list[tuple[str, Callable[[], float]]] = [
            ("in-process", lambda: in_process_rate(args.jobs)),
            ("rest-32", lambda: rest_rate(port, token, 32, args.jobs)),
            ("rest-1", lambda: rest_rate(port, token, 1, args.jobs)),
        ]
        for _ in range(args.runs):
            for name, measure in measures:
                results[name].append(measure())
                cancel_all()
    base = statistics.median(results["in-process"])
    print(f"submissions per second, median of {args.runs} runs of {args.jobs} held jobs")
    print(f"  {'in-process submit_async, all in flight':<40} {base:8.1f}")
    for clients in (1, 32):
        rates = results[f"rest-{clients}"]
        label = f"REST, {clients} concurrent client(s)"
        ratio = paired_ratio(rates, results["in-process"])
        print(f"  {label:<40} {statistics.median(rates):8.1f}  ratio {ratio:.2f}")
    ratio = paired_ratio(results["rest-32"], results["in-process"])
    verdict = "meets" if ratio >= 0.7 else "misses"
    print(f"ratio at 32 clients: {ratio:.2f} ({verdict} the 0.7 target of DESIGN section 10)")


def paired_ratio(rates: list[float], bases: list[float]) -> float:
    """The median of each run's ratio: measurements moments apart share the machine's load."""
    return statistics.median(rate / base for rate, base in zip(rates, bases, strict=True))


if __name__ == "__main__":
    main()
