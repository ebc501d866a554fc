"""Prometheus metrics: a private registry per app, HTTP metrics, and Flux read at scrape time.

Labels carry only values the sidecar chooses (route templates, status codes,
Flux state names), never a raw path or a job id, so a client cannot grow the
number of series. Broker-derived values are read by the ``/metrics`` route,
awaiting the backend with a timeout, and cached briefly so that a scrape storm
costs the broker one ``job-list.job-stats`` call a second; the collector only
reads the cached snapshot, so it never blocks and never touches the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram, Info, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sidecar import __version__
from sidecar.api.auth import Authenticator
from sidecar.backends.base import JobBackend
from sidecar.lifecycle import Lifecycle
from sidecar.models import JobResult, JobState, JobStats, Resources

logger = logging.getLogger(__name__)

CACHE_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 2.0
UNMATCHED_ROUTE = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
RESOURCE_STATES = ("up", "down", "allocated", "free")
SHUTDOWN_PHASES = ("serving", "starting", "draining", "cancelling", "stopping-broker", "exiting")

T = TypeVar("T")


@dataclass(frozen=True)
class BrokerSnapshot:
    """What the broker said at one scrape; ``None`` where it did not answer."""

    up: bool
    stats: JobStats | None = None
    resources: Resources | None = None


class FluxCollector(Collector):
    """Broker and shutdown series, yielded from the last snapshot the route took."""

    def __init__(self) -> None:
        self.snapshot: BrokerSnapshot | None = None
        self.lifecycle: Lifecycle | None = None
        self._taken = 0.0
        self._lock = asyncio.Lock()

    async def refresh(self, backend: JobBackend, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        async with self._lock:
            if self.snapshot is None or time.monotonic() - self._taken >= CACHE_SECONDS:
                self.snapshot = await _read_broker(backend)
                self._taken = time.monotonic()

    def describe(self) -> Iterable[Metric]:
        return self._families(BrokerSnapshot(up=False), None)

    def collect(self) -> Iterable[Metric]:
        families = self._families(self.snapshot or BrokerSnapshot(up=False), self.lifecycle)
        return [family for family in families if family.samples]

    def _families(self, snap: BrokerSnapshot, lifecycle: Lifecycle | None) -> list[Metric]:
        up = GaugeMetricFamily("flux_broker_up", "1 when the Flux broker answers, else 0")
        up.add_metric([], 1 if snap.up else 0)
        jobs = GaugeMetricFamily("flux_jobs", "Jobs the broker lists, by state", labels=["state"])
        inactive = GaugeMetricFamily(
            "flux_jobs_inactive", "Inactive jobs the broker lists, by result", labels=["result"]
        )
        if snap.stats is not None:
            for state in JobState:
                jobs.add_metric([state.value.lower()], snap.stats.states.get(state, 0))
            for result in JobResult:
                inactive.add_metric([result.value.lower()], snap.stats.results.get(result, 0))
        families: list[Metric] = [up, jobs, inactive]
        for kind in ("nodes", "cores", "gpus"):
            family = GaugeMetricFamily(
                f"flux_resources_{kind}",
                f"{kind.capitalize()} of the instance, by state",
                labels=["state"],
            )
            if snap.resources is not None:
                count = getattr(snap.resources, kind)
                for name in RESOURCE_STATES:
                    family.add_metric([name], getattr(count, name))
            families.append(family)
        stopping = GaugeMetricFamily(
            "flux_sidecar_shutdown_in_progress", "1 once the sidecar has begun shutting down"
        )
        phase = GaugeMetricFamily(
            "flux_sidecar_shutdown_phase", "1 for the sidecar's current phase", labels=["phase"]
        )
        reason = GaugeMetricFamily(
            "flux_sidecar_shutdown_reason",
            "1 for what started the shutdown, once one has begun",
            labels=["reason"],
        )
        idle = GaugeMetricFamily(
            "flux_sidecar_idle_seconds", "Seconds since the last API call or active job"
        )
        idle_left = GaugeMetricFamily(
            "flux_sidecar_idle_shutdown_seconds_left",
            "Seconds until idle teardown shuts the MiniCluster down (only when it is on)",
        )
        if lifecycle is not None:
            stopping.add_metric([], 1 if lifecycle.shutting_down else 0)
            current = lifecycle.phase
            for name in (*SHUTDOWN_PHASES, *([] if current in SHUTDOWN_PHASES else [current])):
                phase.add_metric([name], 1 if name == current else 0)
            if lifecycle.reason is not None:
                reason.add_metric([lifecycle.reason], 1)
            status = lifecycle.idle.status()
            if status is not None:
                idle.add_metric([], status.idle_seconds)
                idle_left.add_metric([], status.seconds_left)
        return [*families, stopping, phase, reason, idle, idle_left]


async def _bounded(call: Awaitable[T], what: str) -> T | None:
    try:
        return await asyncio.wait_for(call, READ_TIMEOUT_SECONDS)
    except Exception as exc:
        # A scrape must answer while the broker is down or slow: leave its series out.
        logger.debug("metrics: %s unavailable: %r", what, exc)
        return None


async def _read_broker(backend: JobBackend) -> BrokerSnapshot:
    if not await _bounded(backend.ready(), "readiness"):
        return BrokerSnapshot(up=False)
    stats, resources = await asyncio.gather(
        _bounded(backend.stats(), "job stats"), _bounded(backend.resources(), "resources")
    )
    return BrokerSnapshot(up=True, stats=stats, resources=resources)


class SidecarMetrics:
    """Every metric of one app, in its own registry."""

    def __init__(self, registry: CollectorRegistry, backend_kind: str) -> None:
        self.registry = registry
        self.http_requests = Counter(
            "flux_sidecar_http_requests",
            "HTTP requests answered, by method, route template and status code",
            ["method", "route", "code"],
            registry=registry,
        )
        self.http_duration = Histogram(
            "flux_sidecar_http_request_duration_seconds",
            "Seconds from a request's arrival to its response headers, by route template",
            ["method", "route"],
            unit="seconds",
            registry=registry,
        )
        self.auth_failures = Counter(
            "flux_sidecar_auth_failures",
            "Requests refused for a missing or wrong token",
            registry=registry,
        )
        self.jobs_submitted = Counter(
            "flux_sidecar_jobs_submitted",
            "Jobs submitted through the sidecar (idempotent replays not counted)",
            registry=registry,
        )
        Info("flux_sidecar", "Version and backend of the sidecar", registry=registry).info(
            {"version": __version__, "backend": backend_kind}
        )
        self.broker = FluxCollector()
        registry.register(self.broker)
        ProcessCollector(registry=registry)

    async def refresh(self, backend: JobBackend, lifecycle: Lifecycle) -> None:
        """Read the broker (at most once a second, bounded in time) before a scrape."""
        await self.broker.refresh(backend, lifecycle)


def route_template(scope: Scope, routes: Sequence[BaseRoute]) -> str:
    """The template of the route that took (or would take) the request: never the raw path."""
    # Requests refused before routing (a 413 from the body limit) carry no route: match
    # them as the router would.
    route = scope.get("route") or _match(scope, routes)
    template = getattr(route, "path_format", None)
    return template if isinstance(template, str) else UNMATCHED_ROUTE


def _match(scope: Scope, routes: Sequence[BaseRoute]) -> BaseRoute | None:
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.NONE:
            continue
        # Newer FastAPI keeps an included router whole instead of copying its routes.
        inner = getattr(route, "original_router", None)
        found = _match(scope, inner.routes) if inner is not None else route
        if found is not None and match is Match.FULL:
            return found
        partial = partial or found
    return partial


class HTTPMetricsMiddleware:
    """Pure ASGI: counts and times every HTTP request, streams included, by route template."""

    def __init__(self, app: ASGIApp, metrics: SidecarMetrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        method = scope["method"] if scope["method"] in METHODS else "other"
        answered = False

        def observe(code: int) -> None:
            route = route_template(scope, self.routes)
            self.metrics.http_requests.labels(method, route, str(code)).inc()
            self.metrics.http_duration.labels(method, route).observe(time.perf_counter() - start)

        async def send_observed(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start" and not answered:
                answered = True
                observe(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        except Exception:
            if not answered:
                observe(500)
            raise


def install_metrics(
    app: FastAPI,
    backend_kind: str,
    authenticator: Authenticator,
    registry: CollectorRegistry | None = None,
) -> SidecarMetrics:
    """Create the app's metrics (in ``registry``, or a fresh one) and start counting."""
    metrics = SidecarMetrics(
        registry if registry is not None else CollectorRegistry(), backend_kind
    )
    authenticator.failure_hooks.append(metrics.auth_failures.inc)
    app.add_middleware(HTTPMetricsMiddleware, metrics=metrics, routes=app.router.routes)
    app.state.metrics = metrics
    return metrics
