"""Every script in ``examples/`` runs, unedited, against a real server process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.client import SidecarClient
from tests.support.serverproc import ServerProcess, run_server, submitting

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# Each script with a line its output must contain.
SCRIPTS = {
    "submit_and_wait.py": "hello from",
    "stream_output.py": "[stderr rank 0] done",
    "batch_dependencies.py": "collect   COMPLETED all workers ended",
    "async_many.py": "task-9",
    "upstream_client.py": "output: ['pancakes\\n']",
    "files_roundtrip.py": "sorted: 7 19 42",
}


def test_every_example_is_tested() -> None:
    scripts = {path.name for path in EXAMPLES.glob("*.py")}
    assert scripts == {*SCRIPTS, "watch_events.py", "shutdown.py"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with run_server(tmp_path_factory.mktemp("examples")) as process:
        yield process


def environment(server: ServerProcess) -> dict[str, str]:
    # What the README tells a user to export after `make run`.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FLUX_SIDECAR_", "FLUX_"))}
    return {**clean, "FLUX_SIDECAR_URL": server.url, "FLUX_SIDECAR_TOKEN": server.token}


def run_example(server: ServerProcess, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        env=environment(server),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("name", sorted(SCRIPTS), ids=str)
def test_example(server: ServerProcess, name: str) -> None:
    done = run_example(server, name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert SCRIPTS[name] in done.stdout


def test_watch_events(server: ServerProcess) -> None:
    with submitting(server, "watched", 240):
        done = run_example(server, "watch_events.py", "--count", "6")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 6
    assert all(line.split()[1].startswith("ƒ") for line in lines)


def test_shutdown(tmp_path: Path) -> None:
    with run_server(tmp_path) as server:
        with SidecarClient(server.url, server.token) as client:
            client.submit(command=["sleep", "0.5"])
        done = run_example(server, "shutdown.py", "--timeout", "30")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "the sidecar has exited" in done.stdout
        assert server.wait_exit(60) == 0
