"""One job of the local backend: its record, eventlog, output, and task processes.

Each task is a real process, the leader of its own process group, so that a
cancel, a signal or a time limit reaches everything the task started.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sidecar.backends.base import Stream
from sidecar.jobid import encode_f58
from sidecar.jobspec import job_environment, job_name
from sidecar.models import (
    Job,
    JobEvent,
    JobException,
    JobRequest,
    JobResult,
    JobState,
    OutputLine,
)

MAX_OUTPUT_BYTES = 16 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024
KILL_GRACE_SECONDS = 5.0


@dataclass(eq=False)
class LocalJob:
    jobid: int
    request: JobRequest
    user: str
    hostname: str
    cwd: str
    state: JobState = JobState.DEPEND
    result: JobResult | None = None
    returncode: int | None = None
    exception: JobException | None = None
    t_submit: float = field(default_factory=time.time)
    t_run: float | None = None
    t_cleanup: float | None = None
    t_inactive: float | None = None
    eventlog: list[JobEvent] = field(default_factory=list)
    output: list[OutputLine] = field(default_factory=list)
    output_bytes: int = 0
    pgids: list[int] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def f58(self) -> str:
        return encode_f58(self.jobid)

    @property
    def name(self) -> str:
        """The job's name, or its program's base name as Flux shows it."""
        req = self.request
        name = job_name(req)
        return name or (req.command[0].rsplit("/", 1)[-1] if req.command else "job")

    @property
    def cores(self) -> int:
        return self.request.tasks * self.request.cores_per_task

    @property
    def ended(self) -> bool:
        return self.state is JobState.INACTIVE

    def changed(self) -> asyncio.Event:
        """An event set at the next change of the eventlog or output."""
        return self._wake

    def _notify(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    def post(self, name: str, **context: Any) -> JobEvent:
        event = JobEvent(name=name, timestamp=time.time(), context=context)
        self.eventlog.append(event)
        self._notify()
        return event

    def add_output(self, stream: Stream, rank: int, data: str) -> None:
        if self.output_bytes >= MAX_OUTPUT_BYTES:
            return
        self.output_bytes += len(data)
        if self.output_bytes >= MAX_OUTPUT_BYTES:
            data = "[flux-sidecar: output truncated at 16 MiB]\n"
            stream = "stderr"
        self.output.append(OutputLine(stream=stream, rank=rank, data=data))
        self._notify()

    def to_model(self) -> Job:
        req = self.request
        return Job(
            id=self.f58,
            id_dec=str(self.jobid),
            name=self.name,
            user=self.user,
            state=self.state,
            result=self.result,
            returncode=self.returncode,
            exception=self.exception,
            nodes=1,
            tasks=req.tasks,
            cores=self.cores,
            gpus=req.tasks * req.gpus_per_task,
            nodelist=self.hostname if self.t_run is not None else "",
            queue=req.queue,
            urgency=req.urgency,
            t_submit=self.t_submit,
            t_run=self.t_run,
            t_cleanup=self.t_cleanup,
            t_inactive=self.t_inactive,
            cwd=req.cwd or self.cwd,
        )

    async def follow_output(
        self, follow: bool, streams: Collection[Stream]
    ) -> AsyncIterator[OutputLine]:
        index = 0
        while True:
            wake = self._wake
            while index < len(self.output):
                line = self.output[index]
                index += 1
                if line.stream in streams:
                    yield line
            if not follow or self.ended:
                return
            await wake.wait()

    async def follow_events(self) -> AsyncIterator[JobEvent]:
        index = 0
        while True:
            wake = self._wake
            while index < len(self.eventlog):
                event = self.eventlog[index]
                index += 1
                yield event
                if event.name == "clean":
                    return
            await wake.wait()

    def kill(self, signum: int) -> None:
        for pgid in self.pgids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signum)


async def _pump(job: LocalJob, reader: asyncio.StreamReader, stream: Stream, rank: int) -> None:
    pending = b""
    while chunk := await reader.read(65536):
        pending += chunk
        while (cut := pending.find(b"\n")) >= 0 or len(pending) >= MAX_LINE_BYTES:
            end = cut + 1 if cut >= 0 else MAX_LINE_BYTES
            job.add_output(stream, rank, pending[:end].decode(errors="replace"))
            pending = pending[end:]
    if pending:
        job.add_output(stream, rank, pending.decode(errors="replace"))


def _task_env(job: LocalJob, rank: int, tmpdir: str | None) -> dict[str, str]:
    env = job_environment(job.request.env)
    if tmpdir is not None:
        env["FLUX_JOB_TMPDIR"] = tmpdir
    env.update(
        FLUX_JOB_ID=job.f58,
        FLUX_JOB_SIZE=str(job.request.tasks),
        FLUX_JOB_NNODES="1",
        FLUX_TASK_RANK=str(rank),
        FLUX_TASK_LOCAL_ID=str(rank),
    )
    return env


async def _run_task(job: LocalJob, rank: int, command: list[str], tmpdir: str | None = None) -> int:
    """Run one task to its end; its exit status as Flux reports it (128+N when killed)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_task_env(job, rank, tmpdir),
            cwd=job.request.cwd or job.cwd,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        missing_cwd = exc.filename == (job.request.cwd or job.cwd)
        what = f"cwd {exc.filename}" if missing_cwd else command[0]
        job.add_output(
            "stderr", rank, f"flux-shell: task {rank}: {what}: No such file or directory\n"
        )
        return 127
    except OSError as exc:
        job.add_output("stderr", rank, f"flux-shell: task {rank}: {command[0]}: {exc.strerror}\n")
        return 126
    job.pgids.append(proc.pid)
    assert proc.stdout is not None
    assert proc.stderr is not None
    pumps = asyncio.gather(
        _pump(job, proc.stdout, "stdout", rank), _pump(job, proc.stderr, "stderr", rank)
    )
    status = await proc.wait()
    # What the task left running in its process group ends with it, as in Flux,
    # and it would otherwise hold the output pipes open.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    await pumps
    return 128 - status if status < 0 else status


async def run_tasks(job: LocalJob) -> int:
    """Run every task of the job; the largest exit status, as Flux's job shell reports.

    A script is written, executable, to a directory of the job's own (Flux's
    ``{{tmpdir}}``) and run there: once for a batch job (its one "instance"
    holds the job's cores), or as each task's program.
    """
    request = job.request
    if request.script is None:
        command = list(request.command or [])
        return max(
            await asyncio.gather(*(_run_task(job, r, command) for r in range(request.tasks)))
        )
    with tempfile.TemporaryDirectory(prefix="flux-sidecar-job-") as tmpdir:
        script = Path(tmpdir) / "script"
        script.write_text(request.script, encoding="utf-8")
        script.chmod(0o700)
        ranks = 1 if request.batch else request.tasks
        return max(
            await asyncio.gather(*(_run_task(job, r, [str(script)], tmpdir) for r in range(ranks)))
        )


async def terminate(job: LocalJob) -> None:
    """SIGTERM the job's tasks, then SIGKILL whatever is left after a grace period."""
    job.kill(signal.SIGTERM)
    try:
        await asyncio.wait_for(job.done.wait(), KILL_GRACE_SECONDS)
    except asyncio.TimeoutError:
        job.kill(signal.SIGKILL)
