"""Polling cost with 1,000 identifiers: the shared watch view against direct GETs, in one run.

    python -m benchmarks.bench_polling [--kubeconfig FILE] [--deployments 200] [--configmaps 800]

Without ``--kubeconfig`` it starts (or reuses) the local control plane. It creates a namespace of
Deployments (1 replica each, so every one brings a ReplicaSet and a Pod) and ConfigMaps, then polls all of
them with each reader and reports, per full poll cycle: API requests (counted in an ``ApiClient`` subclass,
so discovery and watch requests count too), update events, and the cycle's read time; plus the first cycle
and how long a change (scaling one Deployment) takes to show up as an event.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from statuswatch.aiokit import stop_tasks
from statuswatch.polling import (
    ErrorEvent,
    ObjMetadata,
    Options,
    ResourceUpdateEvent,
    StatusPoller,
    SyncEvent,
)
from statuswatch.polling.clusterreader import ClusterReader
from statuswatch.polling.directreader import DirectClusterReader
from statuswatch.polling.viewreader import ViewClusterReader
from statuswatch.watchlist import ApiClient, ClusterConfig, RestMapper
from statuswatch.watchlist.transport import Lines, Request

NAMESPACE = "bench-polling"


class CountingClient(ApiClient):
    """Counts every request by verb and kind of call (watch streams included)."""

    def __init__(self, config: ClusterConfig) -> None:
        super().__init__(config)
        self.counts: collections.Counter[str] = collections.Counter()

    async def send(self, request: Request) -> bytes:
        verb = _classify(request.path) if request.method == "GET" else request.method
        self.counts[verb] += 1
        return await super().send(request)

    async def stream(self, request: Request) -> Lines:
        self.counts["WATCH"] += 1
        return await super().stream(request)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _classify(path: str) -> str:
    """DISCOVERY, LIST or GET, from the URL path alone."""
    parts = [p for p in path.split("/") if p]
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if not rest:
        return "DISCOVERY"
    if rest[0] == "namespaces" and len(rest) >= 3:
        rest = rest[2:]
    return "LIST" if len(rest) == 1 else "GET"


@dataclass
class CycleMeter:
    """Wraps a cluster reader to mark where full cycles begin."""

    inner: ClusterReader
    counts: collections.Counter[str]
    starts: list[float] = field(default_factory=list)
    requests_at_start: list[collections.Counter[str]] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def namespaced(self, group: str, kind: str) -> bool | None:
        return await self.inner.namespaced(group, kind)

    async def get(self, group: str, kind: str, namespace: str, name: str) -> Mapping[str, Any] | None:
        return await self.inner.get(group, kind, namespace, name)

    async def list(
        self,
        group: str,
        kind: str,
        namespace: str,
        selector: Mapping[str, Any],
        *,
        owner_uid: str | None = None,
    ) -> Sequence[Mapping[str, Any]]:
        return await self.inner.list(group, kind, namespace, selector, owner_uid=owner_uid)

    async def sync(self) -> None:
        self.starts.append(time.monotonic())
        self.requests_at_start.append(collections.Counter(self.counts))
        self.started.set()
        await self.inner.sync()

    async def wait_for_change(self, interval: float, *, idle: bool = False) -> set[ObjMetadata] | None:
        # This benchmark times full cycles, so it asks for them even when an idle poll would not wake.
        return await self.inner.wait_for_change(interval, idle=False)

    async def close(self) -> None:
        await self.inner.close()


@dataclass
class Result:
    name: str
    first_cycle_s: float = 0.0
    first_requests: collections.Counter[str] = field(default_factory=collections.Counter)
    first_events: int = 0
    cycles: int = 0
    steady_requests: collections.Counter[str] = field(default_factory=collections.Counter)
    steady_events: int = 0
    steady_read_s: float = 0.0
    change_latency_s: float = 0.0


async def measure(
    config: ClusterConfig,
    ids: list[ObjMetadata],
    *,
    use_cache: bool,
    cycles: int,
    interval: float,
    kubectl: Any,
) -> Result:
    result = Result("shared view" if use_cache else "direct GETs")
    client = CountingClient(config)
    async with client:
        mapper = RestMapper(client)
        meter: CycleMeter | None = None

        def factory(identifiers: Sequence[ObjMetadata], options: Options) -> ClusterReader:
            nonlocal meter
            inner: ClusterReader
            if options.use_cache:
                inner = ViewClusterReader(identifiers, client, mapper)
            else:
                inner = DirectClusterReader(client, mapper)
            meter = CycleMeter(inner, client.counts)
            return meter

        poller = StatusPoller(cluster_reader_factory=factory)
        stream = poller.poll(ids, Options(poll_interval=interval, use_cache=use_cache))
        started = time.monotonic()
        events = 0
        async for event in stream:
            if isinstance(event, ErrorEvent):
                raise RuntimeError(event.error)
            if isinstance(event, ResourceUpdateEvent):
                events += 1
            if isinstance(event, SyncEvent):
                break
        result.first_cycle_s = time.monotonic() - started
        print(f"  {result.name}: first cycle done in {result.first_cycle_s:.1f}s", flush=True)
        result.first_requests = collections.Counter(client.counts)
        result.first_events = events
        assert meter is not None

        # Steady state: count what `cycles` further full cycles cost. A consumer task keeps reading the
        # stream (quiet cycles send no events, so the cycle count is watched from outside).
        first_full = len(meter.starts)
        target = next(i for i in ids if i.kind == "Deployment")
        updates: list[tuple[float, ObjMetadata]] = []
        target_updated = asyncio.Event()

        async def consume() -> None:
            async for event in stream:
                if isinstance(event, ResourceUpdateEvent):
                    updates.append((time.monotonic(), event.resource.identifier))
                    if event.resource.identifier == target:
                        target_updated.set()

        consumer = asyncio.create_task(consume())
        while len(meter.starts) < first_full + cycles + 1:
            meter.started.clear()
            await meter.started.wait()
        print(f"  {result.name}: {cycles} steady cycles measured", flush=True)
        result.cycles = cycles
        last = first_full + cycles  # sync() of the first cycle after the measured ones
        result.steady_requests = meter.requests_at_start[last] - meter.requests_at_start[first_full]
        result.steady_events = sum(
            1 for at, _ in updates if meter.starts[first_full] <= at < meter.starts[last]
        )
        # a cycle is read time + waiting; the read time is what grows with the number of identifiers
        gaps = [b - a for a, b in itertools.pairwise(meter.starts[first_full : last + 1])]
        result.steady_read_s = max(0.0, sum(gaps) / len(gaps) - interval) if gaps else 0.0

        # Latency of a change: scale one Deployment and time its first update (InProgress, or already
        # "Replicas: 2" when KWOK finished before the next read).
        target_updated.clear()
        scaled_at = time.monotonic()
        await asyncio.to_thread(kubectl, "scale", "deployment", target.name, "-n", NAMESPACE, "--replicas=2")
        await target_updated.wait()
        result.change_latency_s = (
            next(at for at, ident in updates if at > scaled_at and ident == target) - scaled_at
        )
        await stop_tasks([consumer])
        await stream.aclose()
        await asyncio.to_thread(kubectl, "scale", "deployment", target.name, "-n", NAMESPACE, "--replicas=1")
        await asyncio.to_thread(
            kubectl, "rollout", "status", f"deployment/{target.name}", "-n", NAMESPACE, "--timeout=120s"
        )
    return result


def manifests(deployments: int, configmaps: int) -> str:
    docs: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}]
    for i in range(deployments):
        name = f"app-{i:04d}"
        docs.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": NAMESPACE},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
                    },
                },
            }
        )
    for i in range(configmaps):
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"config-{i:04d}", "namespace": NAMESPACE},
                "data": {"key": "value"},
            }
        )
    return yaml.safe_dump_all(docs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--kubeconfig", type=Path, help="an existing cluster (default: the local control plane)"
    )
    parser.add_argument("--deployments", type=int, default=200)
    parser.add_argument("--configmaps", type=int, default=800)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args()

    if args.kubeconfig is None:
        from statuswatch.cluster.local import LocalCluster

        local = LocalCluster()
        local.up(say=print)
        kubeconfig, kubectl_bin = local.kubeconfig, str(local.bin_dir / "kubectl")
    else:
        from statuswatch.cluster.testing import find_kubectl

        kubeconfig, kubectl_bin = args.kubeconfig, find_kubectl()

    import subprocess

    def kubectl(*argv: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [kubectl_bin, f"--kubeconfig={kubeconfig}", *argv],
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        return done.stdout

    total = args.deployments + args.configmaps
    print(f"creating {args.deployments} Deployments and {args.configmaps} ConfigMaps in {NAMESPACE}…")
    kubectl("apply", "--server-side", "-f", "-", stdin=manifests(args.deployments, args.configmaps))
    kubectl("wait", "--for=condition=Available", "deployment", "--all", "-n", NAMESPACE, "--timeout=600s")

    ids = [ObjMetadata("apps", "Deployment", NAMESPACE, f"app-{i:04d}") for i in range(args.deployments)]
    ids += [ObjMetadata("", "ConfigMap", NAMESPACE, f"config-{i:04d}") for i in range(args.configmaps)]
    config = ClusterConfig.load(kubeconfig)
    results = [
        asyncio.run(
            measure(
                config, ids, use_cache=use_cache, cycles=args.cycles, interval=args.interval, kubectl=kubectl
            )
        )
        for use_cache in (True, False)
    ]

    def fmt(counter: collections.Counter[str], per: float = 1.0) -> str:
        total_requests = sum(counter.values()) / per
        detail = ", ".join(f"{k} {v / per:g}" for k, v in sorted(counter.items()))
        return f"{total_requests:g} ({detail})" if counter else "0"

    print(f"\n{total} identifiers ({args.deployments} Deployments with RS+Pod, {args.configmaps} ConfigMaps)")
    print(f"poll interval {args.interval:g}s, {args.cycles} steady cycles measured\n")
    for r in results:
        print(f"[{r.name}]")
        first = fmt(r.first_requests)
        print(f"  first cycle:   {r.first_cycle_s:.2f}s, {r.first_events} events, requests {first}")
        steady = fmt(r.steady_requests, r.cycles)
        print(f"  per cycle:     requests {steady}, events {r.steady_events / r.cycles:g}")
        print(f"  cycle reads:   {r.steady_read_s:.2f}s beyond the interval")
        print(f"  change->event: {r.change_latency_s:.2f}s (scale 1->2 to its first update)")


if __name__ == "__main__":
    main()
