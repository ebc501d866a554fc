"""The flux backend's pure parts: states from journal entries, records, errors, ids (no Flux)."""

from __future__ import annotations

import base64
import errno
import os
from pathlib import Path
from typing import Any

import pytest

from sidecar.backends.flux.events import JobStates, parse_event_id
from sidecar.backends.flux.gpus import count_gpus
from sidecar.backends.flux.jobs import flux_error, job_from_record, returncode, submit_error
from sidecar.backends.flux.paging import Cursor, decode_cursor, encode_cursor
from sidecar.backends.flux.session import locate_broker, operator_uris
from sidecar.backends.flux.streams import split_lines
from sidecar.errors import (
    BrokerUnavailable,
    Conflict,
    InvalidCursor,
    InvalidJobspec,
    InvalidRequest,
    JobInactive,
    JobNotFound,
    PermissionDenied,
)
from sidecar.models import JobResult, JobState

Entry = tuple[str, dict[str, Any]]
PENDING: list[Entry] = [
    ("submit", {"userid": 0, "urgency": 16, "flags": 0, "version": 1}),
    ("validate", {}),
    ("depend", {}),
    ("priority", {"priority": 16}),
]
FORGED_CURSORS = ("flux:1.0:x", "flux:nan:1", "flux:-1.0:1", "flux:1.0:2:maybe", "local:1")
RAN: list[Entry] = [*PENDING, ("alloc", {}), ("start", {})]
ENDED: list[Entry] = [("release", {"ranks": "all", "final": True}), ("free", {}), ("clean", {})]


def changes(entries: list[Entry]) -> list[tuple[JobState, JobResult | None]]:
    states = JobStates()
    found = [states.apply(7, name, context) for name, context in entries]
    return [change for change in found if change is not None]


def _exception(kind: str, severity: int = 0) -> Entry:
    return ("exception", {"type": kind, "severity": severity, "note": ""})


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        pytest.param(
            [*RAN, ("finish", {"status": 0}), *ENDED],
            ["DEPEND", "PRIORITY", "SCHED", "RUN", "CLEANUP", "INACTIVE"],
            id="completed",
        ),
        pytest.param(
            [*PENDING, _exception("cancel"), ("clean", {})],
            ["DEPEND", "PRIORITY", "SCHED", "CLEANUP", "INACTIVE"],
            id="cancelled-pending",
        ),
        pytest.param(
            [*PENDING, ("urgency", {"urgency": 0}), ("priority", {"priority": 0})],
            ["DEPEND", "PRIORITY", "SCHED", "PRIORITY", "SCHED"],
            id="urgency-back-to-priority",
        ),
        pytest.param(
            [*RAN, _exception("note", 2), ("finish", {"status": 0})],
            ["DEPEND", "PRIORITY", "SCHED", "RUN", "CLEANUP"],
            id="nonfatal-exception",
        ),
    ],
)
def test_states_follow_rfc21(entries: list[Entry], expected: list[str]) -> None:
    assert [state.value for state, _ in changes(entries)] == expected


@pytest.mark.parametrize(
    ("entries", "result"),
    [
        pytest.param([*RAN, ("finish", {"status": 0}), *ENDED], "COMPLETED", id="completed"),
        pytest.param([*RAN, ("finish", {"status": 256}), *ENDED], "FAILED", id="exit-1"),
        pytest.param(
            [*RAN, _exception("cancel"), ("finish", {"status": 15}), *ENDED],
            "CANCELED",
            id="cancel",
        ),
        pytest.param(
            [*RAN, _exception("timeout"), ("finish", {"status": 9}), *ENDED],
            "TIMEOUT",
            id="timeout",
        ),
        pytest.param(
            [*RAN, _exception("exec"), ("finish", {"status": 0}), *ENDED], "FAILED", id="fatal"
        ),
        pytest.param(
            [*RAN, _exception("note", 1), ("finish", {"status": 0}), *ENDED],
            "COMPLETED",
            id="nonfatal",
        ),
    ],
)
def test_result_follows_job_list(entries: list[Entry], result: str) -> None:
    state, found = changes(entries)[-1]
    assert (state, found) == (JobState.INACTIVE, JobResult(result))


def test_entries_of_unknown_jobs_are_ignored_and_finished_jobs_forgotten() -> None:
    states = JobStates()
    assert states.apply(9, "alloc", {}) is None
    for name, context in [*RAN, ("finish", {"status": 0}), *ENDED]:
        states.apply(9, name, context)
    assert len(states) == 0


def test_event_ids_parse_and_reject_strangers() -> None:
    point = parse_event_id("0a1b2c3d-42-1795965401.048827")
    assert (point.boot, point.seq, point.timestamp) == ("0a1b2c3d", 42, 1795965401.048827)
    for bad in ("", "42", "boot-1-2", "0a1b2c3d-x-1.0", "0a1b2c3d-1-1.0-extra"):
        with pytest.raises(InvalidRequest):
            parse_event_id(bad)


def test_cursor_round_trip_and_garbage() -> None:
    for cursor in (Cursor(1795965401.0488272, 20283654144), Cursor(1.5, 3, True)):
        assert decode_cursor(encode_cursor(cursor)) == cursor
    forged = [base64.urlsafe_b64encode(text.encode()).decode() for text in FORGED_CURSORS]
    for bad in ("garbage!", "bG9jYWw6MTIz", *forged):
        with pytest.raises(InvalidCursor):
            decode_cursor(bad)


def test_records_become_jobs() -> None:
    record = {
        "id": 20283654144,
        "userid": os.getuid(),
        "urgency": 16,
        "t_submit": 10.0,
        "t_run": 11.0,
        "t_cleanup": 12.0,
        "t_inactive": 13.0,
        "state": 64,
        "name": "hostname",
        "ntasks": 2,
        "ncores": 2,
        "nnodes": 2,
        "nodelist": "vm,vm",
        "result": 8,
        "waitstatus": 9,
        "exception_occurred": True,
        "exception_type": "timeout",
        "exception_note": "resource allocation expired",
        "exception_severity": 0,
    }
    job = job_from_record(record)
    assert (job.id, job.id_dec) == ("ƒXuQ2hu", "20283654144")
    assert (job.state, job.result, job.returncode) == (JobState.INACTIVE, JobResult.TIMEOUT, -9)
    assert job.exception is not None
    assert job.exception.type == "timeout"
    assert (job.nodes, job.tasks, job.cores, job.nodelist) == (2, 2, 2, "vm,vm")
    pending = job_from_record({"id": 1, "state": 8, "t_submit": 5.0, "result": 0, "userid": 0})
    assert (pending.state, pending.result, pending.returncode, pending.nodes) == (
        JobState.SCHED,
        None,
        None,
        0,
    )


@pytest.mark.parametrize(
    ("status", "code"), [(0, 0), (3 << 8, 3), (143 << 8, 143), (9, -9), (None, None)]
)
def test_returncode_is_what_flux_jobs_shows(status: int | None, code: int | None) -> None:
    assert returncode(status) == code


@pytest.mark.parametrize(
    ("errnum", "message", "error"),
    [
        (errno.ENOENT, "job is inactive", JobInactive),
        (errno.EINVAL, "job is inactive", JobInactive),
        (errno.ENOENT, "unknown job id", JobNotFound),
        (errno.EINVAL, "job is not running", Conflict),
        (errno.EPERM, "guests may only cancel their own jobs", PermissionDenied),
        (errno.ECONNRESET, "Connection reset by peer", BrokerUnavailable),
    ],
)
def test_flux_errors_map_to_domain_errors(errnum: int, message: str, error: type) -> None:
    assert isinstance(flux_error(OSError(errnum, message), 12345, "cancel"), error)


def test_refused_submissions_keep_fluxs_message() -> None:
    refused = submit_error(OSError(errno.EPERM, "Missing key (attributes)"))
    assert isinstance(refused, InvalidJobspec)
    assert refused.detail == "Missing key (attributes)"
    owner = submit_error(OSError(errno.EPERM, "only the instance owner can submit with urgency"))
    assert isinstance(owner, PermissionDenied)


def test_output_splits_after_newlines_only() -> None:
    assert split_lines("a\nb\r\nc\x0bd") == ["a\n", "b\r\n", "c\x0bd"]
    assert split_lines("end\n") == ["end\n"]
    assert split_lines("") == []


def test_broker_is_flux_uri_else_the_operators_socket(tmp_path: Path) -> None:
    mount = tmp_path / "mnt-flux"
    assert locate_broker({"FLUX_URI": "ssh://host/run/flux/local"}, mount) == (
        "ssh://host/run/flux/local",
        "",
    )
    socket_path = tmp_path / "local"
    uri = f"local://{socket_path}"
    uri_found, waiting = locate_broker({"FLUX_URI": uri}, mount)
    assert (uri_found, str(socket_path) in waiting) == (None, True)
    socket_path.touch()
    assert locate_broker({"FLUX_URI": uri}, mount) == (uri, "")
    uri_found, waiting = locate_broker({}, mount)
    assert uri_found is None
    assert f"{mount}/config/run/flux/local or {mount}/view/run/flux/local" in waiting
    old = mount / "view/run/flux/local"
    old.parent.mkdir(parents=True)
    old.touch()
    assert locate_broker({}, mount) == (f"local://{old}", "")


def test_the_socket_the_operators_script_announces_comes_first(tmp_path: Path) -> None:
    mount = tmp_path / "mnt-flux"
    announced = tmp_path / "elsewhere/local"
    for path in (announced, mount / "config/run/flux/local"):
        path.parent.mkdir(parents=True)
        path.touch()
    (mount / "flux-view.sh").write_text(
        f"#!/bin/bash\nexport PATH=/usr/bin\nexport fluxsocket=local://{announced}\n"
    )
    assert operator_uris(mount)[0] == f"local://{announced}"
    assert locate_broker({}, mount) == (f"local://{announced}", "")
    (mount / "flux-view.sh").write_bytes(b"\xff\xfe not text")
    assert locate_broker({}, mount) == (f"local://{mount}/config/run/flux/local", "")


@pytest.mark.parametrize(
    ("resources", "gpus"),
    [
        ({"execution": {"R_lite": [{"rank": "0", "children": {"core": "0-1", "gpu": "0-1"}}]}}, 2),
        ({"execution": {"R_lite": [{"rank": "0-3", "children": {"core": "0", "gpu": "1,3"}}]}}, 8),
        ({"execution": {"R_lite": [{"rank": "0-1", "children": {"core": "0-7"}}]}}, 0),
        ('{"execution": {"R_lite": [{"rank": "2", "children": {"gpu": "0-3"}}]}}', 4),
        ("not json", 0),
        (None, 0),
    ],
    ids=["one-rank", "ranks-times-ids", "no-gpus", "json-text", "garbage", "none"],
)
def test_gpus_are_counted_from_r(resources: object, gpus: int) -> None:
    assert count_gpus(resources) == gpus
