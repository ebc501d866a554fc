"""Follow a job's output while it runs, line by line, stdout and stderr apart.

export FLUX_SIDECAR_TOKEN=$(cat .dev-token)
python examples/stream_output.py
"""

from __future__ import annotations

import sys

from sidecar.client import SidecarClient

SCRIPT = "for i in 1 2 3 4 5; do echo step $i; sleep 0.2; done; echo done >&2"


def main() -> int:
    with SidecarClient() as client:
        job = client.submit(command=["sh", "-c", SCRIPT], name="counter")
        print(f"following {job.id}")
        for line in client.output_lines(job.id, follow=True):
            print(f"[{line.stream} rank {line.rank}] {line.data}", end="")
        done = client.job(job.id)
        print(f"{done.id} ended: {done.result.value if done.result else done.state.value}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
