"""The client commands of ``flux-sidecar``: each one a call of ``SidecarClient``, shown.

Exit codes that scripts can rely on (also in the README):

    0    success                       5    conflict (e.g. the job has ended)
    1    any other error               6    request refused as invalid (400, 413, 422)
    2    usage error                   7    server unreachable or unavailable (502-504)
    3    authentication failed         124  ``wait --timeout`` expired
         (or permission denied)
    4    no such job (or file)         130  interrupted (Ctrl-C)

``wait --exit-code`` exits with the job's own return code instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from sidecar.cli import format as fmt
from sidecar.client import (
    APIError,
    AuthFailed,
    ClientError,
    Conflict,
    NotFound,
    ServerUnreachable,
    SidecarClient,
    Unavailable,
    ValidationFailed,
    WaitTimeout,
)
from sidecar.models import IdleStatus, Job, JobRequest, JobResult, JobState

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_AUTH, EXIT_NOT_FOUND, EXIT_CONFLICT, EXIT_INVALID, EXIT_UNAVAILABLE = 3, 4, 5, 6, 7
EXIT_TIMEOUT, EXIT_INTERRUPTED = 124, 130

Command = Callable[[SidecarClient, argparse.Namespace], int]


def out(text: str = "", stream: TextIO | None = None) -> None:
    print(text, file=stream or sys.stdout, flush=True)


def _env_pairs(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--env {pair!r}: expected NAME=VALUE")
        env[key] = value
    return env


def _job_request(args: argparse.Namespace) -> JobRequest:
    fields: dict[str, Any] = {
        key: value
        for key, value in (
            ("name", args.name),
            ("tasks", args.tasks),
            ("nodes", args.nodes),
            ("cores_per_task", args.cores_per_task),
            ("gpus_per_task", args.gpus_per_task),
            ("time_limit", args.time_limit),
            ("cwd", args.cwd),
            ("queue", args.queue),
            ("urgency", args.urgency),
        )
        if value is not None
    }
    if args.exclusive:
        fields["exclusive"] = True
    if args.env:
        fields["env"] = _env_pairs(args.env)
    if args.dependency:
        fields["dependencies"] = args.dependency
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if sum(bool(given) for given in (command, args.jobspec, args.script)) > 1:
        raise ValueError("give one of a command, --script or --jobspec")
    if args.no_batch and args.script is None:
        raise ValueError("--no-batch is for --script")
    if args.jobspec is not None:
        fields["jobspec"] = json.loads(_read(args.jobspec))
    elif args.script is not None:
        fields["script"] = _read(args.script)
        if args.no_batch:
            fields["batch"] = False
    elif not command:
        raise ValueError("no command: flux-sidecar submit [OPTIONS] COMMAND [ARG...]")
    else:
        fields["command"] = command
    return JobRequest(**fields)


def _read(path: str) -> str:
    """A file's text, or standard input's for '-'."""
    return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")


def submit(client: SidecarClient, args: argparse.Namespace) -> int:
    job = client.submit(_job_request(args), idempotency_key=args.idempotency_key)
    out(fmt.to_json(job) if args.json else job.id)
    return EXIT_OK


def jobs(client: SidecarClient, args: argparse.Namespace) -> int:
    limit = None if args.all else args.limit
    found = client.jobs(
        state=args.state, result=args.result, name=args.name, user=args.user, limit=limit
    )
    if args.json:
        for job in found:
            out(fmt.to_json(job))
        return EXIT_OK
    out(fmt.table(fmt.JOB_HEADERS, fmt.job_rows(list(found), time.time())))
    return EXIT_OK


def job(client: SidecarClient, args: argparse.Namespace) -> int:
    found = client.job(args.id)
    out(fmt.to_json(found) if args.json else fmt.job_details(found, time.time()))
    return EXIT_OK


def output(client: SidecarClient, args: argparse.Namespace) -> int:
    streams = ["stdout", "stderr"] if args.stream == "both" else [args.stream]
    if not (args.follow or args.json):
        sys.stdout.write(client.output(args.id, streams=streams))
        sys.stdout.flush()
        return EXIT_OK
    for line in client.output_lines(args.id, follow=args.follow, streams=streams):
        if args.json:
            out(fmt.to_json(line))
        else:
            sys.stdout.write(line.data)
            sys.stdout.flush()
    return EXIT_OK


def events(client: SidecarClient, args: argparse.Namespace) -> int:
    if args.id is not None:
        for event in client.job_events(args.id):
            out(fmt.to_json(event) if args.json else fmt.job_event(event))
        return EXIT_OK
    for change in client.events(after=args.after):
        out(fmt.to_json(change) if args.json else fmt.state_change(change))
    return EXIT_OK


def cancel(client: SidecarClient, args: argparse.Namespace) -> int:
    code = EXIT_OK
    for job_id in args.ids:
        try:
            accepted = client.cancel(job_id, args.reason)
        except APIError as exc:
            code = report(exc)
            continue
        out(fmt.to_json(accepted) if args.json else f"{accepted.id}: {accepted.detail}")
    return code


def signal(client: SidecarClient, args: argparse.Namespace) -> int:
    accepted = client.signal(args.id, args.signal)
    out(fmt.to_json(accepted) if args.json else f"{accepted.id}: {accepted.detail}")
    return EXIT_OK


class Progress:
    """``ƒ2Ex... RUN 12s`` rewritten in place on a terminal; nothing at all otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._shown = stream.isatty()

    def __call__(self, job: Job, elapsed: float) -> None:
        if self._shown:
            self._stream.write(f"\r\x1b[K{job.id} {job.state.value} {fmt.duration(elapsed)}")
            self._stream.flush()

    def done(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def exit_code_of(job: Job) -> int:
    """The job's return code as a process exit status; 1 for a job that ended without one."""
    if job.returncode is not None:
        return job.returncode if 0 <= job.returncode <= 255 else 1
    return EXIT_OK if job.result is JobResult.COMPLETED else EXIT_ERROR


def wait(client: SidecarClient, args: argparse.Namespace) -> int:
    progress = Progress(sys.stderr)
    try:
        found = client.wait(args.id, args.state, timeout=args.timeout, on_progress=progress)
    finally:
        progress.done()
    if args.json:
        out(fmt.to_json(found))
    elif sys.stdout.isatty():
        elapsed = fmt.duration(fmt.runtime(found, time.time()))
        out(f"{found.id} {found.state.value} {fmt.status(found)} {elapsed}".rstrip())
    if args.exit_code and found.state is JobState.INACTIVE:
        return exit_code_of(found)
    return EXIT_OK


def resources(client: SidecarClient, args: argparse.Namespace) -> int:
    found = client.resources()
    out(fmt.to_json(found) if args.json else fmt.resources_table(found))
    return EXIT_OK


def info(client: SidecarClient, args: argparse.Namespace) -> int:
    found = client.info()
    if args.json:
        out(fmt.to_json(found))
        return EXIT_OK
    backend = found.backend
    rows = [
        ("version", found.version),
        ("backend", f"{backend.kind}, {backend.size} node(s)"),
        ("flux", backend.flux_version or ""),
        ("broker", backend.broker_version or ""),
        ("uptime", fmt.duration(found.uptime)),
        ("auth", "on" if found.auth else "OFF"),
        ("idle", _idle(found.idle_shutdown)),
    ]
    out("\n".join(f"{key:<8} {value}".rstrip() for key, value in rows))
    return EXIT_OK


def _idle(status: IdleStatus | None) -> str:
    if status is None:
        return "teardown off"
    return (
        f"{fmt.duration(status.idle_seconds)} of {fmt.duration(status.after_seconds)}: "
        f"shuts down in {fmt.duration(status.seconds_left)} unless a job or call comes"
    )


def shutdown(client: SidecarClient, args: argparse.Namespace) -> int:
    status = client.shutdown_status() if args.status else client.shutdown(args.mode, args.timeout)
    if args.json:
        out(fmt.to_json(status))
        return EXIT_OK
    shown = status.model_dump(include={"phase", "mode", "reason", "active_jobs", "elapsed"})
    out("  ".join(f"{key}={value}" for key, value in shown.items() if value is not None))
    return EXIT_OK


def report(exc: ClientError) -> int:
    """Say what went wrong on stderr; the exit code for it."""
    out(f"flux-sidecar: {exc}", sys.stderr)
    if isinstance(exc, ValidationFailed):
        for error in exc.errors:
            out(f"  {error.field}: {error.message}", sys.stderr)
    codes: list[tuple[type[ClientError], int]] = [
        (AuthFailed, EXIT_AUTH),
        (NotFound, EXIT_NOT_FOUND),
        (Conflict, EXIT_CONFLICT),
        (ValidationFailed, EXIT_INVALID),
        (Unavailable, EXIT_UNAVAILABLE),
        (ServerUnreachable, EXIT_UNAVAILABLE),
        (WaitTimeout, EXIT_TIMEOUT),
    ]
    return next((code for kind, code in codes if isinstance(exc, kind)), EXIT_ERROR)


def run(command: Command, args: argparse.Namespace) -> int:
    """Run one client command with the settings of ``--url`` and ``--token``."""
    try:
        with SidecarClient(args.url, args.token) as client:
            return command(client, args)
    except ClientError as exc:
        return report(exc)
    except ValidationError as exc:
        out("flux-sidecar: invalid job request", sys.stderr)
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "request"
            out(f"  {field}: {err['msg'].removeprefix('Value error, ')}", sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, and let no flush at exit complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (ValueError, OSError) as exc:
        out(f"flux-sidecar: {exc}", sys.stderr)
        return EXIT_USAGE
