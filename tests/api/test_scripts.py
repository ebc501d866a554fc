"""Batch scripts on every backend: the text of a script, as flux batch and sbatch take it.

A batch job runs its script once, in a Flux instance of its own on the job's
resources (the local backend: once, holding the job's cores); with ``batch``
false the script is each task's program. Only stdout is compared: a nested
instance's broker may log to stderr.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.jobwait import wait_for

SCRIPT = "#!/bin/sh\necho ran rank=${FLUX_TASK_RANK:-0}\nexit ${CODE:-0}\n"


def _run(client: TestClient, **body: Any) -> tuple[dict[str, Any], list[str]]:
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    done = wait_for(client, response.json()["id"])
    out = client.get(f"/api/v1/jobs/{done['id']}/output", params={"stream": "stdout"})
    return done, out.text.splitlines()


def test_a_batch_script_runs_once(any_client: TestClient) -> None:
    done, lines = _run(any_client, script=SCRIPT, tasks=2)
    assert (done["result"], done["returncode"], done["name"]) == ("COMPLETED", 0, "batch")
    assert lines == ["ran rank=0"]


def test_a_script_without_batch_is_each_tasks_program(any_client: TestClient) -> None:
    done, lines = _run(any_client, script=SCRIPT, tasks=2, batch=False, name="per-task")
    assert (done["result"], done["name"]) == ("COMPLETED", "per-task")
    assert sorted(lines) == ["ran rank=0", "ran rank=1"]


def test_a_scripts_exit_status_is_the_jobs(any_client: TestClient) -> None:
    done, _ = _run(any_client, script=SCRIPT, env={"CODE": "3"})
    assert (done["result"], done["returncode"]) == ("FAILED", 3)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"script": "echo no shebang\n"}, "script"),
        ({"script": "#!/bin/sh\n\u0000"}, "script"),
        ({"script": SCRIPT, "command": ["true"]}, "body"),
        ({"command": ["true"], "batch": False}, "body"),
        ({"script": SCRIPT, "batch": "no"}, "batch"),
        ({"script": "#!/bin/sh\r\necho dos\r\n"}, "script"),
        ({"script": "#!/bin/sh\n# flux: -N2\necho two\n"}, "script"),
        ({"script": "#!/usr/bin/env python3\n#FLUX: --nodes=2\n"}, "script"),
    ],
    ids=[
        "no-shebang",
        "nul",
        "and-a-command",
        "batch-without-script",
        "batch-not-bool",
        "dos-line-breaks",
        "flux-directive",
        "flux-directive-upper",
    ],
)
def test_bad_scripts_are_refused(client: TestClient, body: dict[str, Any], field: str) -> None:
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    assert field in {error["field"] for error in response.json()["errors"]}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (r'{"script": "#!/bin/sh\necho \ud800"}', "script", "lone surrogate"),
        (r'{"command": "env", "env": {"A": "\udfff"}}', "env.A", "lone surrogate"),
        ('{"script": "#!/bin/sh\\r\\necho"}', "script", "Unix line breaks"),
        ('{"script": "#!/bin/sh\\n  # flux: -t 5m"}', "script", "line 2 is a 'flux:' directive"),
        ('{"script": "#!/bin/sh\\n\\n \\n#FLUX: -N2"}', "script", "line 4 is a 'flux:'"),
    ],
    ids=["script-surrogate", "env-surrogate", "dos", "directive", "directive-after-blanks"],
)
def test_refusals_say_why(client: TestClient, body: str, field: str, words: str) -> None:
    # Raw JSON: a lone surrogate cannot be encoded by a client library, only escaped.
    response = client.post(
        "/api/v1/jobs", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    errors = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert words in errors[field], errors


def test_a_comment_that_only_mentions_flux_runs(any_client: TestClient) -> None:
    script = "#!/bin/sh\n# runs under flux: no directive\necho ok\n"
    done, lines = _run(any_client, script=script)
    assert (done["result"], lines) == ("COMPLETED", ["ok"])
