"""Assembles and runs one operator process: credentials, shared view, workers, kopf, metrics server.

Everything a StatusWatch needs is built once per process here and shared: one API client, one REST mapper,
one :class:`~statuswatch.watchlist.SharedView` (so API load grows with the objects watched, not with the
number of StatusWatches) and one :class:`~statuswatch.polling.StatusPoller` on it. kopf only delivers the
StatusWatch events; its settings are tuned for this job (explicit watch timeouts, no log lines posted as
Kubernetes Events, no peering unless asked for). With peering, a :class:`~.peering.Gate` between kopf and
the workers stops every worker while kopf pauses this replica, and drops the namespaces of other shards.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import kopf
from aiohttp import web
from prometheus_client.core import GaugeMetricFamily

from statuswatch.aiokit import stop_tasks
from statuswatch.polling import StatusPoller, StatusReader
from statuswatch.polling.clusterreader import scope_of
from statuswatch.polling.defaultchecks import load_default_health_checks
from statuswatch.rules import builtin_library
from statuswatch.watchlist.config import ClusterConfig
from statuswatch.watchlist.connection import ApiClient
from statuswatch.watchlist.discovery import RestMapper
from statuswatch.watchlist.serverclock import ServerClock
from statuswatch.watchlist.stream import StreamSettings
from statuswatch.watchlist.view import SharedView

from .handlers import build_registry
from .membership import view_members
from .metrics import CountingTransport, Metrics
from .peering import Gate, own_identity
from .settings import OperatorSettings
from .statusapi import ApiStatusSink
from .streammetrics import stream_gauges
from .supervisor import Supervisor
from .worker import Poll, WorkerContext

__all__ = [
    "KOPF_IDLE_WORKER_TIMEOUT",
    "KOPF_LIST_CHUNK",
    "QUIET_WATCH_TIMEOUT",
    "kopf_settings",
    "operate",
    "run",
    "whole_object",
]

_log = logging.getLogger("statuswatch.controller")


#: Seconds without a byte before a watch is taken for dead: above two of the API server's bookmark periods.
QUIET_WATCH_TIMEOUT = 150.0
#: StatusWatches per page of kopf's initial list.
KOPF_LIST_CHUNK = 100
#: Seconds a kopf per-object worker waits for another event before it exits (kopf's default: 5).
KOPF_IDLE_WORKER_TIMEOUT = 0.5


def kopf_settings(settings: OperatorSettings) -> kopf.OperatorSettings:
    """kopf's settings for this operator."""
    tuned = kopf.OperatorSettings()
    tuned.posting.enabled = False  # log lines are not Kubernetes Events; we post our own on transitions
    # Explicit watch timeouts: without them kopf's watches can go silent for good (nolar/kopf#585, #1120).
    tuned.watching.server_timeout = 300
    tuned.watching.client_timeout = 330
    tuned.watching.connect_timeout = 30
    # The API server may send no bookmark on a quiet watch for two minutes (seen on pods and configmaps);
    # a shorter inactivity timeout re-opens every quiet watch about once a minute for nothing.
    tuned.watching.inactivity_timeout = QUIET_WATCH_TIMEOUT
    # kopf lists StatusWatches before it watches them; in pages, the decoded list is never all in memory at
    # once (1,000 StatusWatches of 10 members are 7.5 MB of JSON even without managedFields).
    tuned.watching.chunk_size = KOPF_LIST_CHUNK
    # kopf's per-object worker holds the last decoded body while it waits for the next event; after a
    # start or a burst that is every StatusWatch's at once. The handler copies what it needs at once.
    tuned.queueing.idle_timeout = KOPF_IDLE_WORKER_TIMEOUT
    tuned.peering.standalone = settings.peering is None
    if settings.peering is not None:
        tuned.peering.name = settings.peering
        tuned.peering.priority = settings.priority
        tuned.peering.clusterwide = settings.all_namespaces
        tuned.peering.lifetime = settings.peering_lifetime
    # With explicit namespaces there is nothing to scan for, and the RBAC may not allow listing namespaces.
    tuned.scanning.disabled = not settings.all_namespaces
    return tuned


def whole_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The projector of the whole-object view: everything but ``metadata.managedFields``."""
    result = dict(obj)
    metadata = result.get("metadata")
    if isinstance(metadata, Mapping) and "managedFields" in metadata:
        result["metadata"] = {key: value for key, value in metadata.items() if key != "managedFields"}
    return result


def _namespaces(settings: OperatorSettings, config: ClusterConfig) -> list[str]:
    if settings.all_namespaces:
        return []
    return list(settings.namespaces) or [config.namespace]


async def operate(
    settings: OperatorSettings,
    *,
    stop_flag: asyncio.Event | None = None,
    ready_flag: asyncio.Event | None = None,
) -> None:
    """Run the operator until ``stop_flag`` is set or the process is signalled."""
    config = ClusterConfig.load(settings.kubeconfig, settings.context)
    namespaces = _namespaces(settings, config)
    metrics = Metrics()
    # The rule library (~0.5 s to read and compile) is loaded here, off the event loop, rather than by the
    # first custom resource a watch stream projects.
    await asyncio.to_thread(builtin_library)
    async with ApiClient(config) as raw_client:
        client = CountingTransport(raw_client, metrics)
        mapper = RestMapper(client)
        view = SharedView(
            client,
            mapper,
            cluster_wide_threshold=settings.view_threshold,
            settings=StreamSettings(inactivity_timeout=QUIET_WATCH_TIMEOUT),
        )
        # Health checks (CEL) may read any field: the kinds they cover are served by a second view that keeps
        # whole objects (less managedFields); every other kind stays projected in ``view``.
        whole_view = SharedView(
            client,
            mapper,
            cluster_wide_threshold=settings.view_threshold,
            settings=StreamSettings(inactivity_timeout=QUIET_WATCH_TIMEOUT),
            projector=whole_object,
        )
        metrics.add_state("streams", lambda: stream_gauges(view, whole_view))
        metrics.add_state("clock", lambda: _skew_gauge(raw_client.clock))
        poller = StatusPoller(client, mapper, view=view)

        def poller_for(readers: Sequence[StatusReader]) -> Poll:
            # Health-checked members are served from the view of whole objects (expressions read any field);
            # other rules (spec.rules: kstatus) read what the shared view keeps.
            whole = any(getattr(reader, "needs_whole_objects", True) for reader in readers)
            return StatusPoller(
                client, mapper, view=whole_view if whole else view, status_readers=readers
            ).poll

        context = WorkerContext(
            poll=poller.poll,
            scope_of=functools.partial(scope_of, mapper),
            sink=ApiStatusSink(client, concurrency=settings.write_concurrency),
            metrics=metrics,
            settings=settings,
            logger=_log,
            members=view_members(view),
            poller_for=poller_for,
            default_health_checks=await load_default_health_checks(client, config.namespace, logger=_log),
            whole_objects=True,
            # Deadlines count from times other replicas wrote: read "now" from the clock they share.
            now=raw_client.clock.now,
        )
        supervisor = Supervisor(context)
        identity = own_identity()
        gate = Gate(supervisor, client, settings, namespaces=namespaces, identity=identity)
        metrics.add_state("serving", lambda: _serving_gauge(gate))
        ready = ready_flag or asyncio.Event()

        def probe() -> Mapping[str, Any]:
            return {"statuswatches": len(supervisor), "streams": len(view.streams), "active": gate.active}

        registry = build_registry(gate, config, probe)
        server = await _serve_metrics(settings, metrics, ready) if settings.metrics_port is not None else None
        scope = "all namespaces" if settings.all_namespaces else ", ".join(namespaces)
        if settings.shard is not None:
            scope += f" (shard {settings.shard[0]} of {settings.shard[1]})"
        if settings.peering is not None:
            scope += f" as {identity}, peering {settings.peering!r} priority {settings.priority}"
        _log.info("statuswatch operator serving %s on %s", scope, config.server)
        gate_task = asyncio.create_task(gate.run(), name="statuswatch peering gate")
        try:
            await kopf.operator(
                registry=registry,
                settings=kopf_settings(settings),
                clusterwide=settings.all_namespaces,
                namespaces=namespaces,
                standalone=settings.peering is None,
                priority=settings.priority,
                peering_name=settings.peering,
                identity=cast("Any", identity),  # kopf's Identity is a NewType of str, not exported
                liveness_endpoint=settings.liveness,
                stop_flag=stop_flag,
                ready_flag=ready,
            )
        finally:
            await stop_tasks([gate_task], log=_log)
            await supervisor.close()
            await view.close()
            await whole_view.close()
            if server is not None:
                await server.cleanup()


def _skew_gauge(clock: ServerClock) -> Iterable[GaugeMetricFamily]:
    family = GaugeMetricFamily(
        "statuswatch_clock_skew_seconds",
        "The API server's clock minus this process's, from the Date header of its last answer.",
    )
    family.add_metric([], clock.skew)
    yield family


def _serving_gauge(gate: Gate) -> Iterable[GaugeMetricFamily]:
    family = GaugeMetricFamily(
        "statuswatch_serving",
        "1 while this replica serves StatusWatches, 0 while peering pauses it.",
    )
    family.add_metric([], 1.0 if gate.active else 0.0)
    yield family


async def _serve_metrics(settings: OperatorSettings, metrics: Metrics, ready: asyncio.Event) -> web.AppRunner:
    """``/metrics``, ``/healthz`` (the loop answers) and ``/readyz`` (kopf is watching) on one port."""

    async def render(_: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), content_type="text/plain", charset="utf-8")

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(_: web.Request) -> web.Response:
        if ready.is_set():
            return web.Response(text="ok")
        return web.Response(status=503, text="starting")

    app = web.Application()
    app.add_routes([web.get("/metrics", render), web.get("/healthz", healthz), web.get("/readyz", readyz)])
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, settings.metrics_host, settings.metrics_port).start()
    _log.info("metrics on http://%s:%s/metrics", settings.metrics_host, settings.metrics_port)
    return runner


_LOG_FORMATS = {"plain": kopf.LogFormat.PLAIN, "full": kopf.LogFormat.FULL, "json": kopf.LogFormat.JSON}


def run(settings: OperatorSettings, *, verbose: bool = False, log_format: str = "full") -> None:
    """Run the operator in a new event loop (the ``statuswatch run`` command), logging to stderr."""
    kopf.configure(verbose=verbose, log_format=_LOG_FORMATS[log_format], log_refkey="statuswatch")
    if not verbose:
        # kopf logs every handled event at INFO; our workers log what changed, which is what matters.
        for noisy in ("aiohttp.access", "kopf.objects"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    asyncio.run(operate(settings))
