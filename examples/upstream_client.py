"""Drive the sidecar with upstream's ``flux-restful-client``, unchanged, through ``/v1``.

    pip install flux-restful-client
    export FLUX_SIDECAR_TOKEN=$(cat .dev-token)
    python examples/upstream_client.py

Upstream's client signs a token request with ``FLUX_SECRET_KEY``; a sidecar with no
secret key configured takes its API token as the secret key, so here all three of
upstream's variables come from the one token.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from flux_restful_client.main import get_client  # type: ignore[import-untyped]


def main() -> int:
    token = os.environ["FLUX_SIDECAR_TOKEN"]
    client: Any = get_client(
        host=os.environ.get("FLUX_SIDECAR_URL", "http://127.0.0.1:5000"),
        user=os.environ.get("FLUX_USER", "fluxuser"),
        token=token,
        secret_key=os.environ.get("FLUX_SECRET_KEY", token),
    )
    print("nodes:", client.list_nodes()["nodes"])
    submitted = client.submit("echo pancakes", num_tasks=1)
    print("submitted:", submitted)
    for _ in range(100):
        info = client.jobs(submitted["id"])
        if info["state"] == "INACTIVE":
            break
        time.sleep(0.1)
    print("state:", info["state"], info["result"])
    print("output:", client.output(submitted["id"]).get("Output"))
    return 0 if info["result"] == "COMPLETED" else 1


if __name__ == "__main__":
    sys.exit(main())
