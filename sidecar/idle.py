"""Idle teardown: how long the MiniCluster has had nothing to do.

A MiniCluster bills until it is shut down, and people forget. With
``--idle-shutdown DURATION`` the sidecar shuts it down (as ``POST
/api/v1/shutdown`` in mode drain would) once no job has been active and no
API call has arrived for that long, counted from when the broker is ready (a
MiniCluster whose brokers take long to join is not idle meanwhile). Probes,
scrapes, the web page's files and status reads are not calls
(``sidecar.api.activity``): a Prometheus scraping every 15 s, or a browser tab
polling the resources, must not keep a cluster alive. A stream that stays
open counts when it starts, not while it lasts.
"""

from __future__ import annotations

import time

from sidecar.models import IdleStatus

API_PREFIXES = ("/api/", "/v1/")


class IdleWatch:
    """When the instance was last busy (a job active, or an API call), and what follows."""

    def __init__(self, after_seconds: float | None) -> None:
        self.after_seconds = after_seconds or None
        self._busy = time.monotonic()

    @property
    def enabled(self) -> bool:
        return self.after_seconds is not None

    def touch(self) -> None:
        """An API call arrived, a job was seen active, or the broker is not ready yet."""
        self._busy = time.monotonic()

    def idle_seconds(self) -> float:
        return time.monotonic() - self._busy

    def seconds_left(self) -> float | None:
        if self.after_seconds is None:
            return None
        return max(0.0, self.after_seconds - self.idle_seconds())

    def due(self) -> bool:
        left = self.seconds_left()
        return left is not None and left <= 0

    def status(self) -> IdleStatus | None:
        if self.after_seconds is None:
            return None
        idle = self.idle_seconds()
        return IdleStatus(
            after_seconds=self.after_seconds,
            idle_seconds=round(idle, 3),
            seconds_left=round(max(0.0, self.after_seconds - idle), 3),
        )


def is_api_call(path: str) -> bool:
    return path.startswith(API_PREFIXES)
