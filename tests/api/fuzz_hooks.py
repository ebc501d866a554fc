"""Schemathesis hooks for the fuzz run: what a static document cannot know, and nothing else.

The document states every rule of each field. What remains is state and one
relation JSON Schema has no words for, so a schema-valid case may still be
refused for a reason no generator could see. Only such positive cases are
adjusted here, each for the reason given; negative cases go out untouched.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import schemathesis
from schemathesis import Case

from sidecar.patterns import EVENT_ID, full


def _positive(case: Case[Any]) -> bool:
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def _nodes_within_tasks(fields: dict[str, Any], nodes: str, tasks: str, default: Any) -> None:
    """JSON Schema cannot compare two fields, so "nodes at most tasks" lives in prose."""
    count, have = fields.get(nodes) or 0, fields.get(tasks) or default
    if float(count) > float(have):
        fields[tasks] = count


def _submission(body: dict[str, Any]) -> None:
    if body.get("command") is not None or body.get("script") is not None:
        _nodes_within_tasks(body, "nodes", "tasks", 1)
        # Dependencies name jobs of the instance, queues its configuration.
        body.pop("dependencies", None)
        body.pop("queue", None)
    elif isinstance(body.get("jobspec"), dict):
        spec = body["jobspec"]
        system = spec["attributes"]["system"]
        system.pop("dependencies", None)
        system.pop("queue", None)
        top, task = spec["resources"][0], spec["tasks"][0]
        if top["type"] == "node" and "total" in task["count"]:
            task["count"]["total"] = max(task["count"]["total"], top["count"])


def _upstream_submission(query: dict[str, Any]) -> None:
    _nodes_within_tasks(query, "num_nodes", "num_tasks", "1")
    if query.get("exclusive") == "true" and not query.get("num_nodes"):
        query["exclusive"] = "false"  # the query's own cross-field rule, as above


@schemathesis.hook
def before_call(context: Any, case: Case[Any], kwargs: dict[str, Any]) -> None:
    if not _positive(case):
        return
    # Copies: generators share the containers of one case with the next.
    operation = (case.method.upper(), case.path)
    if operation == ("POST", "/api/v1/jobs") and isinstance(case.body, dict):
        case.body = body = copy.deepcopy(case.body)
        _submission(body)
        headers = copy.copy(case.headers)
        for name in [h for h in headers if h.lower() == "idempotency-key"]:
            # A key names one submission: the same key with another body is refused by design.
            digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            headers[name] = f"{headers[name][:180]}-{digest[:32]}"
        case.headers = headers
    elif operation == ("POST", "/v1/jobs/submit") and case.query:
        case.query = dict(case.query)
        _upstream_submission(case.query)
    elif operation == ("GET", "/api/v1/events") and case.headers:
        # Schemathesis 4.32's coverage phase sends Last-Event-ID 0 as a positive case
        # (a value outside the header's own pattern): such a case is not one.
        headers = copy.copy(case.headers)
        for name in [h for h, v in headers.items() if h.lower() == "last-event-id"]:
            if not full(EVENT_ID, str(headers[name])):
                del headers[name]
        case.headers = headers
    elif operation == ("GET", "/api/v1/jobs") and case.query:
        # A cursor is the server's own, and the document cannot name one.
        case.query = {k: v for k, v in case.query.items() if k != "cursor"}
