"""The Flux reactor thread: one handle, its reactor, and the way back to asyncio.

A Flux handle is not thread-safe and the bindings have no asyncio integration
(DESIGN section 4), so one thread owns the handle and runs its reactor. The
event loop queues operations and writes a byte to a pipe the reactor watches;
an operation starts Flux futures with ``then`` callbacks and returns, so many
requests (submissions above all) are in flight on the one handle at once.
Answers go back to the loop in batches (``bridge``).

Every Flux object is created and released on this thread, and the loop only
sees plain Python values: some Flux destructors send an RPC, which must never
happen on another thread. Futures are freed by Python's cyclic collector, so
this thread is also the one that collects (``collector``).

When the broker goes away the reactor stops with an error. The worker fails
what was in flight with ``BrokerUnavailable``, keeps the dead handle (futures
still point at it), and connects again: the operator restarts a broker that
exits with an error. A Python callback that raises also stops a Flux reactor;
if the broker still answers, the worker logs it and runs the reactor again.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sidecar.backends.flux.bridge import Call
from sidecar.backends.flux.collector import INTERVAL_SECONDS, ReactorCollector
from sidecar.backends.flux.session import Inflight, Session
from sidecar.errors import BrokerUnavailable

logger = logging.getLogger(__name__)

# Looking for the socket costs a stat(): one that appears is tried within a second.
RETRY_SECONDS = (0.1, 0.2, 0.5, 1.0)
FIRST_CONNECT_SECONDS = 5.0
# How soon to ask again for the broker's state when it said "try again later".
OFFLINE_RETRY_SECONDS = 0.2
# Callback failures tolerated per minute before the connection is replaced.
MAX_RECOVERIES = 5
BROKER_RUN = 5  # broker_state_t STATE_RUN (flux-core src/broker/state_machine.h)
_LOST = frozenset({errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN})


Operation = Callable[[Session], None]
_PLUGIN_SUFFIX = "/lib/flux/shell/plugins"


def flux_bindir(shell_pluginpath: str) -> str | None:
    """Where the broker's own ``flux`` command is, from its install's shell plugin path.

    The broker may run another Flux than the sidecar's (the operator's view, under
    /mnt/flux/view): a batch job's broker, and a script's ``flux`` calls, need its.
    """
    first = shell_pluginpath.split(":", 1)[0].rstrip("/")
    return first.removesuffix(_PLUGIN_SUFFIX) + "/bin" if first.endswith(_PLUGIN_SUFFIX) else None


class FluxWorker:
    """The thread that owns the handle; the loop talks to it through ``post``."""

    def __init__(
        self,
        locate: Callable[[], tuple[str | None, str]],
        on_ready: Callable[[Session], None],
        on_stop: Callable[[Session], None],
    ) -> None:
        self._locate = locate
        self._on_ready = on_ready
        self._on_stop = on_stop
        self._queue: deque[tuple[Operation, Inflight | None]] = deque()
        self._rfd, self._wfd = os.pipe()
        os.set_blocking(self._rfd, False)
        os.set_blocking(self._wfd, False)
        self._closing = threading.Event()
        self._pipe_lock = threading.Lock()
        self._pipe_open = True
        self._signalled = False
        self._first_attempt = threading.Event()
        self._thread: threading.Thread | None = None
        self._dead: list[Session] = []
        self._recoveries: deque[float] = deque(maxlen=MAX_RECOVERIES)
        self._collector = ReactorCollector()
        self._lost = False
        self.ready = False
        self.problem = "not connected to a Flux broker yet"
        self.uri: str | None = None
        self.size = 0
        self.broker_version: str | None = None
        self.broker_bindir: str | None = None

    # the event loop's side

    def start(self) -> None:
        self._collector.start()
        self._thread = threading.Thread(target=self._run, name="flux-reactor", daemon=True)
        self._thread.start()

    def wait_first_attempt(self) -> None:
        self._first_attempt.wait(FIRST_CONNECT_SECONDS)

    def post(self, operation: Operation, inflight: Inflight | None = None) -> None:
        """Run ``operation`` on the reactor thread; ``BrokerUnavailable`` when not ready."""
        if not self.ready:
            raise BrokerUnavailable(self.problem)
        self._queue.append((operation, inflight))
        self._wake()

    def post_always(self, operation: Operation) -> None:
        """Like ``post`` even when not ready (cleanup); dropped if no connection ever runs it."""
        self._queue.append((operation, None))
        self._wake()

    def stop(self) -> None:
        """Blocking: end the reactor and the thread (call it off the event loop)."""
        self._closing.set()
        self._signalled = False
        self._wake()
        if self._thread is not None:
            self._thread.join(10)
            if self._thread.is_alive():
                return  # a wedged Flux call: leave the pipe (and collection) to the thread
        self._collector.stop()
        with self._pipe_lock:
            self._pipe_open = False
            for fd in (self._rfd, self._wfd):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _wake(self) -> None:
        # One byte per batch: a wake-up hands the GIL to the reactor thread, so
        # posts made before it drains the queue ride on the pending byte. Posts
        # append before reading the flag; the reactor clears it between reading
        # the pipe and reading the queue, so no post is left without a byte.
        if self._signalled:
            return
        self._signalled = True
        # The lock keeps a late wake-up from writing to a reused descriptor number.
        with self._pipe_lock, contextlib.suppress(BlockingIOError, OSError):
            if self._pipe_open:
                os.write(self._wfd, b"\0")

    # the reactor thread

    def _run(self) -> None:
        attempt = 0
        while not self._closing.is_set():
            session = self._connect()
            if session is None:
                self._first_attempt.set()
                self._collector.tick()
                self._closing.wait(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
                attempt += 1
                continue
            attempt = 0
            self._serve(session)
        self._first_attempt.set()

    def _connect(self) -> Session | None:
        import flux

        uri, waiting = self._locate()
        if uri is None:
            self._set_problem(waiting)
            return None
        try:
            handle = flux.Flux(uri)
            size = int(handle.attr_get("size"))
            version = handle.attr_get("version")
            plugins = handle.attr_get("conf.shell_pluginpath")
        except OSError as exc:
            self._set_problem(f"cannot reach the Flux broker at {uri}: {exc.strerror or exc}")
            return None
        self.uri, self.size = uri, size
        self.broker_version = version.decode() if isinstance(version, bytes) else str(version)
        self.broker_bindir = flux_bindir(
            plugins.decode() if isinstance(plugins, bytes) else plugins
        )
        logger.info("connected to the Flux broker at %s (size %d)", uri, size)
        return Session(handle, uri)

    def _set_problem(self, problem: str) -> None:
        if problem != self.problem:
            logger.info("%s", problem)
        self.problem = problem

    def _serve(self, session: Session) -> None:
        import flux.constants

        handle = session.handle
        watcher = handle.fd_watcher_create(
            self._rfd, self._drain, events=flux.constants.FLUX_POLLIN, args=session
        )
        watcher.start()
        session.keep.append(watcher)
        collect = handle.timer_watcher_create(
            INTERVAL_SECONDS, self._collect, repeat=INTERVAL_SECONDS
        )
        collect.start()
        session.keep.append(collect)
        self._follow_state(session)
        self._wake()
        self._lost = False
        while True:
            failure: BaseException | None = None
            try:
                handle.reactor_run()
            except Exception as exc:
                failure = exc
            if self._closing.is_set() or self._lost or not self._recover(session, failure):
                break
        self.ready = False
        if self._closing.is_set():
            self.problem = "the Flux backend is closed"
        else:
            self.problem = f"lost the connection to the Flux broker at {session.uri}"
            logger.warning("%s; reconnecting", self.problem)
        session.lose(BrokerUnavailable(self.problem))
        self._fail_queued(BrokerUnavailable(self.problem))
        self._dead.append(session)

    def _collect(self, handle: Any, watcher: Any, revents: int, args: Any) -> None:
        self._collector.tick()

    def _recover(self, session: Session, failure: BaseException | None) -> bool:
        """After an unexpected reactor stop: True to run it again (the broker still answers)."""
        now = time.monotonic()
        if len(self._recoveries) == MAX_RECOVERIES and now - self._recoveries[0] < 60:
            return False
        try:
            session.handle.rpc("state-machine.wait").wait_for(2.0)
        except Exception:
            return False
        self._recoveries.append(now)
        logger.error("a Flux callback failed (%r); resuming the reactor", failure)
        if self.ready:
            self._on_ready(session)
        return True

    def _follow_state(self, session: Session, *, retry: bool = False) -> None:
        """Ready while the broker is in its RUN state (``state-machine.monitor``).

        The stream also keeps the handle watched by the reactor, so a broker
        that goes away is noticed at once, not at the next request.
        """
        import flux.constants

        def update(future: Any) -> None:
            try:
                state = int(future.get()["state"])
                future.reset()
            except (OSError, KeyError, TypeError, ValueError) as exc:
                self.ready = False
                self._first_attempt.set()
                if isinstance(exc, OSError) and exc.errno == errno.EAGAIN:
                    # Before its INIT state a broker rebuffs its clients' requests
                    # with EAGAIN, "Upstream Flux broker is offline. Try again later."
                    # (src/broker/modhash.c); one that is not rank 0 stays there until
                    # its parent answers. The connection is fine: ask again.
                    self._set_problem(
                        f"waiting for the Flux broker at {session.uri} to start ({exc.strerror})"
                    )
                    with contextlib.suppress(ValueError):
                        session.keep.remove(future)
                    self._follow_state_later(session)
                    return
                self._set_problem(f"the Flux broker at {session.uri} is stopping ({exc})")
                return
            try:
                self._state_changed(session, state)
            except Exception:
                logger.exception("starting the broker's watchers failed")

        if not retry:
            self._set_problem(f"waiting for the Flux broker at {session.uri} to start")
        future = session.handle.rpc(
            "state-machine.monitor", {}, flags=flux.constants.FLUX_RPC_STREAMING
        )
        future.then(update)
        session.keep.append(future)

    def _follow_state_later(self, session: Session) -> None:
        def again(handle: Any, watcher: Any, revents: int, args: Any) -> None:
            watcher.stop()
            session.keep.remove(watcher)
            self._follow_state(session, retry=True)

        timer = session.handle.timer_watcher_create(OFFLINE_RETRY_SECONDS, again)
        timer.start()
        session.keep.append(timer)

    def _state_changed(self, session: Session, state: int) -> None:
        if state < BROKER_RUN:
            self._set_problem(f"waiting for the Flux broker at {session.uri} to start")
            return
        self._first_attempt.set()
        if state > BROKER_RUN:
            self.ready = False
            self._set_problem(f"the Flux broker at {session.uri} is shutting down")
        elif not self.ready:
            self.ready = True
            self.problem = ""
            logger.info("the Flux broker at %s is ready", session.uri)
            self._on_ready(session)

    def _drain(self, handle: Any, watcher: Any, fd: int, revents: int, session: Session) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(fd, 4096):
                pass
        self._signalled = False  # after the bytes are gone, before the queue is read
        while self._queue:
            operation, inflight = self._queue.popleft()
            try:
                operation(session)
            except OSError as exc:
                if exc.errno not in _LOST:
                    logger.exception("a Flux operation failed to start")
                    self._failed(inflight, exc)
                    continue
                # The broker went away and the reactor has not noticed yet.
                self._lost = True
                self.ready = False
                self._failed(inflight, BrokerUnavailable(f"lost the Flux broker: {exc.strerror}"))
                handle.reactor_stop()
            except Exception as exc:
                logger.exception("a Flux operation failed to start")
                self._failed(inflight, exc)
        if self._closing.is_set():
            with contextlib.suppress(Exception):
                self._on_stop(session)
            handle.reactor_stop()

    @staticmethod
    def _failed(inflight: Inflight | None, error: Exception) -> None:
        if isinstance(inflight, Call):
            inflight.fail(error)
        elif inflight is not None:
            inflight.broken(
                error
                if isinstance(error, BrokerUnavailable)
                else BrokerUnavailable(f"a Flux operation failed: {error}")
            )

    def _fail_queued(self, error: BrokerUnavailable) -> None:
        while self._queue:
            _, inflight = self._queue.popleft()
            if inflight is not None:
                inflight.broken(error)
