"""The sidecar's lifecycle: serving, then shutting down; streams watch ``stopping``."""

from __future__ import annotations

import asyncio
import time


class Lifecycle:
    """Shared state of the process: whether it is shutting down."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self.started = time.monotonic()
        self.phase = "serving"

    @property
    def shutting_down(self) -> bool:
        return self.stopping.is_set()
