"""Python's cyclic garbage collector, run on the reactor thread only.

Every Flux future with a ``then`` callback is in a reference cycle in the
bindings (the future holds a cffi handle to itself), so only the cyclic
collector frees it, and the collector runs on whichever thread happens to
allocate when a threshold is crossed: most often the event loop's. Its
destructor then called ``flux_future_destroy`` on the event loop thread while
the reactor thread was inside the same, not thread-safe, handle: a response
handler was lost (a request that never answered) or a matchtag handed out
twice (a submission refused with ``File exists``). So while the flux backend
runs, automatic collection is off and the reactor thread collects, by the
same thresholds the interpreter uses, from a timer of its own.
"""

from __future__ import annotations

import gc

# How often the reactor thread looks at the allocation counts.
INTERVAL_SECONDS = 0.05


class ReactorCollector:
    """Takes over collection for the process: ``start``, then ``tick`` on the reactor thread."""

    def __init__(self) -> None:
        self._was_enabled = False

    def start(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()

    def stop(self) -> None:
        if self._was_enabled:
            gc.enable()

    def tick(self) -> None:
        """Collect the generations the interpreter would have collected by now."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            threshold = thresholds[generation]
            if threshold and counts[generation] > threshold:
                gc.collect(generation)
                return
