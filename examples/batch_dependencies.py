"""Submit a small pipeline: prepare, then four workers, then collect, chained by dependencies.

    export FLUX_SIDECAR_TOKEN=$(cat .dev-token)
    python examples/batch_dependencies.py

Flux holds each job in DEPEND until its dependencies allow it to run:
``afterok:ID`` once ID completed successfully, ``afterany:ID`` once ID ended at all.
Every submission carries an Idempotency-Key, so the client may retry it after a
dropped connection without ever creating a job twice.
"""

from __future__ import annotations

import sys
import uuid

from sidecar.client import SidecarClient
from sidecar.models import Job, JobResult

WORKERS = 4


def main() -> int:
    batch = uuid.uuid4().hex[:8]
    with SidecarClient() as client:

        def submit(name: str, script: str, after: list[str]) -> Job:
            job = client.submit(
                command=["sh", "-c", script],
                name=name,
                dependencies=after,
                idempotency_key=f"batch-{batch}-{name}",
            )
            print(f"submitted {name:<9} {job.id}  {job.state.value}")
            return job

        prepare = submit("prepare", "echo preparing; sleep 0.2", [])
        workers = [
            submit(f"worker-{n}", f"echo worker {n} of {WORKERS}", [f"afterok:{prepare.id}"])
            for n in range(1, WORKERS + 1)
        ]
        collect = submit("collect", "echo all workers ended", [f"afterany:{w.id}" for w in workers])
        client.wait(collect.id, timeout=300)
        failed = 0
        for job in [prepare, *workers, collect]:
            done = client.job(job.id)
            failed += done.result is not JobResult.COMPLETED
            result = done.result.value if done.result else done.state.value
            print(f"{done.name:<9} {result:<9} {client.output(job.id).strip()}")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
