"""Submit a job, wait for it to end, print its result and output.

    export FLUX_SIDECAR_TOKEN=$(cat .dev-token)    # the token `make run` printed
    python examples/submit_and_wait.py

Exits with the job's return code, like running the command would.
"""

from __future__ import annotations

import sys

from sidecar.client import SidecarClient


def main() -> int:
    with SidecarClient() as client:  # FLUX_SIDECAR_URL (default http://127.0.0.1:5000), _TOKEN
        job = client.submit(command=["sh", "-c", "echo hello from $(hostname)"], name="hello")
        print(f"submitted {job.id}")
        done = client.wait(job.id, timeout=120)
        print(f"{done.id} ended: {done.result.value if done.result else done.state.value}")
        print(client.output(job.id), end="")
        return done.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
