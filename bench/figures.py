"""Figures of the sidecar alone: event latency, and the local backend's stand-ins for Flux.

- a job state change reaching an ``/api/v1/events`` subscriber, p50/p99
  (arrival time against the change's own timestamp, one clock);
- without Flux, the instance is the local backend's: it is settled and filled
  through the API, with held jobs that are then cancelled.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx

from bench.rounds import percentile
from bench.servers import Server

HELD = {"command": ["true"], "urgency": 0}
ACTIVE: dict[str, str | int] = {"state": "DEPEND,PRIORITY,SCHED,RUN,CLEANUP", "limit": 1000}


def event_latency_ms(side: Server, jobs: int = 40) -> tuple[float, float]:
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


async def _settle(side: Server) -> None:
    async with httpx.AsyncClient(base_url=side.url, headers=side.headers, timeout=60) as http:
        while True:
            params: dict[str, str | int] = {
                "state": "DEPEND,PRIORITY,SCHED,RUN,CLEANUP",
                "limit": 1000,
            }
            page = (await http.get("/api/v1/jobs", params=params)).json()
            if not page["jobs"]:
                return
            held = [j for j in page["jobs"] if j["state"] == "SCHED"]
            for start in range(0, len(held), 32):
                batch = held[start : start + 32]
                await asyncio.gather(*(http.post(f"/api/v1/jobs/{j['id']}/cancel") for j in batch))
            if not held:
                await asyncio.sleep(0.05)


def local_settle(side: Server) -> None:
    """The local backend with nothing active: held jobs cancelled, running ones finished."""
    asyncio.run(_settle(side))


async def _fill(side: Server, jobs: int, concurrency: int = 16) -> None:
    async with httpx.AsyncClient(base_url=side.url, headers=side.headers, timeout=60) as http:
        remaining = jobs

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                job = (await http.post("/api/v1/jobs", json=HELD)).json()
                await http.post(f"/api/v1/jobs/{job['id']}/cancel")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def local_fill(side: Server, jobs: int) -> None:
    """``jobs`` more inactive jobs in the local backend (held, then cancelled)."""
    asyncio.run(_fill(side, jobs))
