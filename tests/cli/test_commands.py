"""``flux-sidecar`` client commands against a real server process."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.cli.parser import build_parser, main
from sidecar.client import SidecarClient
from sidecar.models import Info, Job, JobEvent, OutputLine, Resources, StateChange
from tests.support.serverproc import ServerProcess, free_port, run_server, submitting

CLIENT_COMMANDS = [
    "submit",
    "jobs",
    "job",
    "output",
    "events",
    "cancel",
    "signal",
    "wait",
    "resources",
    "info",
    "shutdown",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with run_server(tmp_path_factory.mktemp("cli")) as process:
        yield process


@pytest.fixture
def env(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("FLUX_SIDECAR_URL", server.url)
    monkeypatch.setenv("FLUX_SIDECAR_TOKEN", server.token)
    return {**os.environ, "FLUX_SIDECAR_URL": server.url, "FLUX_SIDECAR_TOKEN": server.token}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def submitted(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    code, out, err = run(capsys, "submit", *command)
    assert code == 0, err
    return out.strip()


@pytest.mark.parametrize("command", CLIENT_COMMANDS, ids=str)
def test_every_command_has_help_with_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert f"example:\n  flux-sidecar {command}" in text
    assert "--url" in text
    assert "--json" in text


def test_submit_wait_output_job_jobs(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    script = "echo hello $WHO; exit 3"
    options = ["-n", "2", "--env", "WHO=world", "--name", "greet"]
    job_id = submitted(capsys, *options, "--", "sh", "-c", script)
    assert job_id.startswith("ƒ")
    assert run(capsys, "wait", "--exit-code", job_id) == (3, "", "")
    assert run(capsys, "wait", job_id)[0] == 0
    assert run(capsys, "output", job_id)[1] == "hello world\nhello world\n"
    _, out, _ = run(capsys, "output", "--json", "--stream", "stdout", job_id)
    lines = [OutputLine.model_validate_json(line) for line in out.splitlines()]
    assert sorted(line.rank for line in lines) == [0, 1]
    _, out, _ = run(capsys, "job", job_id)
    assert "returncode  3" in out
    assert Job.model_validate_json(run(capsys, "job", "--json", job_id)[1]).name == "greet"
    _, out, _ = run(capsys, "jobs", "--name", "greet")
    header, row = out.splitlines()
    assert header.split() == [
        "ID",
        "STATUS",
        "NAME",
        "USER",
        "TASKS",
        "NODES",
        "RUNTIME",
        "SUBMITTED",
    ]
    assert row.startswith(f"{job_id}  FAILED rc=3  greet")
    _, out, _ = run(capsys, "jobs", "--json", "--result", "FAILED", "--all")
    assert job_id in [Job.model_validate_json(line).id for line in out.splitlines()]


def test_output_follow_streams_until_the_end(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = submitted(capsys, "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.1; done")
    assert run(capsys, "output", "--follow", job_id) == (0, "1\n2\n3\n", "")


def test_job_events_resources_info(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    job_id = submitted(capsys, "true")
    _, out, _ = run(capsys, "events", "--json", job_id)
    assert [JobEvent.model_validate_json(line).name for line in out.splitlines()][-1] == "clean"
    assert "  submit" in run(capsys, "events", job_id)[1]
    assert Resources.model_validate_json(run(capsys, "resources", "--json")[1]).nodes.total == 1
    assert run(capsys, "resources")[1].splitlines()[1].split()[0] == "nodes"
    assert Info.model_validate_json(run(capsys, "info", "--json")[1]).backend.kind == "local"
    assert "backend  local" in run(capsys, "info")[1]
    assert "idle     teardown off" in run(capsys, "info")[1]


def test_info_shows_the_time_left_before_idle_teardown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with run_server(tmp_path, args=("--backend", "local", "--idle-shutdown", "2h")) as server:
        code, out, _ = run(capsys, "info", "--url", server.url, "--token", server.token)
    assert code == 0
    idle = next(line for line in out.splitlines() if line.startswith("idle "))
    assert " of 2h00m: shuts down in 1h59m unless a job or call comes" in idle


def test_cancel_and_signal(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    job_id = submitted(capsys, "sleep", "60")
    assert run(capsys, "wait", "--state", "run", job_id)[0] == 0
    assert run(capsys, "signal", job_id, "CONT")[0] == 0
    other = submitted(capsys, "sleep", "60")
    code, out, _ = run(capsys, "cancel", "--reason", "done here", job_id, other)
    assert code == 0
    assert out.splitlines() == [f"{job_id}: cancel requested", f"{other}: cancel requested"]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["job", "ƒ2"], 4, "not found"),
        (["job", "no-such-id"], 6, "invalid job id"),
        (["submit", "-n", "0", "true"], 6, "tasks"),
        (["submit"], 2, "no command"),
        (["submit", "--env", "NOEQUALS", "true"], 2, "NAME=VALUE"),
        (["jobs", "--token", "wrong-token"], 3, "invalid credentials"),
        (["jobs", "--url", "http://127.0.0.1:{closed}"], 7, "cannot reach"),
        (["jobs", "--state", "RUNNING"], 6, "unknown state"),
    ],
    ids=[
        "not-found",
        "bad-id",
        "invalid",
        "no-command",
        "bad-env",
        "auth",
        "unreachable",
        "bad-filter",
    ],
)
def test_exit_codes(
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    message: str,
) -> None:
    argv = [arg.replace("{closed}", str(free_port())) for arg in argv]
    got, out, err = run(capsys, *argv)
    assert got == code
    assert message in err
    assert out == ""


def test_conflict_and_wait_timeout(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    done = submitted(capsys, "true")
    run(capsys, "wait", done)
    assert run(capsys, "cancel", done)[0] == 5
    slow = submitted(capsys, "sleep", "60")
    code, _, err = run(capsys, "wait", "--timeout", "0", slow)
    assert code == 124
    assert "still" in err
    run(capsys, "cancel", slow)


def test_wait_is_quiet_when_piped(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    job_id = submitted(capsys, "sleep", "0.3")
    piped = subprocess.run(
        [sys.executable, "-m", "sidecar", "wait", job_id], env=env, capture_output=True, check=False
    )
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, b"", b"")


def test_wait_shows_progress_on_a_terminal(env: dict[str, str], server: ServerProcess) -> None:
    with SidecarClient(server.url, server.token) as client:
        job = client.submit(command=["sleep", "60"])
        leader, follower = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "sidecar", "wait", job.id],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=follower,
        )
        os.close(follower)
        screen = b""
        try:
            while f"{job.id} RUN ".encode() not in screen:
                screen += os.read(leader, 4096)  # progress, rewritten in place
            client.cancel(job.id)
            while True:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # EIO: the terminal's last writer has gone
                    break
                if not chunk:
                    break
                screen += chunk
        finally:
            os.close(leader)
            if proc.poll() is None:
                proc.kill()
        assert proc.wait(30) == 0
    text = screen.decode()
    assert f"\r\x1b[K{job.id} RUN " in text
    assert f"{job.id} INACTIVE CANCELED" in text  # the summary, on the terminal's stdout


def test_all_events_follow_until_interrupted(env: dict[str, str], server: ServerProcess) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sidecar", "events", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        with submitting(server, "events-cli", 120):
            assert proc.stdout is not None
            while True:
                line = proc.stdout.readline()
                assert line, "the event stream ended"
                if StateChange.model_validate_json(line).state.value == "INACTIVE":
                    break
            proc.send_signal(signal.SIGINT)
            assert proc.wait(30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_shutdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with run_server(tmp_path) as server:
        args = ["--url", server.url, "--token", server.token]
        code, out, _ = run(capsys, "shutdown", "--mode", "now", *args)
        assert code == 0
        assert "mode=now" in out
        assert server.wait_exit(60) == 0


def test_shutdown_json_and_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with run_server(tmp_path) as server:
        args = ["--url", server.url, "--token", server.token, "--json"]
        assert json.loads(run(capsys, "shutdown", "--status", *args)[1])["phase"] == "serving"
        assert json.loads(run(capsys, "shutdown", "--mode", "drain", *args)[1])["mode"] == "drain"
        assert server.wait_exit(60) == 0


def test_submit_a_batch_script_from_a_file(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\necho from the script, rank ${FLUX_TASK_RANK:-0}\n")
    job_id = submitted(capsys, "--script", str(script), "-n", "2")
    assert run(capsys, "wait", "--exit-code", job_id)[0] == 0
    assert run(capsys, "output", job_id)[1] == "from the script, rank 0\n"
    each = submitted(capsys, "--script", str(script), "--no-batch", "-n", "2")
    assert run(capsys, "wait", "--exit-code", each)[0] == 0
    assert sorted(run(capsys, "output", each)[1].splitlines()) == [
        "from the script, rank 0",
        "from the script, rank 1",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--script", "{script}", "--", "true"], "one of a command, --script or --jobspec"),
        (["--no-batch", "--", "true"], "--no-batch is for --script"),
        (["--script", "{plain}"], "starts with #!"),
    ],
    ids=["script-and-command", "no-batch-alone", "no-shebang"],
)
def test_submit_refuses_a_bad_script(
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    argv: list[str],
    message: str,
) -> None:
    (tmp_path / "ok.sh").write_text("#!/bin/sh\ntrue\n")
    (tmp_path / "plain.sh").write_text("true\n")
    paths = {"script": str(tmp_path / "ok.sh"), "plain": str(tmp_path / "plain.sh")}
    code, _, err = run(capsys, "submit", *(a.format(**paths) for a in argv))
    assert code in (2, 6), err
    assert message in err
