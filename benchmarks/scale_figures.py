"""The pure half of ``benchmarks.scale``: sizes, the scenario with Jobs, per-peer counts, goals, soak checks.

``scale`` drives a cluster, the operator and its peers; everything here works on plain data (audit records,
numbers, event lines) so that it is unit-tested without a cluster (``tests/unit/test_bench_scale.py``). The
peers are told apart at the API server by the user each one runs as, so every count here is per user.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from benchmarks.operator_figures import (
    AuditRecord,
    BenchObject,
    Scenario,
    count_window,
    open_watches,
    summarize_latencies,
)

__all__ = [
    "PEERS",
    "SIZES",
    "Peer",
    "PeerLine",
    "Size",
    "floor_status",
    "growth",
    "kubectl_check",
    "parse_peer_line",
    "peer_counts",
    "per_minute",
    "plan",
    "soak_verdict",
    "table_rows",
]


@dataclass(frozen=True)
class Size:
    """One ``--size``: objects over namespaces, StatusWatches, and how long each window lasts."""

    objects: int
    statuswatches: int
    namespaces: int
    steady_s: float
    latency_samples: int  # operator-only change→status samples (delete/recreate a ConfigMap)
    peer_samples: int  # samples timed on every peer at once (each up to a poll interval long)
    kubectl_objects: int  # objects the kubectl peer checks one by one (its cost is per object)


SIZES: Mapping[str, Size] = {
    "small": Size(200, 20, 4, steady_s=30, latency_samples=20, peer_samples=4, kubectl_objects=12),
    "large": Size(10_000, 1_000, 10, steady_s=60, latency_samples=200, peer_samples=6, kubectl_objects=40),
    # Between large and xlarge, for a machine that cannot hold xlarge (its runs say which size they are).
    "medium": Size(30_000, 3_000, 30, steady_s=60, latency_samples=200, peer_samples=6, kubectl_objects=40),
    # The large mix times ten (issue 21): as many objects per namespace, ten times the namespaces.
    "xlarge": Size(
        100_000, 10_000, 100, steady_s=60, latency_samples=200, peer_samples=6, kubectl_objects=40
    ),
}


@dataclass(frozen=True)
class Peer:
    """A way of knowing the statuses, and the ServiceAccount it runs as (its name at the audit log)."""

    key: str
    label: str
    account: str


PEERS: tuple[Peer, ...] = (
    Peer("shared", "statuswatch operator (shared view)", "sw-shared"),
    Peer("direct", "statuswatch polling, direct GETs", "sw-direct"),
    Peer("kstatus_go", "Go kstatus poller (cli-utils, Flux's 5 s)", "kstatus-go"),
    Peer("kubectl", "kubectl wait / rollout status per object", "kubectl"),
)


def _object_at(index: int, namespace: str) -> BenchObject:
    """Per 50 objects: 1 Deployment, 1 Job, 4 Services, 44 ConfigMaps."""
    if index % 50 == 0:
        return BenchObject("apps", "Deployment", namespace, f"scale-deploy-{index:05d}")
    if index % 50 == 25:
        return BenchObject("batch", "Job", namespace, f"scale-job-{index:05d}")
    if index % 10 == 5:
        return BenchObject("", "Service", namespace, f"scale-svc-{index:05d}")
    return BenchObject("", "ConfigMap", namespace, f"scale-cm-{index:05d}")


def plan(size: Size, namespaces: Sequence[str]) -> Scenario:
    """``size.objects`` spread evenly over ``namespaces``, each listed by exactly one StatusWatch of its
    namespace (``objects / statuswatches`` consecutive objects; every one holds ConfigMaps to change)."""
    if size.objects % size.statuswatches or size.statuswatches % len(namespaces):
        raise ValueError(f"{size} does not divide evenly over {len(namespaces)} namespaces")
    per_watch = size.objects // size.statuswatches
    per_namespace = size.statuswatches // len(namespaces)
    objects: list[BenchObject] = []
    watches: list[tuple[str, str, tuple[BenchObject, ...]]] = []
    for namespace in namespaces:
        for local in range(per_namespace):
            listed = tuple(_object_at(local * per_watch + i, namespace) for i in range(per_watch))
            objects.extend(listed)
            watches.append((namespace, f"scale-sw-{len(watches):05d}", listed))
    return Scenario(tuple(objects), tuple(watches))


def kubectl_check(obj: BenchObject) -> list[str]:
    """The kubectl arguments a script uses to wait for ``obj`` to be ready (one process per object)."""
    target = f"{obj.kind.lower()}/{obj.name}"
    if obj.kind == "Deployment":
        return ["rollout", "status", target, "-n", obj.namespace, "--timeout=60s"]
    if obj.kind == "Job":
        return ["wait", "--for=condition=Complete", target, "-n", obj.namespace, "--timeout=60s"]
    # ConfigMaps and Services have no readiness condition: scripts wait for them to exist.
    return ["wait", "--for=create", target, "-n", obj.namespace, "--timeout=60s"]


def floor_status(listed: Sequence[BenchObject], stamp: str) -> dict[str, Any]:
    """A status of the shape the operator writes for ``listed`` all Current (the initial sync's floor
    patches this onto StatusWatches of their own, so the API server does the same work per write)."""
    conditions = [
        {
            "type": kind,
            "status": value,
            "reason": reason,
            "message": message,
            "observedGeneration": 1,
            "lastTransitionTime": stamp,
        }
        for kind, value, reason, message in (
            ("AllCurrent", "True", "AllCurrent", f"all {len(listed)} resources are Current"),
            ("Ready", "True", "AllCurrent", f"all {len(listed)} resources are Current"),
            ("Reconciling", "False", "AllCurrent", "nothing in progress"),
            ("Stalled", "False", "AllCurrent", "nothing failed"),
        )
    ]
    return {
        "status": {
            "observedGeneration": 1,
            "aggregateStatus": "Current",
            "progress": f"{len(listed)}/{len(listed)}",
            "resources": [
                {
                    "group": o.group,
                    "kind": o.kind,
                    "namespace": o.namespace,
                    "name": o.name,
                    "status": "Current",
                    "message": "Resource is current",
                    "rule": "kstatus",
                }
                for o in listed
            ],
            "conditions": conditions,
        }
    }


def growth(xs: Sequence[float], ys: Sequence[float]) -> str:
    """How ``ys`` grows with ``xs``, in words: the exponent b of a least-squares fit of y = a x^b on log-log
    axes (about constant, about linear, or x^b), and the slope of the last step per 1,000 of x."""
    pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pairs) < 2:
        return "n/a (one point)"
    lx = [math.log(x) for x, _ in pairs]
    ly = [math.log(y) for _, y in pairs]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    spread = sum((v - mx) ** 2 for v in lx)
    b = sum((u - mx) * (v - my) for u, v in zip(lx, ly, strict=True)) / spread if spread else 0.0
    (x0, y0), (x1, y1) = pairs[-2], pairs[-1]
    slope = (y1 - y0) / (x1 - x0) * 1000 if x1 != x0 else 0.0
    if abs(b) < 0.15:
        shape = "about constant"
    elif 0.85 <= b <= 1.15:
        shape = "about linear"
    else:
        shape = f"~x^{b:.2f}"
    return f"{shape} (x^{b:.2f}; last step {slope:+.3g} per 1,000)"


# -- peers' output ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerLine:
    """One line printed by a polling peer (the Go harness or ``peers.direct_poller``)."""

    time: float  # wall clock, seconds since the epoch
    type: str  # start, update, synced, aggregate, error, stop
    namespace: str = ""
    kind: str = ""
    name: str = ""
    status: str = ""
    message: str = ""
    count: int = 0


def parse_peer_line(text: str) -> PeerLine | None:
    """A peer's JSON line, or None for anything else (log noise on stdout is ignored)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or "type" not in data or "t" not in data:
        return None
    return PeerLine(
        time=float(data["t"]),
        type=str(data["type"]),
        namespace=str(data.get("namespace", "")),
        kind=str(data.get("kind", "")),
        name=str(data.get("name", "")),
        status=str(data.get("status", "")),
        message=str(data.get("message", "")),
        count=int(data.get("count", 0)),
    )


# -- counts ----------------------------------------------------------------------------------------------


def per_minute(count: int, seconds: float) -> float:
    if seconds <= 0:
        raise ValueError("a window must last")
    return count * 60.0 / seconds


def peer_counts(records: Sequence[AuditRecord], user: str, start: datetime, end: datetime) -> dict[str, Any]:
    """One peer's requests in ``[start, end)``: reads, writes, status patches, watches started and open."""
    counts = count_window(records, user, start, end)
    seconds = (end - start).total_seconds()
    return {
        "seconds": round(seconds, 2),
        "reads": counts.reads,
        "reads_per_min": round(per_minute(counts.reads, seconds), 1),
        "writes": counts.writes,
        "status_patches": counts.count("patch", "statuswatches/status"),
        "status_patches_per_min": round(
            per_minute(counts.count("patch", "statuswatches/status"), seconds), 1
        ),
        "watches_started": counts.watches_started,
        "open_watches_at_end": sum(open_watches(records, user, end).values()),
        "requests": counts.as_dict(),
    }


# -- soak ------------------------------------------------------------------------------------------------


def soak_verdict(
    baseline: Mapping[str, float], end: Mapping[str, float], tolerance: Mapping[str, float]
) -> dict[str, dict[str, float | bool]]:
    """For each measure, whether its end value is back within ``tolerance`` (absolute) of its baseline."""
    verdict: dict[str, dict[str, float | bool]] = {}
    for key, allowed in tolerance.items():
        before, after = baseline[key], end[key]
        verdict[key] = {
            "baseline": before,
            "end": after,
            "tolerance": allowed,
            "back": abs(after - before) <= allowed,
        }
    return verdict


# -- the table -------------------------------------------------------------------------------------------


def _ms(summary: Mapping[str, Any], key: str) -> str:
    return f"{summary[key] * 1000:.0f} ms" if summary.get("samples") else "n/a"


def _lat(samples: Iterable[float]) -> str:
    s = summarize_latencies(list(samples))
    return f"{_ms(s, 'p50_s')} / {_ms(s, 'p99_s')} (n={s['samples']})"


def table_rows(result: Mapping[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """Rows of (figure, shared view, direct GETs, Go kstatus, kubectl, goal) from a run's JSON."""
    peers = result["peers"]

    def cell(key: str, getter: Any) -> str:
        data = peers.get(key)
        if data is None or data.get("skipped"):
            return "not run" if data is None else f"not run ({data['skipped']})"
        try:
            return str(getter(data))
        except (KeyError, TypeError):
            return "n/a"

    def row(figure: str, getter: Any, goal: str) -> tuple[str, str, str, str, str, str]:
        return (figure, *(cell(p.key, getter) for p in PEERS), goal)  # type: ignore[return-value]

    sizes = result["sizes"]
    kinds = len(sizes["kinds"]) + 2
    return [
        row(
            "API reads/min, steady state",
            lambda d: d["steady"]["reads_per_min"],
            "0 after sync for the shared view, whatever M",
        ),
        row("API reads/min, rollout wave", lambda d: d["wave"]["reads_per_min"], "(reported)"),
        row(
            "watches open (steady, at the API server)",
            lambda d: d["steady"]["open_watches_at_end"],
            f"<= kinds ({kinds}) + kopf's 2, cluster-wide (or kinds x namespaces)",
        ),
        row("watches started in the steady window", lambda d: d["steady"]["watches_started"], "0"),
        row(
            "status writes/min, steady",
            lambda d: d["steady"]["status_patches_per_min"],
            "0",
        ),
        row(
            "change→status p50 / p99, same changes on all",
            lambda d: _lat(d["latency_s"]),
            "p99 < 500 ms at 10k objects / 1k SW",
        ),
        row("initial sync", lambda d: f"{d['sync_s']:.1f} s", _sync_goal(result)),
        row("RSS after sync", lambda d: f"{d['rss_bytes'] / 2**20:.0f} MiB", "< 150 MB at 10k / 1k SW"),
        row(
            "CPU s per idle minute (steady window)",
            lambda d: f"{d['steady_cpu_s'] * 60 / sizes['steady_s']:.2f}",
            "< 0.5 at large, < 2 at xlarge",
        ),
    ]


def _sync_goal(result: Mapping[str, Any]) -> str:
    floor = result.get("floor")
    if not floor:
        return "(reported)"
    created = result["peers"].get("shared", {}).get("statuswatches_created_s")
    creation = f"; creating the StatusWatches, inside the sync, took {created:.1f} s" if created else ""
    return (
        f"within 2x of the floor: {floor['count']} status patches from a plain client took "
        f"{floor['seconds']:.1f} s{creation}"
    )
