"""Helpers for the flux tests: the flux command, an SSE listener, a broker of a test's own."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx


def flux_skip_reason() -> str | None:
    """Why the flux tests cannot run here, or None inside a usable Flux instance."""
    if shutil.which("flux") is None:
        return "flux is not on PATH"
    if not os.environ.get("FLUX_URI"):
        return "not inside a Flux instance (run: make test-flux)"
    try:
        import flux  # noqa: F401
    except ImportError as exc:
        return f"the Flux Python bindings do not import ({exc}; run: make test-flux)"
    return None


def flux(*args: str, env: dict[str, str] | None = None) -> str:
    """Run the flux command; its standard output."""
    done = subprocess.run(
        ["flux", *args], check=True, capture_output=True, text=True, env=env, timeout=120
    )
    return done.stdout


def flux_bindir() -> str:
    path = shutil.which("flux")
    assert path is not None
    return os.path.dirname(path)


class EventListener:
    """Reads ``/api/v1/events`` in a thread; ``changes`` grows as state changes arrive.

    It owns ``http`` and closes it at the end, which also ends the stream.
    """

    def __init__(self, http: httpx.Client, last_event_id: str | None = None) -> None:
        self.changes: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self._http = http
        self._headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> EventListener:
        self._thread.start()
        assert self.connected.wait(30), "the event stream did not open"
        return self

    def __exit__(self, *exc: object) -> None:
        # The reader may sit in a read until the next keep-alive (15 s); it is a
        # daemon that ends then, or when the server goes: no need to wait for it.
        self._stop.set()
        self._http.close()
        self._thread.join(1)

    def _read(self) -> None:
        try:
            with self._http.stream("GET", "/api/v1/events", headers=self._headers) as response:
                for line in response.iter_lines():
                    self.connected.set()
                    if line.startswith("data: "):
                        self.changes.append(json.loads(line[6:]))
                    if self._stop.is_set():
                        return
        except Exception:  # noqa: S110 - the stream ends when the test closes the client
            pass
        finally:
            self.connected.set()

    def states_of(self, job_id: str) -> list[str]:
        return [c["state"] for c in list(self.changes) if c["id"] == job_id]

    def wait_for(self, job_id: str, state: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for change in list(self.changes):
                if change["id"] == job_id and change["state"] == state:
                    return change
            assert time.monotonic() < deadline, f"no {state} of {job_id}: {self.changes[-5:]}"
            time.sleep(0.05)


class Broker:
    """A Flux instance of the test's own (size 1, no initial program) at a fixed socket."""

    def __init__(self, rundir: Path, options: tuple[str, ...] = ()) -> None:
        self.socket = rundir / "local"
        self.uri = f"local://{self.socket}"
        self.log = rundir / "broker.log"
        self.options = options
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLUX_URI")}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                ["flux", "start", *self.options, "-Sbroker.rc2_none=1", f"-Slocal-uri={self.uri}"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while not self.socket.exists():
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the test broker did not start"
            time.sleep(0.05)

    def env(self) -> dict[str, str]:
        return {**os.environ, "FLUX_URI": self.uri}

    def shutdown(self) -> int:
        """Stop it with ``flux shutdown``; its exit status."""
        assert self.proc is not None
        flux("shutdown", "--quiet", env=self.env())
        return self.proc.wait(60)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)


@contextmanager
def own_broker(
    rundir: Path, *, started: bool = True, options: tuple[str, ...] = ()
) -> Iterator[Broker]:
    broker = Broker(rundir, options)
    if started:
        broker.start()
    try:
        yield broker
    finally:
        broker.kill()
