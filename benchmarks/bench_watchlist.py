"""Benchmark of the watchlist reader: initial sync time and memory per cached object.

Run: ``python -m benchmarks.bench_watchlist [--objects 10000] [--kubeconfig PATH]``. Without a kubeconfig
it starts (or reuses) the local control plane. It creates the objects (ConfigMaps, concurrently) in a
fresh namespace, then, in one run, compares

* initial sync time of one stream: WatchList (``sendInitialEvents``) against paged LIST (500 per page);
* memory per cached object: the shared view's projected store against keeping the full objects as parsed,

and deletes the namespace afterwards. Timings are medians of ``--repeat`` runs without tracing; memory is
measured in separate runs with tracemalloc (traced bytes still held once the sync is done, after a GC,
divided by the number of objects; for the view that includes its dedup filter).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from benchmarks.clusters import benchmark_cluster
from statuswatch.watchlist import ApiClient, ClusterConfig, SharedView, StreamSettings
from statuswatch.watchlist.transport import Request, get_json, request_json

PAGE_SIZE = 500


def payload(i: int) -> dict[str, Any]:
    """A ConfigMap with labels and ~300 bytes of data, like a small application config."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"bench-{i:05d}",
            "labels": {"app.kubernetes.io/name": "bench", "shard": str(i % 16)},
            "annotations": {"bench.statuswatch.io/index": str(i)},
        },
        "data": {
            "config.yaml": f"index: {i}\nsettings:\n" + "".join(f"  key{k}: value{k}\n" for k in range(20))
        },
    }


async def create_objects(api: ApiClient, namespace: str, count: int, concurrency: int = 64) -> float:
    started = time.perf_counter()
    await request_json(api, "POST", "/api/v1/namespaces", body={"metadata": {"name": namespace}})
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await request_json(api, "POST", f"/api/v1/namespaces/{namespace}/configmaps", body=payload(i))

    await asyncio.gather(*(one(i) for i in range(count)))
    return time.perf_counter() - started


async def sync_view(config: ClusterConfig, namespace: str, *, watchlist: bool) -> tuple[float, int, str]:
    """Seconds until one stream of the shared view is synced; also the object count and the sync mode."""
    async with ApiClient(config) as api:
        if not watchlist:
            api.capabilities["watchlist"] = False
        async with SharedView(api, settings=StreamSettings(page_size=PAGE_SIZE)) as view:
            started = time.perf_counter()
            async with view.subscribe("", "ConfigMap", namespace, changes=False) as sub:
                await sub.wait_synced()
                elapsed = time.perf_counter() - started
                return elapsed, len(sub.list()), str(sub.stream.sync_mode)


async def measure(build: Callable[[], Coroutine[Any, Any, Any]]) -> tuple[int, Any]:
    """Bytes still allocated (traced) once ``build`` returns what it keeps; returns (bytes, kept)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = await build()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before, kept


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with benchmark_cluster(args.kubeconfig, args.cluster_dir, keep=args.keep) as config:
        return await measure_all(args, config)


async def measure_all(args: argparse.Namespace, config: ClusterConfig) -> dict[str, Any]:
    namespace = f"bench-watchlist-{uuid.uuid4().hex[:6]}"
    results: dict[str, Any] = {"objects": args.objects}
    async with ApiClient(config) as api:
        try:
            print(f"creating {args.objects} ConfigMaps in {namespace} ...", file=sys.stderr)
            results["create_seconds"] = await create_objects(api, namespace, args.objects)
            sample = await get_json(api, f"/api/v1/namespaces/{namespace}/configmaps/bench-00000")
            results["json_bytes_per_object"] = len(json.dumps(sample, separators=(",", ":")))
            results["managed_fields_bytes"] = len(json.dumps(sample["metadata"].get("managedFields")))

            timings: dict[str, list[float]] = {"watchlist": [], "list": []}
            for _ in range(args.repeat):
                for mode in ("watchlist", "list"):
                    seconds, count, used = await sync_view(config, namespace, watchlist=mode == "watchlist")
                    assert used == mode, f"asked for {mode}, the stream used {used}"
                    assert count == args.objects + 1, count  # + kube-root-ca.crt
                    timings[mode].append(seconds)
            results["sync_seconds"] = {mode: statistics.median(t) for mode, t in timings.items()}

            # Memory, projected: the shared view's own store after a WatchList sync.
            async def projected() -> tuple[ApiClient, SharedView, Any]:
                client = ApiClient(config)
                view = SharedView(client)
                sub = await view.subscribe("", "ConfigMap", namespace, changes=False).open()
                await sub.wait_synced()
                return client, view, sub

            used_bytes, (client, view, _) = await measure(projected)
            results["bytes_per_object_projected"] = used_bytes / (args.objects + 1)
            await view.close()
            await client.close()

            # Memory, full objects: every object as parsed from the same WatchList stream, nothing dropped.
            async def full() -> dict[tuple[str, str], Any]:
                store: dict[tuple[str, str], Any] = {}
                params: dict[str, str | int] = {
                    "watch": 1,
                    "sendInitialEvents": "true",
                    "allowWatchBookmarks": "true",
                    "resourceVersionMatch": "NotOlderThan",
                    "resourceVersion": "",
                }
                async with ApiClient(config) as client:
                    lines = await client.stream(Request(f"/api/v1/namespaces/{namespace}/configmaps", params))
                    async for line in lines:
                        event = json.loads(line)
                        obj = event["object"]
                        if event["type"] == "BOOKMARK":
                            if obj["metadata"].get("annotations", {}).get("k8s.io/initial-events-end"):
                                break
                            continue
                        store[obj["metadata"]["namespace"], obj["metadata"]["name"]] = obj
                    await lines.aclose()
                return store

            used_bytes, store = await measure(full)
            assert len(store) == args.objects + 1
            results["bytes_per_object_full"] = used_bytes / len(store)
            del store
        finally:
            await request_json(api, "DELETE", f"/api/v1/namespaces/{namespace}")
    return results


def report(r: dict[str, Any]) -> None:
    n = r["objects"]
    s = r["sync_seconds"]
    print(
        f"\nwatchlist benchmark: {n} ConfigMaps ({r['json_bytes_per_object']} bytes of JSON each, "
        f"{r['managed_fields_bytes']} of them managedFields); created in {r['create_seconds']:.1f}s"
    )
    print(f"{'':34}{'WatchList':>14}{'paged LIST':>14}")
    print(f"{'initial sync of one stream (s)':34}{s['watchlist']:>14.2f}{s['list']:>14.2f}")
    print(f"{'objects per second':34}{n / s['watchlist']:>14.0f}{n / s['list']:>14.0f}")
    print(f"\n{'':34}{'projected':>14}{'full objects':>14}")
    print(
        f"{'memory per cached object (bytes)':34}{r['bytes_per_object_projected']:>14.0f}"
        f"{r['bytes_per_object_full']:>14.0f}"
    )
    print(
        f"{'for ' + str(n) + ' objects (MiB)':34}{r['bytes_per_object_projected'] * n / 2**20:>14.1f}"
        f"{r['bytes_per_object_full'] * n / 2**20:>14.1f}"
    )
    goal = "met" if r["bytes_per_object_projected"] < 4096 else "NOT met"
    print(f"\ngoal of under 4 KB per cached object: {goal}")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_watchlist", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per mode (median reported)")
    parser.add_argument("--kubeconfig", help="use this cluster instead of the local control plane")
    parser.add_argument("--cluster-dir", help="directory of the local control plane (default: the usual one)")
    parser.add_argument(
        "--keep", action="store_true", help="leave a local control plane started here running"
    )
    parser.add_argument("--json", help="also write the figures to this file")
    return parser.parse_args(argv)


def run(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results = asyncio.run(main(args))
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(run())
