"""What ingesting a watch event costs: ``json.loads``, ``json.loads`` + ``project``, and the typed decoder.

Every event a stream receives is decoded, projected and stored. This benchmark takes real objects from an
API server (a namespace with a Deployment and its KWOK pods, ReplicaSets, Jobs, Services, ConfigMaps,
Secrets and Events, plus Nodes and Namespaces), writes each as the watch line the server sends, and
measures in one run, each operation the same way (see :func:`time_per_item`):

* ``json.loads`` of the line: the floor of any ingest that parses everything;
* ``json.loads`` + :func:`statuswatch.kstatus.project`: the ingest before the typed decoder;
* :class:`statuswatch.watchlist.decoding.TypedDecoder`: decode and project in one step;
* each of the last two followed by the store's ``compact`` (interning), i.e. a stream's whole ``_ingest``.

It also reports the bytes a metadata-only LIST of ConfigMaps and Secrets saves (PartialObjectMetadata).

Run: ``python -m benchmarks.bench_ingest [--repeat R] [--kubeconfig PATH | --objects-file FILE]``. Without
either it starts (or reuses) the local control plane; ``--objects-file`` takes objects captured earlier
(a JSON list, e.g. ``tests/unit/watchlist/fixtures/apiserver_objects.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import statistics
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.clusters import benchmark_cluster
from statuswatch.kstatus import project
from statuswatch.kstatus.fields import group_and_kind
from statuswatch.watchlist import ApiClient, ClusterConfig
from statuswatch.watchlist.decoding import TypedDecoder
from statuswatch.watchlist.store import compact
from statuswatch.watchlist.transport import METADATA_LIST_ACCEPT, Request, get_json, request_json

#: (collection path under the namespace or cluster, apiVersion, kind) of what is read from the server.
NAMESPACED = [
    ("/api/v1/namespaces/{ns}/pods", "v1", "Pod"),
    ("/apis/apps/v1/namespaces/{ns}/deployments", "apps/v1", "Deployment"),
    ("/apis/apps/v1/namespaces/{ns}/replicasets", "apps/v1", "ReplicaSet"),
    ("/apis/batch/v1/namespaces/{ns}/jobs", "batch/v1", "Job"),
    ("/api/v1/namespaces/{ns}/services", "v1", "Service"),
    ("/api/v1/namespaces/{ns}/configmaps", "v1", "ConfigMap"),
    ("/api/v1/namespaces/{ns}/secrets", "v1", "Secret"),
    ("/api/v1/namespaces/{ns}/events", "v1", "Event"),
]
CLUSTER = [("/api/v1/nodes", "v1", "Node"), ("/api/v1/namespaces", "v1", "Namespace")]


def scenario(ns: str, replicas: int) -> list[tuple[str, dict[str, Any]]]:
    """What is created: a typical application's objects, pods dominating as they do in real clusters."""
    labels = {"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "shop"}
    container = {
        "name": "web",
        "image": "registry.example/shop/web:1.4.2",
        "ports": [{"containerPort": 8080}],
        "env": [{"name": f"VAR_{n}", "value": f"value-{n}"} for n in range(6)],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
    }
    template = {"metadata": {"labels": labels}, "spec": {"containers": [container]}}
    spec = {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template}
    deployment = {"metadata": {"name": "web", "labels": labels}, "spec": spec}
    out: list[tuple[str, dict[str, Any]]] = [(f"/apis/apps/v1/namespaces/{ns}/deployments", deployment)]
    job_spec = {"restartPolicy": "Never", "containers": [{"name": "j", "image": "registry.example/j:1"}]}
    for i in range(3):
        job = {"metadata": {"name": f"job-{i}"}, "spec": {"template": {"spec": job_spec}}}
        service = {
            "metadata": {"name": f"svc-{i}"},
            "spec": {"selector": labels, "ports": [{"port": 80 + i}]},
        }
        out.append((f"/apis/batch/v1/namespaces/{ns}/jobs", job))
        out.append((f"/api/v1/namespaces/{ns}/services", service))
    for i in range(6):
        data = {"config.yaml": "".join(f"key{k}: value{k}\n" for k in range(20))}
        out.append((f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": f"cm-{i}"}, "data": data}))
        out.append((f"/api/v1/namespaces/{ns}/secrets", {"metadata": {"name": f"s-{i}"}, "stringData": data}))
    return out


async def _read_server(config: ClusterConfig, replicas: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    ns = f"bench-ingest-{uuid.uuid4().hex[:6]}"
    sizes: dict[str, Any] = {}
    async with ApiClient(config) as api:
        await request_json(api, "POST", "/api/v1/namespaces", body={"metadata": {"name": ns}})
        try:
            for path, body in scenario(ns, replicas):
                await request_json(api, "POST", path, body=body)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # until KWOK has made every pod Running
                pods = (await get_json(api, f"/api/v1/namespaces/{ns}/pods"))["items"]
                running = [
                    p for p in pods if (p.get("status") or {}).get("phase") in ("Running", "Succeeded")
                ]
                if len(running) >= replicas + 3:
                    break
                await asyncio.sleep(1)
            objects: list[dict[str, Any]] = []
            for path, api_version, kind in [*NAMESPACED, *CLUSTER]:
                items = (await get_json(api, path.format(ns=ns)))["items"]
                objects += [{"apiVersion": api_version, "kind": kind, **item} for item in items]
            for kind in ("configmaps", "secrets"):
                path = f"/api/v1/namespaces/{ns}/{kind}"
                full = await api.send(Request(path))
                partial = await api.send(Request(path, accept=METADATA_LIST_ACCEPT))
                sizes[kind] = {"full_bytes": len(full), "metadata_only_bytes": len(partial)}
        finally:
            await request_json(api, "DELETE", f"/api/v1/namespaces/{ns}")
    return objects, sizes


def server_objects(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    """Objects from an API server (or a file): the objects, metadata-only sizes, and where they came from."""
    if args.objects_file:
        return json.loads(Path(args.objects_file).read_text()), {}, args.objects_file
    with benchmark_cluster(args.kubeconfig, args.cluster_dir, keep=args.keep) as config:
        objects, sizes = asyncio.run(_read_server(config, args.replicas))
    return objects, sizes, config.server


def time_per_item(
    items: Sequence[Any], operations: Mapping[str, Callable[[Any], object]], repeat: int, rounds: int
) -> dict[str, float]:
    """Seconds per item of each operation: the best of ``repeat`` timings of ``rounds`` passes over ``items``.

    Every operation is measured the same way: its result is dropped at once (nothing accumulates), and the
    garbage collector is collected before and disabled during each timing, so no operation pays for
    collections that another one's allocations caused. The operations take turns within each repetition,
    so a busy machine slows them alike.
    """
    best = dict.fromkeys(operations, float("inf"))
    for _ in range(repeat):
        for name, operation in operations.items():
            gc.collect()
            gc.disable()
            try:
                started = time.perf_counter()
                for _ in range(rounds):
                    for item in items:
                        operation(item)
                best[name] = min(best[name], time.perf_counter() - started)
            finally:
                gc.enable()
    return {name: seconds / (rounds * len(items)) for name, seconds in best.items()}


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kubeconfig", help="read objects from this cluster instead of the local control plane"
    )
    parser.add_argument("--cluster-dir", help="directory of the local control plane (default: the usual one)")
    parser.add_argument("--objects-file", help="objects captured earlier (a JSON list) instead of a cluster")
    parser.add_argument("--replicas", type=int, default=40, help="pods of the scenario's Deployment")
    parser.add_argument(
        "--keep", action="store_true", help="leave a local control plane started here running"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timings per operation (best reported)")
    parser.add_argument(
        "--target", type=int, default=20_000, help="items per timing (passes over the objects)"
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_ingest", description=__doc__.splitlines()[0]
    )
    add_source_arguments(parser)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    objects, sizes, source = server_objects(args)
    lines: list[tuple[TypedDecoder, bytes]] = []
    decoders: dict[tuple[str, str], TypedDecoder] = {}
    for obj in objects:
        group, kind = group_and_kind(obj)
        decoder = decoders.setdefault((group, kind), TypedDecoder(group, kind, obj["apiVersion"]))
        event = {"type": "MODIFIED", "object": obj}
        lines.append((decoder, json.dumps(event, separators=(",", ":")).encode()))
    for decoder, line in lines:  # the audit of the first objects per kind runs here, not in the timings
        decoder.decode_event(line)
    for decoder, line in lines:
        assert decoder.decode_event(line).event["object"] == project(json.loads(line)["object"])
    slow = sum(d.full_decodes for d in decoders.values())

    rounds = max(1, args.target // len(lines))

    def ingest_json(item: tuple[TypedDecoder, bytes]) -> object:
        return compact(project(json.loads(item[1])["object"]))

    def ingest_typed(item: tuple[TypedDecoder, bytes]) -> object:
        return compact(item[0].decode_event(item[1]).event["object"])

    operations: dict[str, Callable[[tuple[TypedDecoder, bytes]], object]] = {
        "json.loads": lambda item: json.loads(item[1]),
        "json.loads + project": lambda item: project(json.loads(item[1])["object"]),
        "typed decoder (decode + project)": lambda item: item[0].decode_event(item[1]),
        "json.loads + project + compact": ingest_json,
        "typed decoder + compact": ingest_typed,
    }
    timings = time_per_item(lines, operations, args.repeat, rounds)
    kinds: dict[str, int] = {}
    for obj in objects:
        kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
    sizes_b = [len(line) for _, line in lines]
    projected_b = [len(json.dumps(project(obj), separators=(",", ":"))) for obj in objects]
    results: dict[str, Any] = {
        "source": source,
        "objects": len(objects),
        "kinds": kinds,
        "mean_line_bytes": statistics.fmean(sizes_b),
        "mean_projected_bytes": statistics.fmean(projected_b),
        "slow_path_objects": slow,
        "seconds_per_object": timings,
        "metadata_only_sizes": sizes,
        "python": platform.python_version(),
    }
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


def report(r: dict[str, Any]) -> None:
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(r["kinds"].items(), key=lambda kv: -kv[1]))
    print(f"ingest benchmark: {r['objects']} objects from {r['source']} ({kinds});")
    print(
        f"  watch lines of {r['mean_line_bytes']:.0f} B on average, projected"
        f" {r['mean_projected_bytes']:.0f} B; Python {r['python']};"
        f" {r['slow_path_objects']} objects on the typed decoder's slow path"
    )
    timings = r["seconds_per_object"]
    base = timings["json.loads"]
    print(f"  {'operation':<36}{'per object':>12}{'vs json.loads':>15}")
    for name, seconds in timings.items():
        print(f"  {name:<36}{seconds * 1e6:>10.2f}us{seconds / base:>14.2f}x")
    for kind, s in r["metadata_only_sizes"].items():
        print(f"  LIST of {kind}: {s['full_bytes']} B in full, {s['metadata_only_bytes']} B as metadata only")


if __name__ == "__main__":
    main()
