"""The example scrape config and Grafana dashboard: valid, and querying metrics that exist."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
METRIC_NAME = re.compile(r"\b(?:flux|process)_[a-z0-9_]+\b")


def expressions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from expressions(item)


def test_scrape_config_targets_the_port_forwarded_metrics() -> None:
    config = yaml.safe_load((EXAMPLES / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["127.0.0.1:5000"]


def test_dashboard_queries_only_metrics_the_sidecar_exports(client: TestClient) -> None:
    dashboard = json.loads((EXAMPLES / "grafana-dashboard.json").read_text())
    queries = list(expressions(dashboard["panels"]))
    assert len(queries) >= 10
    client.post("/api/v1/jobs", json={"command": ["true"]})
    client.get("/api/v1/jobs", headers={"Authorization": "Bearer wrong"})
    text = client.get("/metrics").text
    exported = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    queried = {name for query in queries for name in METRIC_NAME.findall(query)}
    assert queried - exported == set()
    plotted = " ".join(queries)
    for family in (
        "flux_jobs",
        "flux_sidecar_jobs_submitted_total",
        "flux_resources_cores",
        "flux_sidecar_http_request_duration_seconds_bucket",
    ):
        assert family in plotted


def test_dashboard_panels_have_unique_ids_and_a_datasource_variable() -> None:
    dashboard = json.loads((EXAMPLES / "grafana-dashboard.json").read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
