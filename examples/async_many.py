"""Submit ten jobs at once with the asyncio client and wait for all of them.

export FLUX_SIDECAR_TOKEN=$(cat .dev-token)
python examples/async_many.py
"""

from __future__ import annotations

import asyncio
import sys

from sidecar.client import AsyncSidecarClient
from sidecar.models import Job, JobResult


async def run_one(client: AsyncSidecarClient, n: int) -> Job:
    job = await client.submit(command=["sh", "-c", f"echo task {n}"], name=f"task-{n}")
    return await client.wait(job.id, timeout=300)


async def main() -> int:
    async with AsyncSidecarClient() as client:
        jobs = await asyncio.gather(*(run_one(client, n) for n in range(10)))
    for job in jobs:
        print(f"{job.name:<8} {job.id}  {job.result.value if job.result else job.state.value}")
    return 0 if all(job.result is JobResult.COMPLETED for job in jobs) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
