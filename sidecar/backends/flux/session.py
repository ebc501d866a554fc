"""One connection to the broker, where to find it, and what is in flight on it.

Only the reactor thread touches a session. ``settle`` is how a request is
answered: the reply's ``then`` callback reads it and resolves the ``Call``;
when the connection is lost, everything still in flight is told.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sidecar.backends.flux.bridge import Call, More
from sidecar.errors import BrokerUnavailable, SidecarError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Where the operator's broker listens, under its volume: newer releases first
# (``config`` after 0.2.1, ``view`` up to it; DESIGN section 6).
OPERATOR_SOCKETS = ("config/run/flux/local", "view/run/flux/local")
# The broker container's script writes this before it starts the broker, with
# the socket it passes the broker (pkg/flux/templates/components.sh, "paths").
FLUX_VIEW_SCRIPT = "flux-view.sh"
_FLUXSOCKET = re.compile(r"^export fluxsocket=(local://\S+)\s*$", re.MULTILINE)


def operator_uris(mount_path: Path) -> list[str]:
    """The operator's broker URIs, the one its script announces first."""
    uris = [f"local://{mount_path / socket}" for socket in OPERATOR_SOCKETS]
    try:
        announced = _FLUXSOCKET.findall((mount_path / FLUX_VIEW_SCRIPT).read_text())
    except (OSError, UnicodeDecodeError):
        announced = []
    return list(dict.fromkeys(announced[-1:] + uris))


def locate_broker(environ: Mapping[str, str], mount_path: Path) -> tuple[str | None, str]:
    """The broker URI to try now, or None and what is awaited: ``FLUX_URI``, else the operator's."""
    explicit = environ.get("FLUX_URI", "").strip()
    candidates = [explicit] if explicit else operator_uris(mount_path)
    for uri in candidates:
        path = uri.removeprefix("local://") if uri.startswith("local://") else None
        if path is None or os.path.exists(path):
            return uri, ""
    paths = " or ".join(u.removeprefix("local://") for u in candidates)
    return None, f"waiting for the Flux broker socket at {paths}"


class Inflight(Protocol):
    """Something in flight on a connection, told when the connection is gone."""

    def broken(self, error: BrokerUnavailable) -> None: ...


class Session:
    """One connection to the broker; only the reactor thread touches it."""

    def __init__(self, handle: Any, uri: str) -> None:
        self.handle = handle
        self.uri = uri
        self.keep: list[Any] = []
        self._inflight: set[Inflight] = set()

    def track(self, item: Inflight) -> None:
        self._inflight.add(item)

    def forget(self, item: Inflight) -> None:
        self._inflight.discard(item)

    def lose(self, error: BrokerUnavailable) -> None:
        items, self._inflight = list(self._inflight), set()
        for item in items:
            with contextlib.suppress(Exception):
                item.broken(error)

    def settle(
        self,
        future: Any,
        call: Call[T],
        read: Callable[[Any], T | More],
        errors: Callable[[OSError], SidecarError],
    ) -> None:
        """Resolve ``call`` with ``read(future)`` once the Flux future is fulfilled.

        ``read`` returns ``MORE`` to wait for a further response of a streaming
        reply, or when it has handed ``call`` on to another future.
        """
        self.track(call)

        def ready(fulfilled: Any) -> None:
            if call.settled:
                return  # answered already: late replies are dropped
            try:
                value = read(fulfilled)
            except OSError as exc:
                self.forget(call)
                call.fail(errors(exc))
                return
            except SidecarError as exc:  # the reader's own verdict on the reply
                self.forget(call)
                call.fail(exc)
                return
            except Exception as exc:
                logger.exception("unexpected reply from the broker")
                self.forget(call)
                call.fail(exc)
                return
            if not isinstance(value, More):
                self.forget(call)
                call.resolve(value)

        future.then(ready)
