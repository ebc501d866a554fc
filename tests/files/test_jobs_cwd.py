"""Jobs submitted without a working directory run in the files root, on every backend,
so a job finds what was uploaded and its results can be downloaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sidecar.jobspec import build_jobspec
from sidecar.models import JobRequest
from sidecar.server.app import create_app
from tests.support.app import AUTH, make_backend, make_settings
from tests.support.jobwait import wait_for


@pytest.fixture
def jobs(backend_kind: str, root: Path) -> Iterator[TestClient]:
    settings = make_settings(backend=backend_kind, files_root=str(root))
    with TestClient(create_app(settings, make_backend(backend_kind, settings)), headers=AUTH) as c:
        yield c


def run(client: TestClient, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    done = wait_for(client, response.json()["id"])
    assert done["result"] == "COMPLETED", done
    return done, client.get(f"/api/v1/jobs/{done['id']}/output").text


def test_a_job_reads_an_upload_and_its_result_downloads(jobs: TestClient, root: Path) -> None:
    assert jobs.put("/api/v1/files/input.txt", content=b"3\n1\n2\n").status_code == 201
    done, output = run(jobs, {"command": ["sh", "-c", "pwd; sort input.txt > sorted.txt"]})
    assert output == f"{root}\n"
    assert done["cwd"] == str(root)
    assert jobs.get("/api/v1/files/sorted.txt").content == b"1\n2\n3\n"


def test_a_jobspec_without_cwd_runs_in_the_root_too(jobs: TestClient, root: Path) -> None:
    jobspec = build_jobspec(JobRequest(command=["pwd"]))
    assert "cwd" not in jobspec["attributes"]["system"]
    done, output = run(jobs, {"jobspec": jobspec})
    assert (output, done["cwd"]) == (f"{root}\n", str(root))


def test_a_given_cwd_is_kept(jobs: TestClient, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done, output = run(jobs, {"command": ["pwd"], "cwd": str(elsewhere)})
    assert (output, done["cwd"]) == (f"{elsewhere}\n", str(elsewhere))


def test_a_relative_cwd_is_under_the_root(jobs: TestClient, root: Path) -> None:
    assert (
        jobs.put("/api/v1/files/run1/input.txt?parents=true", content=b"b\na\n").status_code == 201
    )
    done, output = run(jobs, {"command": ["sh", "-c", "pwd; sort input.txt"], "cwd": "run1"})
    assert output == f"{root}/run1\na\nb\n"
    assert done["cwd"] == f"{root}/run1"


def test_a_relative_jobspec_cwd_is_under_the_root_too(jobs: TestClient, root: Path) -> None:
    (root / "run2").mkdir()
    jobspec = build_jobspec(JobRequest(command=["pwd"], cwd="./run2/"))
    done, output = run(jobs, {"jobspec": jobspec})
    assert (output, done["cwd"]) == (f"{root}/run2\n", f"{root}/run2")


@pytest.mark.parametrize("form", ["command", "jobspec"])
def test_a_relative_cwd_too_long_under_the_root_is_taken_and_the_job_says_why(
    jobs: TestClient, root: Path, form: str
) -> None:
    # At most 4096 characters as sent; joined onto the root the path is longer than
    # any directory can be. The job is taken, as Flux takes it, and its output says
    # why it did not run there (the local backend fails it; Flux's shell goes to /tmp).
    cwd = "d" * 4096
    body: dict[str, Any] = {"command": ["true"], "cwd": cwd}
    if form == "jobspec":
        body = {"jobspec": build_jobspec(JobRequest(command=["true"], cwd=cwd))}
    response = jobs.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    done = wait_for(jobs, response.json()["id"])
    assert done["cwd"] == f"{root}/{cwd}"
    output = jobs.get(f"/api/v1/jobs/{done['id']}/output").text
    said = (done["exception"] or {}).get("note", "") + output
    # Flux's shell cuts its log line short, before the reason
    assert "File name too long" in said or "Could not change dir to" in said, said
