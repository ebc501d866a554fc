"""Stop the instance: let running jobs finish (drain), then stop the broker and the sidecar.

    export FLUX_SIDECAR_TOKEN=$(cat .dev-token)
    python examples/shutdown.py --timeout 60

In a MiniCluster this ends the lead broker; the pod completes and the Flux
Operator (with ``cleanup: true``) deletes the MiniCluster. With ``make run``
the server process exits 0.
"""

from __future__ import annotations

import argparse
import sys
import time

from sidecar.client import ServerUnreachable, SidecarClient


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["cancel", "drain", "now"], default="drain")
    parser.add_argument("--timeout", type=float, default=60.0, help="how long drain waits")
    args = parser.parse_args()
    with SidecarClient(retries=0) as client:
        status = client.shutdown(args.mode, args.timeout)
        print(f"shutdown accepted: mode {status.mode}, phase {status.phase}")
        deadline = time.monotonic() + args.timeout + 120
        while time.monotonic() < deadline:
            try:
                status = client.shutdown_status()
            except ServerUnreachable:
                print("the sidecar has exited")
                return 0
            print(f"phase {status.phase}, active jobs {status.active_jobs}")
            time.sleep(0.5)
    print("the sidecar is still running", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
