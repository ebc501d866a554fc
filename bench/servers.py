"""The servers under measurement: the sidecar, and upstream flux-restful-api beside it.

Both run as their own processes on 127.0.0.1 in the same Flux instance, with
authentication on, each as its users would start it: ``flux-sidecar serve``
with a token file, and ``flux-restful serve`` (PyPI ``flux-restful==1.1.0``,
installed by ``make bench`` into a virtual environment of its own) with its
shared-secret auth and the access token of its own ``/v1/token`` flow.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.load import Request
from sidecar.compat.token import encode_jwt

UPSTREAM_VERSION = "1.1.0"
READY_TIMEOUT = 60.0


@dataclass
class Server:
    name: str
    port: int
    pid: int
    headers: dict[str, str]
    ready_seconds: float

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=120)

    def submit(self, *, held: bool) -> Request:
        if self.name == "upstream":
            # Upstream takes its fields as query parameters and cannot hold a job.
            assert not held, "upstream has no urgency"
            return Request("POST", "/v1/jobs/submit?command=true", self.headers)
        body = {"command": ["true"], "urgency": 0} if held else {"command": ["true"]}
        headers = {**self.headers, "Content-Type": "application/json"}
        return Request("POST", "/api/v1/jobs", headers, json.dumps(body).encode(), ok=(201,))

    def listing(self, limit: int) -> Request:
        if self.name == "upstream":
            return Request("GET", "/v1/jobs", self.headers)  # upstream has no limit
        return Request("GET", f"/api/v1/jobs?limit={limit}", self.headers)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, start: float) -> float:
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.perf_counter() - start
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.perf_counter() - start > READY_TIMEOUT:
            raise SystemExit(f"{url} did not become ready:\n{log.read_text()[-3000:]}")
        time.sleep(0.01)


@contextmanager
def _process(
    command: list[str], env: dict[str, str], cwd: Path
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    log = cwd / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc, log
    finally:
        proc.terminate()
        proc.wait(30)


@contextmanager
def sidecar(backend: str = "flux") -> Iterator[Server]:
    """``flux-sidecar serve`` on a free loopback port."""
    token = secrets.token_urlsafe(24)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        token_file = Path(tmp) / "token"
        token_file.write_text(token)
        env = {**os.environ, "FLUX_SIDECAR_TOKEN_FILE": str(token_file)}
        env["FLUX_SIDECAR_LOG_LEVEL"] = "warning"
        command = [sys.executable, "-m", "sidecar", "serve", "--backend", backend]
        command += ["--host", "127.0.0.1", "--port", str(port)]
        start = time.perf_counter()
        with _process(command, env, Path(tmp)) as (proc, log):
            ready = _wait(f"http://127.0.0.1:{port}/readyz", proc, log, start)
            headers = {"Authorization": f"Bearer {token}"}
            yield Server("sidecar", port, proc.pid, headers, ready)


@contextmanager
def upstream(venv: Path) -> Iterator[Server]:
    """Upstream's ``flux-restful serve`` with shared-secret auth, as its README sets it up."""
    port = free_port()
    user, password = "fluxuser", secrets.token_urlsafe(16)
    secret_key = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory() as tmp:
        # A clean environment: its settings also read unprefixed names (SECRET_KEY, DB_FILE).
        env = {
            "PATH": os.environ["PATH"],
            "HOME": tmp,
            "FLUX_URI": os.environ["FLUX_URI"],
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
            "DB_FILE": f"sqlite:///{tmp}/flux-restful.db",
            "FLUX_REQUIRE_AUTH": "true",
            "FLUX_SECRET_KEY": secret_key,
            "FLUX_TOKEN_SIGNING_KEY": secrets.token_urlsafe(32),
            "FLUX_USER": user,
            "FLUX_TOKEN": password,
        }
        program = str(venv / "bin" / "flux-restful")
        subprocess.run([program, "init"], env=env, cwd=tmp, check=True, capture_output=True)
        command = [program, "serve", "--host", "127.0.0.1", "--port", str(port)]
        start = time.perf_counter()
        with _process([*command, "--log-level", "warning"], env, Path(tmp)) as (proc, log):
            url = f"http://127.0.0.1:{port}"
            ready = _wait(f"{url}/v1/auth", proc, log, start)
            claims = {"user": user, "pass": password, "scope": "token"}
            handshake = encode_jwt(claims, secret_key.encode())
            answer = httpx.post(
                f"{url}/v1/token", headers={"Authorization": f"Bearer {handshake}"}, timeout=30
            )
            answer.raise_for_status()
            headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
            yield Server("upstream", port, proc.pid, headers, ready)


def cpu_seconds(pid: int) -> float:
    """User and system CPU of the process, all its threads, so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
