"""Schemathesis run as a person would run it: its command line against a live server.

Every phase (examples, coverage, fuzzing, stateful over the document's
links), every check, a fixed seed and a bounded number of cases; the JSON
report is what the tests read. Fuzzed jobs are held (``tests.support.held``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from sidecar.backends.base import JobBackend
from sidecar.models import JobQuery, JobRequest
from tests.support.app import TOKEN
from tests.support.held import HeldBackend
from tests.support.inprocess import LiveServer

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = 12
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


PHASES = ("examples", "coverage", "fuzzing", "stateful")


def config_with_targets(path: Path, running: list[str]) -> Path:
    """A configuration that lets ``signal`` meet running jobs, not only held ones.

    A held job is never running, so every signal to one is refused (409), and to
    schemathesis an operation that accepts nothing is one it lacks data for.
    """
    values = ", ".join(json.dumps(job) for job in running)
    path.write_text(
        "[[operations]]\n"
        'include-path = "/api/v1/jobs/{job_id}/signal"\n'
        'parameters = { "path.job_id" = { dictionary = "running", probability = 0.5 } }\n\n'
        f"[dictionaries.running]\nvalues = [{values}]\n",
        encoding="utf-8",
    )
    return path


def run_schemathesis(
    url: str,
    report: Path,
    *filters: str,
    phases: tuple[str, ...] = PHASES,
    config: Path | None = None,
) -> dict[str, Any]:
    """The JSON report of one run against ``url`` (its output in ``report``'s folder)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.api.fuzz_hooks",
    }
    command = [
        str(SCHEMATHESIS),
        *([f"--config-file={config}"] if config else []),
        "run",
        f"{url}/openapi.json",
        "--checks=all",
        f"--phases={','.join(phases)}",
        f"--max-examples={MAX_EXAMPLES}",
        "--generation-deterministic",
        "--workers=1",
        "--request-timeout=20",
        "--no-color",
        "--report=json",
        f"--report-json-path={report}",
        "--header",
        f"Authorization: Bearer {TOKEN}",
        *filters,
    ]
    log = report.with_suffix(".log")
    with log.open("wb") as out:
        subprocess.run(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=report.parent, timeout=900
        )
    if not report.exists():
        pytest.fail(f"schemathesis wrote no report:\n{log.read_text(errors='replace')}")
    result: dict[str, Any] = json.loads(report.read_text())
    result["log"] = log.read_text(errors="replace")
    return result


def assert_clean(report: dict[str, Any], operations: int, phases: tuple[str, ...] = PHASES) -> None:
    """No failure, no error, no warning, every phase passed, every operation tested."""
    summary = report["log"][-6000:]
    assert report["failures"] == [], summary
    assert report["errors"] == [], summary
    assert {k: v for k, v in report["warnings"].items() if v} == {}, summary
    statuses = {p: s["status"] for p, s in report["phases"].items() if p in phases}
    assert statuses == dict.fromkeys(phases, "success"), summary
    assert report["operations"]["tested"] == operations, summary
    assert report["test_cases"]["generated"] >= 10 * operations, summary


def on_server(live: LiveServer, call: Coroutine[Any, Any, T]) -> T:
    loop = live.server.loop
    assert loop is not None
    return asyncio.run_coroutine_threadsafe(call, loop).result(timeout=60)


def sleepers(live: LiveServer, backend: HeldBackend, count: int) -> list[str]:
    """``count`` running jobs of ``sleep``, submitted past the hold: what signal may hit."""
    request = JobRequest(command=["sleep", "600"], name="sleeper")
    jobs = [on_server(live, backend.inner.submit(request)) for _ in range(count)]
    deadline = time.monotonic() + 60
    while any(on_server(live, backend.get_job(int(j.id_dec))).t_run is None for j in jobs):
        assert time.monotonic() < deadline, "the sleepers did not start"
        time.sleep(0.1)
    return [job.id for job in jobs]


def started_jobs(
    live: LiveServer, backend: JobBackend, since: float, sleeping: list[str]
) -> list[str]:
    """Ids of the jobs submitted from ``since`` on that ever started, the sleepers aside.

    A Flux test instance also lists the jobs of the tests before.
    """
    page = on_server(live, backend.list_jobs(JobQuery(limit=1000)))
    return [
        job.id
        for job in page.jobs
        if job.t_submit >= since and job.t_run is not None and job.id not in sleeping
    ]


SHUTDOWN = r"^/api/v1/shutdown$|^/v1/service/stop$"


def fuzz_all_but_shutdown(
    live: LiveServer, backend: HeldBackend, tmp_path: Path, operations: int
) -> None:
    """Every operation but the two that end the server; nothing may have run but two sleepers."""
    since = time.time()
    running = sleepers(live, backend, 2)
    config = config_with_targets(tmp_path / "schemathesis.toml", running)
    report = run_schemathesis(
        live.url, tmp_path / "report.json", f"--exclude-path-regex={SHUTDOWN}", config=config
    )
    assert_clean(report, operations=operations)
    assert started_jobs(live, backend, since, running) == []


def fuzz_shutdown(live: LiveServer, backend: HeldBackend, tmp_path: Path) -> None:
    """The shutdown operations, on a server of their own: nothing may have run."""
    since = time.time()
    # No links lead to or from shutdown and it has no examples: no stateful or examples phase.
    phases = ("coverage", "fuzzing")
    report = run_schemathesis(
        live.url, tmp_path / "report.json", f"--include-path-regex={SHUTDOWN}", phases=phases
    )
    assert_clean(report, operations=3, phases=phases)
    assert started_jobs(live, backend, since, []) == []
