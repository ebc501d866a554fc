"""/metrics: the families of DESIGN section 8, agreement with the backend, bounded labels, auth."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from sidecar.config import Settings
from sidecar.server.app import create_app
from tests.support.app import AUTH, make_backend, make_settings

Series = tuple[str, tuple[tuple[str, str], ...]]

# (family as the text parser names it, type, unit in OpenMetrics)
FAMILIES = [
    ("flux_sidecar_http_requests", "counter", ""),
    ("flux_sidecar_http_request_duration_seconds", "histogram", "seconds"),
    ("flux_sidecar_auth_failures", "counter", ""),
    ("flux_sidecar_jobs_submitted", "counter", ""),
    ("flux_sidecar_info", "gauge", ""),
    ("flux_jobs", "gauge", ""),
    ("flux_jobs_inactive", "gauge", ""),
    ("flux_resources_nodes", "gauge", ""),
    ("flux_resources_cores", "gauge", ""),
    ("flux_resources_gpus", "gauge", ""),
    ("flux_broker_up", "gauge", ""),
    ("flux_sidecar_shutdown_in_progress", "gauge", ""),
    ("flux_sidecar_shutdown_phase", "gauge", ""),
]


def scrape(client: TestClient, **headers: str) -> list[Sample]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return [s for f in text_string_to_metric_families(response.text) for s in f.samples]


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and s.labels == labels]
    assert len(found) == 1, f"{name}{labels}: {len(found)} samples"
    return found[0]


def series(samples: list[Sample]) -> set[Series]:
    return {(s.name, tuple(sorted(s.labels.items()))) for s in samples}


def submit(client: TestClient, command: list[str], **headers: str) -> dict[str, Any]:
    response = client.post("/api/v1/jobs", json={"command": command}, headers=headers)
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def wait_state(client: TestClient, job_id: str, state: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while (current := client.get(f"/api/v1/jobs/{job_id}").json()["state"]) != state:
        assert time.monotonic() < deadline, f"job {job_id} still {current}, not {state}"
        time.sleep(0.05)


def listing_counts(client: TestClient) -> tuple[Counter[str], Counter[str]]:
    """Jobs by state and inactive jobs by result, from the backend's own listing."""
    states: Counter[str] = Counter()
    results: Counter[str] = Counter()
    params: dict[str, str | int] = {"limit": 1000}
    while True:
        page = client.get("/api/v1/jobs", params=params).json()
        for job in page["jobs"]:
            states[job["state"]] += 1
            if job["state"] == "INACTIVE":
                results[job["result"]] += 1
        if page["next"] is None:
            return states, results
        params["cursor"] = page["next"]


def test_every_family_has_its_type_and_unit(client: TestClient) -> None:
    client.get("/healthz")
    text = client.get("/metrics").text
    types = {f.name: f.type for f in text_string_to_metric_families(text)}
    for name, kind, _ in FAMILIES:
        assert types.get(name) == kind, name
    om = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.headers["content-type"].startswith("application/openmetrics-text")
    units = {f.name: f.unit for f in openmetrics_families(om.text)}  # type: ignore[no-untyped-call]
    for name, _, unit in FAMILIES:
        if unit:
            assert units[name] == unit, name
    version = client.get("/api/v1/info").json()["version"]
    samples = scrape(client)
    assert value(samples, "flux_sidecar_info", version=version, backend="local") == 1
    assert value(samples, "flux_broker_up") == 1
    assert value(samples, "flux_sidecar_shutdown_in_progress") == 0
    assert value(samples, "flux_sidecar_shutdown_phase", phase="serving") == 1
    assert value(samples, "flux_resources_cores", state="up") == 4


def test_the_registry_passed_in_holds_the_metrics(settings: Settings) -> None:
    registry = CollectorRegistry()
    app = create_app(settings, make_backend("local", settings), registry)
    with TestClient(app, headers=AUTH) as client:
        client.get("/healthz")
        assert b'route="/healthz"' in generate_latest(registry)


def test_http_requests_are_counted_by_route_template_and_code(client: TestClient) -> None:
    for _ in range(3):
        client.get("/healthz")
    client.get("/api/v1/jobs/12345")
    client.get("/no/such/page")
    samples = scrape(client)
    total = "flux_sidecar_http_requests_total"
    assert value(samples, total, method="GET", route="/healthz", code="200") == 3
    assert value(samples, total, method="GET", route="/api/v1/jobs/{job_id}", code="404") == 1
    assert value(samples, total, method="GET", route="<unmatched>", code="404") == 1
    duration = "flux_sidecar_http_request_duration_seconds_count"
    assert value(samples, duration, method="GET", route="/healthz") == 3


def test_counters_and_state_gauges_agree_with_the_listing(any_client: TestClient) -> None:
    short = [["true"], ["true"], ["true"], ["false"]]
    jobs = [submit(any_client, command) for command in short]
    sleepers = [submit(any_client, ["sleep", "300"]) for _ in range(2)]
    for job in jobs:
        wait_state(any_client, job["id"], "INACTIVE")
    for job in sleepers:
        wait_state(any_client, job["id"], "RUN")
    try:
        for _ in range(20):
            # A shared instance may still be finishing other jobs: compare a stable moment.
            before = listing_counts(any_client)
            samples = scrape(any_client)
            if listing_counts(any_client) == before:
                break
            time.sleep(1.1)  # past the metrics cache
        states, results = before
        assert value(samples, "flux_sidecar_jobs_submitted_total") == len(short) + len(sleepers)
        for state in ("DEPEND", "PRIORITY", "SCHED", "RUN", "CLEANUP", "INACTIVE"):
            assert value(samples, "flux_jobs", state=state.lower()) == states[state], state
        for result in ("COMPLETED", "FAILED", "CANCELED", "TIMEOUT"):
            assert value(samples, "flux_jobs_inactive", result=result.lower()) == results[result]
        assert states["RUN"] >= 2
        assert results["FAILED"] >= 1
    finally:
        for job in sleepers:
            any_client.post(f"/api/v1/jobs/{job['id']}/cancel")


def test_idempotent_replays_are_not_counted_as_submissions(client: TestClient) -> None:
    first = submit(client, ["true"], **{"Idempotency-Key": "metrics-once"})
    again = submit(client, ["true"], **{"Idempotency-Key": "metrics-once"})
    assert first["id"] == again["id"]
    assert value(scrape(client), "flux_sidecar_jobs_submitted_total") == 1


def test_job_ids_and_paths_never_become_labels(client: TestClient) -> None:
    def requests(ids: range) -> None:
        for i in ids:
            client.get(f"/api/v1/jobs/{10**9 + i}")  # well-formed, unknown: 404
            client.get(f"/api/v1/jobs/not-an-id-{i}")  # malformed: 400
            client.get(f"/api/v1/jobs/{10**9 + i}/output")
            client.get(f"/nowhere/{i}")  # no route at all

    requests(range(2))
    scrape(client)  # the scrape counts itself from the second one on
    before = series(scrape(client))
    requests(range(2, 127))  # 125 x 4 = 500 distinct paths
    response = client.get("/metrics")
    after = series([s for f in text_string_to_metric_families(response.text) for s in f.samples])
    assert after == before
    assert "not-an-id" not in response.text
    assert str(10**9 + 100) not in response.text
    routes = {dict(labels).get("route") for _, labels in after} - {None}
    assert routes <= {
        "/api/v1/jobs/{job_id}",
        "/api/v1/jobs/{job_id}/output",
        "<unmatched>",
        "/metrics",
    }


def test_auth_failures_are_counted(client: TestClient) -> None:
    assert client.get("/api/v1/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/v1/info", headers={"Authorization": ""}).status_code == 401
    samples = scrape(client)
    assert value(samples, "flux_sidecar_auth_failures_total") == 2
    assert (
        value(
            samples,
            "flux_sidecar_http_requests_total",
            method="GET",
            route="/api/v1/jobs",
            code="401",
        )
        == 1
    )


def test_metrics_are_open_by_default() -> None:
    settings = make_settings()
    with TestClient(create_app(settings, make_backend("local", settings))) as anonymous:
        assert anonymous.get("/metrics").status_code == 200


def test_metrics_auth_requires_the_token() -> None:
    settings = make_settings(metrics_auth=True)
    with TestClient(create_app(settings, make_backend("local", settings))) as anonymous:
        refused = anonymous.get("/metrics")
        assert refused.status_code == 401
        assert "WWW-Authenticate" in refused.headers
        samples = scrape(anonymous, **AUTH)
        assert value(samples, "flux_sidecar_auth_failures_total") == 1


def test_shutdown_in_progress_and_its_phase(client: TestClient) -> None:
    assert client.post("/api/v1/shutdown", json={"mode": "cancel"}).status_code == 202
    samples = scrape(client)
    assert value(samples, "flux_sidecar_shutdown_in_progress") == 1
    phases = {
        s.labels["phase"]: s.value for s in samples if s.name == "flux_sidecar_shutdown_phase"
    }
    assert sum(phases.values()) == 1
    assert phases["serving"] == 0
