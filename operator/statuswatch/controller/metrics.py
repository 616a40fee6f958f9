"""Prometheus metrics of one operator process, named like controller-runtime's where they overlap.

Counters and histograms are updated where things happen (status writes, evaluations, API requests); the
gauges that describe state (open streams, watched objects, StatusWatches by status) are read at scrape time
from the shared view and the supervisor, so they can never drift from what they describe. Each process owns
its own registry: tests can run several operators in one interpreter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.transport import Lines, Request, Transport

__all__ = ["CONTROLLER", "LATENCY_BUCKETS", "ROLLOUT_BUCKETS", "CountingTransport", "Metrics"]

_T = TypeVar("_T")

CONTROLLER = "statuswatch"
# From well under a write's round trip to the order of a poll interval.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Rollouts: from a config change that is Current at once to a slow rollout (seconds; up to 2 h).
ROLLOUT_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0)


class Metrics:
    """The process's metrics; ``render()`` gives the text exposition format."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # "_created" series only double the output; nobody graphs them
        self.registry = CollectorRegistry()
        self.reconciles = Counter(
            "controller_runtime_reconcile_total",
            "StatusWatch status evaluations, by result (success, error).",
            ["controller", "result"],
            registry=self.registry,
        )
        self.active_workers = Gauge(
            "controller_runtime_active_workers",
            "StatusWatches being served by this process.",
            ["controller"],
            registry=self.registry,
        )
        self.status_writes = Counter(
            "statuswatch_status_writes_total",
            "Writes of a StatusWatch's status subresource, by result (success, error).",
            ["result"],
            registry=self.registry,
        )
        self.events_posted = Counter(
            "statuswatch_events_total",
            "Kubernetes Events posted on transitions, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.change_latency = Histogram(
            "statuswatch_change_to_status_seconds",
            "From a watched object's change reaching the operator to the StatusWatch status written.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rollout_duration = Histogram(
            "statuswatch_rollout_duration_seconds",
            "How long each episode in which AllCurrent was not True lasted (status.history), by how it ended "
            "(Current, NotFound, Stalled, Timeout, Superseded).",
            ["result"],
            buckets=ROLLOUT_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "rest_client_requests_total",
            "API requests of the operator's own client (not kopf's), by method and HTTP code.",
            ["method", "code"],
            registry=self.registry,
        )

    def add_state(self, name: str, read: Callable[[], Iterable[GaugeMetricFamily]]) -> None:
        """Register gauges computed at scrape time by ``read``."""
        self.registry.register(_StateCollector(name, read))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    def __init__(self, name: str, read: Callable[[], Iterable[GaugeMetricFamily]]) -> None:
        self._name = name
        self._read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        return list(self._read())

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []


class CountingTransport:
    """A :class:`~statuswatch.watchlist.transport.Transport` that counts every request it passes on
    (``rest_client_requests_total``, by method and HTTP code; a watch once, as ``WATCH``, when it opens or
    by the error that kept it shut)."""

    def __init__(self, inner: Transport, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics
        self.capabilities = inner.capabilities

    @property
    def server(self) -> str:
        return self._inner.server

    async def send(self, request: Request) -> bytes:
        return await self._counted(request.method.upper(), self._inner.send(request))

    async def stream(self, request: Request) -> Lines:
        return await self._counted("WATCH", self._inner.stream(request))

    async def _counted(self, method: str, request: Awaitable[_T]) -> _T:
        """Await one request, counting it by its outcome."""
        try:
            result = await request
        except ApiError as error:
            self._count(method, error.status)
            raise
        except Exception:
            self._count(method, "<error>")
            raise
        self._count(method, 200)
        return result

    def _count(self, method: str, code: int | str) -> None:
        self._metrics.requests.labels(method=method, code=str(code)).inc()
