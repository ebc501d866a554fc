"""``flux-sidecar put``, ``get``, ``ls`` and ``rm`` against a real server process."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.cli.parser import build_parser, main
from sidecar.filemodels import FileEntry
from tests.support.serverproc import ServerProcess, run_server

MAX_UPLOAD = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"FLUX_SIDECAR_MAX_UPLOAD_BYTES": str(MAX_UPLOAD)}
    with run_server(tmp_path_factory.mktemp("cli-files"), env=env) as process:
        yield process


@pytest.fixture
def root(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("FLUX_SIDECAR_URL", server.url)
    monkeypatch.setenv("FLUX_SIDECAR_TOKEN", server.token)
    assert server.files_root is not None
    yield server.files_root
    server.empty_files_root()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def program(*argv: str) -> list[str]:
    return [sys.executable, "-m", "sidecar", *argv]


@pytest.mark.parametrize("command", ["put", "get", "ls", "rm"])
def test_help_has_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    assert f"example:\n  flux-sidecar {command}" in capsys.readouterr().out


def test_put_submit_get_a_job_reads_what_was_put(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local = tmp_path / "numbers.txt"
    local.write_text("3\n1\n2\n")
    assert run(capsys, "put", "-p", str(local), "runs/1/") == (0, "runs/1/numbers.txt\n", "")
    code, job_id, err = run(capsys, "submit", "--", "sh", "-c", "sort runs/1/numbers.txt > out")
    assert code == 0, err
    assert run(capsys, "wait", "--exit-code", job_id.strip())[0] == 0
    saved = tmp_path / "sorted.txt"
    assert run(capsys, "get", "out", str(saved)) == (0, f"{saved}\n", "")
    assert saved.read_text() == "1\n2\n3\n"


def test_ls_as_a_table_and_as_json(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (root / "data").mkdir()
    (root / "data" / "a.csv").write_bytes(b"x" * 2048)
    (root / "data" / "latest").symlink_to("a.csv")
    (root / "data" / "sub").mkdir()
    code, table, _ = run(capsys, "ls", "data")
    assert code == 0
    lines = table.splitlines()
    assert lines[0].split() == ["TYPE", "SIZE", "MODIFIED", "NAME"]
    assert [line.split()[0] for line in lines[1:]] == ["file", "symlink", "dir"]
    assert "2.0 KiB" in lines[1]
    assert lines[2].endswith("latest -> a.csv")
    assert lines[3].endswith("sub/")
    code, out, _ = run(capsys, "ls", "--json", "data")
    entries = [FileEntry.model_validate_json(line) for line in out.splitlines()]
    assert [(e.path, e.size) for e in entries][:1] == [("data/a.csv", 2048)]


def test_stdin_and_stdout_carry_bytes(root: Path, server: ServerProcess) -> None:
    env = {**os.environ, "FLUX_SIDECAR_URL": server.url, "FLUX_SIDECAR_TOKEN": server.token}
    payload = bytes(range(256)) * 64
    put = subprocess.run(
        program("put", "-", "blob.bin"), input=payload, env=env, capture_output=True, timeout=60
    )
    assert (put.returncode, put.stdout) == (0, b"blob.bin\n"), put.stderr
    get = subprocess.run(program("get", "blob.bin", "-"), env=env, capture_output=True, timeout=60)
    assert (get.returncode, get.stdout, get.stderr) == (0, payload, b"")


def test_progress_on_a_terminal(root: Path, server: ServerProcess, tmp_path: Path) -> None:
    env = {**os.environ, "FLUX_SIDECAR_URL": server.url, "FLUX_SIDECAR_TOKEN": server.token}
    (tmp_path / "big.bin").write_bytes(b"\0" * (3 * 1024 * 1024))
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        program("put", str(tmp_path / "big.bin")),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the terminal's last writer has gone
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    assert b"big.bin  3.0 MiB / 3.0 MiB  100%" in screen
    assert screen.endswith(b"\r\x1b[K")


def test_rm_removes_files_and_empty_directories(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (root / "d").mkdir()
    (root / "d" / "f.txt").write_text("x")
    code, out, _ = run(capsys, "rm", "d/f.txt", "d")
    assert (code, out) == (0, "removed d/f.txt\nremoved d\n")
    assert list(root.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["get", "missing.txt"], 4, "not found"),
        (["put", "{local}", "no/such/dir/x"], 4, "not found"),
        (["get", "../etc/passwd"], 6, "'..' is not allowed"),
        (["ls", "/etc"], 6, "absolute path"),
        (["get", "out/secret.txt"], 3, "leads outside the files root"),
        (["put", "{big}"], 6, "exceeds"),
        (["rm", "full"], 5, "not empty"),
        (["put", "{tmp}/nonexistent"], 2, "No such file"),
        (["put", "-"], 2, "needs a REMOTE"),
    ],
    ids=[
        "missing",
        "no-parent",
        "dotdot",
        "absolute",
        "link-out",
        "too-big",
        "full",
        "local",
        "stdin",
    ],
)
def test_errors_exit_with_their_codes(
    root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    message: str,
) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("not yours\n")
    (root / "out").symlink_to(tmp_path / "outside")
    (root / "full").mkdir()
    (root / "full" / "x").write_text("x")
    (tmp_path / "local.txt").write_text("x")
    (tmp_path / "big.bin").write_bytes(b"x" * (MAX_UPLOAD + 1))
    names = {"local": tmp_path / "local.txt", "big": tmp_path / "big.bin", "tmp": tmp_path}
    before = sorted(p.name for p in Path.cwd().iterdir())
    result = run(capsys, *(arg.format(**names) for arg in argv))
    assert result[0] == code, result
    assert message in result[2]
    assert sorted(p.name for p in Path.cwd().iterdir()) == before, "a failed get left a file"
    assert sorted(p.name for p in root.iterdir()) == ["full", "out"]


def test_json_output_of_put_and_get(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.txt").write_text("abc")
    code, out, _ = run(capsys, "put", "--json", str(tmp_path / "a.txt"))
    assert (code, FileEntry.model_validate_json(out).size) == (0, 3)
    code, out, _ = run(capsys, "get", "--json", "a.txt", str(tmp_path / "b.txt"))
    assert (code, json.loads(out)) == (0, {"path": str(tmp_path / "b.txt"), "size": 3})
