"""Latency, memory and start-up figures of a running sidecar (DESIGN section 10).

- ``GET /api/v1/jobs?limit=50`` with 10,000 jobs in the instance, p50/p99;
- a job state change reaching an ``/api/v1/events`` subscriber, p50/p99
  (arrival time against the change's own timestamp, one clock);
- idle resident memory, and time from process start to ``/readyz`` 200.

Jobs are submitted held (urgency 0) and then cancelled, so the instance fills
with inactive jobs quickly and nothing runs on the measuring machine.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

HELD = {"command": ["true"], "urgency": 0}


@dataclass
class Sidecar:
    url: str
    token: str
    pid: int
    ready_seconds: float

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


@contextmanager
def sidecar(backend: str) -> Iterator[Sidecar]:
    """``flux-sidecar serve`` on a loopback port; how long it took to be ready."""
    token = secrets.token_urlsafe(24)
    port = 6000 + secrets.randbelow(1000)
    with tempfile.TemporaryDirectory() as tmp:
        token_file = Path(tmp) / "token"
        token_file.write_text(token)
        env = {**os.environ, "FLUX_SIDECAR_TOKEN_FILE": str(token_file)}
        env["FLUX_SIDECAR_LOG_LEVEL"] = "warning"
        command = [sys.executable, "-m", "sidecar", "serve", "--backend", backend]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        start = time.perf_counter()
        server = subprocess.Popen(command, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.perf_counter() - start > 60:
                    raise SystemExit("the sidecar did not become ready")
                time.sleep(0.01)
            yield Sidecar(url, token, server.pid, time.perf_counter() - start)
        finally:
            server.terminate()
            server.wait(30)


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _fill(side: Sidecar, jobs: int, concurrency: int = 16) -> None:
    headers = {"Authorization": f"Bearer {side.token}"}
    async with httpx.AsyncClient(base_url=side.url, headers=headers, timeout=60) as http:
        remaining = list(range(jobs))

        async def worker() -> None:
            while remaining:
                remaining.pop()
                job = (await http.post("/api/v1/jobs", json=HELD)).json()
                await http.post(f"/api/v1/jobs/{job['id']}/cancel")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def fill(side: Sidecar, jobs: int) -> None:
    """Bring the instance to ``jobs`` inactive jobs (held, then cancelled)."""
    with side.client() as http:
        have = http.get("/api/v1/jobs", params={"limit": 1000}).json()
    missing = jobs - len(have["jobs"]) if have["next"] is None else 0
    if missing > 0:
        asyncio.run(_fill(side, missing))


def list_latency_ms(side: Sidecar, requests: int = 200) -> tuple[float, float]:
    times = []
    with side.client() as http:
        for _ in range(requests):
            start = time.perf_counter()
            response = http.get("/api/v1/jobs", params={"limit": 50})
            times.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200 or len(response.json()["jobs"]) != 50:
                raise SystemExit(f"listing failed: {response.status_code}")
    return percentile(times, 0.5), percentile(times, 0.99)


def event_latency_ms(side: Sidecar, jobs: int = 40) -> tuple[float, float]:
    latencies: list[float] = []
    connected = threading.Event()
    done = threading.Event()

    def subscribe() -> None:
        with side.client() as http, http.stream("GET", "/api/v1/events") as response:
            connected.set()
            for line in response.iter_lines():
                if line.startswith("data: "):
                    change = json.loads(line[6:])
                    latencies.append((time.time() - change["timestamp"]) * 1000)
                if done.is_set():
                    return

    reader = threading.Thread(target=subscribe, daemon=True)
    reader.start()
    connected.wait(30)
    with side.client() as http:
        for _ in range(jobs):
            job = http.post("/api/v1/jobs", json=HELD).json()
            http.post(f"/api/v1/jobs/{job['id']}/cancel")
            time.sleep(0.02)
        time.sleep(1)
    done.set()
    with side.client() as http:  # one more change wakes the reader so it can stop
        job = http.post("/api/v1/jobs", json=HELD).json()
        http.post(f"/api/v1/jobs/{job['id']}/cancel")
    reader.join(10)
    return percentile(latencies, 0.5), percentile(latencies, 0.99)
