"""The Python client against the real app (Starlette's TestClient is an ``httpx.Client``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from sidecar.client import (
    AuthFailed,
    Conflict,
    NotFound,
    SidecarClient,
    Unavailable,
    ValidationFailed,
    WaitTimeout,
)
from sidecar.client.sse import SSEDecoder, SSEMessage
from sidecar.models import Job, JobRequest, JobResult, JobState
from tests.support.app import TOKEN


@pytest.fixture
def sidecar(client: TestClient) -> Iterator[SidecarClient]:
    with SidecarClient(http=client, token=TOKEN) as sidecar_client:
        yield sidecar_client


def test_submit_wait_output(sidecar: SidecarClient) -> None:
    job = sidecar.submit(command=["sh", "-c", "echo out; echo err >&2"], name="both")
    assert isinstance(job, Job)
    assert job.id.startswith("ƒ")
    done = sidecar.wait(job.id, timeout=60)
    assert done.state is JobState.INACTIVE
    assert done.result is JobResult.COMPLETED
    assert sorted(sidecar.output(job.id).splitlines()) == ["err", "out"]
    assert sidecar.output(job.id, streams=["stderr"]) == "err\n"
    lines = list(sidecar.output_lines(job.id))
    assert {(line.stream, line.data) for line in lines} == {
        ("stdout", "out\n"),
        ("stderr", "err\n"),
    }


def test_submit_a_batch_script(sidecar: SidecarClient) -> None:
    job = sidecar.submit(script="#!/bin/sh\necho scripted\n", tasks=2)
    done = sidecar.wait(job.id, timeout=60)
    assert (done.name, done.result, done.tasks) == ("batch", JobResult.COMPLETED, 2)
    assert sidecar.output(job.id) == "scripted\n"


def test_submit_takes_a_request_model_and_any_id_encoding(sidecar: SidecarClient) -> None:
    job = sidecar.submit(JobRequest(command=["true"], tasks=2))
    assert job.tasks == 2
    assert sidecar.job(job.id_dec).id == job.id
    assert sidecar.job(int(job.id_dec)).id == job.id


def test_wait_for_a_state_reports_progress(sidecar: SidecarClient) -> None:
    job = sidecar.submit(command=["sleep", "30"])
    seen: list[tuple[JobState, float]] = []
    running = sidecar.wait(
        job.id, "run", timeout=60, on_progress=lambda j, t: seen.append((j.state, t))
    )
    assert running.state is JobState.RUN
    assert seen[-1][0] is JobState.RUN
    assert all(elapsed >= 0 for _, elapsed in seen)
    with pytest.raises(WaitTimeout) as caught:
        sidecar.wait(job.id, timeout=0)
    assert caught.value.job.state is JobState.RUN
    accepted = sidecar.cancel(job.id, reason="enough")
    assert accepted.id == job.id
    done = sidecar.wait(job.id, timeout=60)
    assert done.result is JobResult.CANCELED
    assert done.exception is not None
    assert done.exception.note == "enough"


def test_jobs_pages_transparently(sidecar: SidecarClient) -> None:
    submitted = [sidecar.submit(command=["true"], name=f"page-{n}") for n in range(7)]
    listed = list(sidecar.jobs(page_size=2))
    assert [j.id for j in listed] == [j.id for j in reversed(submitted)]
    assert [j.id for j in sidecar.jobs(limit=3, page_size=2)] == [j.id for j in listed[:3]]
    assert [j.id for j in sidecar.jobs(name="page-4")] == [submitted[4].id]


def test_jobs_filters_by_state_and_result(sidecar: SidecarClient) -> None:
    good = sidecar.submit(command=["true"])
    bad = sidecar.submit(command=["false"])
    for job in (good, bad):
        sidecar.wait(job.id, timeout=60)
    failed = list(sidecar.jobs(result=JobResult.FAILED))
    assert [j.id for j in failed] == [bad.id]
    assert {j.id for j in sidecar.jobs(state=["INACTIVE"], result=["COMPLETED", "FAILED"])} == {
        good.id,
        bad.id,
    }


def test_signal_reaches_a_running_job(sidecar: SidecarClient) -> None:
    job = sidecar.submit(command=["sleep", "30"])
    sidecar.wait(job.id, JobState.RUN, timeout=60)
    assert sidecar.signal(job.id, "SIGTERM").id == job.id
    assert sidecar.wait(job.id, timeout=60).result is JobResult.FAILED


def test_resources_and_info_are_the_server_models(sidecar: SidecarClient) -> None:
    resources = sidecar.resources()
    assert resources.cores.total == 4
    info = sidecar.info()
    assert info.backend.kind == "local"
    assert info.auth is True


def test_not_found_and_conflict(sidecar: SidecarClient) -> None:
    with pytest.raises(NotFound) as missing:
        sidecar.job("ƒ2")
    assert missing.value.status_code == 404
    job = sidecar.submit(command=["true"])
    sidecar.wait(job.id, timeout=60)
    with pytest.raises(Conflict, match="no longer active"):
        sidecar.cancel(job.id)


def test_validation_failed_carries_the_field_errors(sidecar: SidecarClient) -> None:
    unchecked = JobRequest.model_construct(command=["true"], tasks=0, cores_per_task=0)
    with pytest.raises(ValidationFailed) as caught:
        sidecar.submit(unchecked)
    assert caught.value.status_code == 422
    assert {e.field for e in caught.value.errors} == {"tasks", "cores_per_task"}
    with pytest.raises(ValidationFailed) as malformed:
        sidecar.job("not-a-job-id")
    assert malformed.value.status_code == 400


def test_wrong_token_is_auth_failed(client: TestClient) -> None:
    with SidecarClient(http=client, token="wrong-token") as sidecar, pytest.raises(AuthFailed):
        sidecar.info()


def test_shutdown_then_submissions_are_unavailable(sidecar: SidecarClient) -> None:
    status = sidecar.shutdown("now")
    assert status.mode == "now"
    assert status.in_progress is True
    assert sidecar.shutdown_status().mode == "now"
    with pytest.raises(Unavailable) as caught:
        sidecar.submit(command=["true"])
    assert caught.value.status_code == 503


def test_url_and_token_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUX_SIDECAR_URL", "http://sidecar.example:5000/")
    monkeypatch.setenv("FLUX_SIDECAR_TOKEN", "from-env")
    with SidecarClient() as configured:
        assert configured.url == "http://sidecar.example:5000"
    with SidecarClient("http://other:1", token="explicit") as explicit:
        assert explicit.url == "http://other:1"
    monkeypatch.delenv("FLUX_SIDECAR_URL")
    with SidecarClient() as default:
        assert default.url == "http://127.0.0.1:5000"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["data: {}", ""], [SSEMessage("{}")]),
        ([": keep-alive", "", "id: 7", "data: a", "data: b", ""], [SSEMessage("a\nb", "7")]),
        (
            ["event: x", "data:no-space", "", "data: again", ""],
            [SSEMessage("no-space", None, "x"), SSEMessage("again")],
        ),
        (["id: 1", "", "data: keeps the last id", ""], [SSEMessage("keeps the last id", "1")]),
    ],
    ids=["plain", "comment-and-multiline", "event-and-no-space", "id-persists"],
)
def test_sse_decoder(lines: list[str], expected: list[SSEMessage]) -> None:
    decoder = SSEDecoder()
    assert [m for m in map(decoder.feed, lines) if m is not None] == expected
