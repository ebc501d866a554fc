"""A real ``flux-sidecar serve`` process on a free loopback port, for process-level tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


@contextmanager
def submitting(server: ServerProcess, name: str, limit: int) -> Iterator[None]:
    """Small jobs every 0.25 s in the background, for a watcher that subscribes at some point."""
    from sidecar.client import SidecarClient

    stop = threading.Event()

    def keep_submitting() -> None:
        with SidecarClient(server.url, server.token) as client:
            for _ in range(limit):
                client.submit(command=["true"], name=name)
                if stop.wait(0.25):
                    return

    submitter = threading.Thread(target=keep_submitting, daemon=True)
    submitter.start()
    try:
        yield
    finally:
        stop.set()
        submitter.join(30)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    url: str
    token: str
    proc: subprocess.Popen[bytes]
    log: Path
    files_root: Path | None = None

    def client(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=timeout
        )

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def empty_files_root(self) -> None:
        """What a test left under the files root goes, so the next starts from nothing."""
        assert self.files_root is not None
        for path in sorted(self.files_root.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()

    def wait_exit(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server not ready after {timeout}s:\n{log.read_text()}")


@contextmanager
def run_server(
    tmp_path: Path,
    token: str = "test-token-0123456789",
    *,
    args: tuple[str, ...] = ("--backend", "local"),
    env: Mapping[str, str] | None = None,
    token_file: Path | None = None,
    wait: bool = True,
) -> Iterator[ServerProcess]:
    """Start the server; stop it (SIGTERM, then SIGKILL) when the block ends."""
    port = free_port()
    log = tmp_path / f"server-{port}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_SIDECAR_")}
    if token_file is None:
        token_file = tmp_path / f"token-{port}"
        token_file.write_text(token + "\n")
    # The API writes and deletes under its files root: never the checkout the tests run in.
    files_root = tmp_path / f"files-{port}"
    files_root.mkdir()
    full_env.update(
        FLUX_SIDECAR_TOKEN_FILE=str(token_file),
        FLUX_SIDECAR_FILES_ROOT=str(files_root),
        FLUX_SIDECAR_LOG_LEVEL="info",
        PYTHONUNBUFFERED="1",
    )
    full_env.update(env or {})
    files_root = Path(full_env["FLUX_SIDECAR_FILES_ROOT"])
    command = [sys.executable, "-m", "sidecar", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*command, *args], stdout=out, stderr=subprocess.STDOUT, env=full_env
        )
    url = f"http://127.0.0.1:{port}"
    try:
        if wait:
            wait_ready(url, proc, log)
        yield ServerProcess(url=url, token=token, proc=proc, log=log, files_root=files_root)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
