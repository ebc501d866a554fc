"""Send a job its input, run it, and bring its result back: no kubectl cp.

    export FLUX_SIDECAR_TOKEN=$(cat .dev-token)    # the token `make run` printed
    python examples/files_roundtrip.py

A job submitted without ``cwd`` runs in the files root, so the paths it uses
are the ones ``upload`` and ``download`` take.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

from sidecar.client import SidecarClient


def main() -> int:
    run = f"runs/{uuid.uuid4().hex[:8]}"
    with SidecarClient() as client, tempfile.TemporaryDirectory() as scratch:
        local = Path(scratch) / "numbers.txt"
        local.write_text("42\n7\n19\n")
        entry = client.upload(local, f"{run}/numbers.txt", parents=True)
        print(f"uploaded {entry.path} ({entry.size} bytes)")

        script = f"sort -n {run}/numbers.txt > {run}/sorted.txt"
        job = client.submit(command=["sh", "-c", script], name="sort")
        done = client.wait(job.id, timeout=120)
        print(f"{done.id} ended: {done.result.value if done.result else done.state.value}")
        if done.returncode:
            print(client.output(job.id), end="", file=sys.stderr)
            return done.returncode

        print("in", run + ":", " ".join(e.name for e in client.list_files(run).entries))
        result = client.download(f"{run}/sorted.txt", Path(scratch))
        print("sorted:", " ".join(result.read_text().split()))
        for name in ("numbers.txt", "sorted.txt", ""):
            client.delete_file(f"{run}/{name}".rstrip("/"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
