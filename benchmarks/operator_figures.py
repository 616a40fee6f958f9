"""The pure half of the operator benchmark: scenario layout, audit-log counting, percentiles, the table.

``bench_operator`` drives a cluster and the operator; everything here works on plain data (lists, dicts,
audit-log lines), so it can be unit-tested and reused by a larger scale benchmark (issue 11) without a
cluster. The counts that matter most are taken from the API server's audit log rather than from the
operator's own metrics, because the point is to check the operator from the outside.
"""

from __future__ import annotations

import collections
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "READ_VERBS",
    "WRITE_VERBS",
    "AuditRecord",
    "BenchObject",
    "Scenario",
    "WatchSession",
    "WindowCounts",
    "count_window",
    "open_watches",
    "parse_audit",
    "percentile",
    "plan_scenario",
    "render_table",
    "summarize_latencies",
    "vmrss_bytes",
    "watch_sessions",
]

READ_VERBS = frozenset({"get", "list"})
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})

# -- scenario ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchObject:
    """One watched object: ``group``/``kind`` as a StatusWatch identifier names them."""

    group: str
    kind: str
    namespace: str
    name: str


@dataclass(frozen=True)
class Scenario:
    """The objects to create and, per StatusWatch (``namespace``, ``name``), the objects it lists."""

    objects: tuple[BenchObject, ...]
    watches: tuple[tuple[str, str, tuple[BenchObject, ...]], ...]


def _object_at(index: int, namespace: str, prefix: str) -> BenchObject:
    """Every 50th object a Deployment, every 10th (offset 5) a Service, the rest ConfigMaps."""
    if index % 50 == 0:
        return BenchObject("apps", "Deployment", namespace, f"{prefix}-deploy-{index:05d}")
    if index % 10 == 5:
        return BenchObject("", "Service", namespace, f"{prefix}-svc-{index:05d}")
    return BenchObject("", "ConfigMap", namespace, f"{prefix}-cm-{index:05d}")


def plan_scenario(
    objects: int, statuswatches: int, namespaces: Sequence[str], prefix: str = "bench"
) -> Scenario:
    """Spread ``objects`` evenly over ``namespaces`` and cover each exactly once with ``statuswatches``.

    Each StatusWatch lists ``objects // statuswatches`` objects of its own namespace (a StatusWatch may only
    look at its own namespace), so both counts must divide evenly. With ten identifiers per watch, every
    watch holds at least eight ConfigMaps (the objects the latency runs delete and recreate).
    """
    if objects <= 0 or statuswatches <= 0 or not namespaces:
        raise ValueError("objects, statuswatches and namespaces must all be positive")
    if objects % statuswatches:
        raise ValueError(f"{objects} objects do not divide among {statuswatches} StatusWatches")
    per_watch = objects // statuswatches
    if statuswatches % len(namespaces):
        raise ValueError(f"{statuswatches} StatusWatches do not divide among {len(namespaces)} namespaces")
    watches_per_namespace = statuswatches // len(namespaces)
    planned: list[BenchObject] = []
    watches: list[tuple[str, str, tuple[BenchObject, ...]]] = []
    for namespace in namespaces:
        for local in range(watches_per_namespace):
            start = local * per_watch
            listed = tuple(_object_at(start + i, namespace, prefix) for i in range(per_watch))
            planned.extend(listed)
            watches.append((namespace, f"{prefix}-sw-{len(watches):05d}", listed))
    return Scenario(tuple(planned), tuple(watches))


# -- audit log -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRecord:
    """The fields of one audit event (one stage of one request) that the counts need."""

    audit_id: str
    stage: str
    verb: str
    user: str
    resource: str  # "configmaps", "statuswatches/status"; the path of a non-resource URL ("/apis")
    namespace: str
    received: datetime
    stage_time: datetime
    uri: str = ""


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def parse_audit(lines: Iterable[str]) -> list[AuditRecord]:
    """Audit events (JSON lines of the API server's log backend); blank or truncated lines are skipped."""
    records = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue  # the last line may be half written while the API server runs
        ref: Mapping[str, Any] = event.get("objectRef") or {}
        resource = ref.get("resource", "")
        if ref.get("subresource"):
            resource = f"{resource}/{ref['subresource']}"
        if not ref:  # a non-resource URL (discovery, /version): named by its path
            resource = str(event.get("requestURI", "")).partition("?")[0]
        records.append(
            AuditRecord(
                audit_id=event["auditID"],
                stage=event["stage"],
                verb=event["verb"],
                user=(event.get("user") or {}).get("username", ""),
                resource=resource,
                namespace=ref.get("namespace", ""),
                received=_time(event["requestReceivedTimestamp"]),
                stage_time=_time(event["stageTimestamp"]),
                uri=str(event.get("requestURI", "")),
            )
        )
    return records


@dataclass
class WindowCounts:
    """Requests one user started inside a time window, by verb and resource."""

    by_verb_resource: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)

    def total(self, verbs: Iterable[str]) -> int:
        wanted = set(verbs)
        return sum(n for (verb, _), n in self.by_verb_resource.items() if verb in wanted)

    @property
    def reads(self) -> int:
        return self.total(READ_VERBS)

    @property
    def writes(self) -> int:
        return self.total(WRITE_VERBS)

    @property
    def watches_started(self) -> int:
        return self.total({"watch"})

    def count(self, verb: str, resource: str) -> int:
        return self.by_verb_resource[(verb, resource)]

    def as_dict(self) -> dict[str, int]:
        return {f"{verb} {resource}": n for (verb, resource), n in sorted(self.by_verb_resource.items())}


def count_window(records: Iterable[AuditRecord], user: str, start: datetime, end: datetime) -> WindowCounts:
    """Requests of ``user`` received in ``[start, end)``, each counted once whatever stages were logged."""
    seen: set[str] = set()
    counts = WindowCounts()
    for record in records:
        if record.user != user or record.audit_id in seen or not start <= record.received < end:
            continue
        seen.add(record.audit_id)
        counts.by_verb_resource[(record.verb, record.resource)] += 1
    return counts


@dataclass(frozen=True)
class WatchSession:
    """One watch request: from its receipt to the stage that ended it (None: still open when logged)."""

    audit_id: str
    resource: str
    namespace: str
    uri: str
    received: datetime
    ended: datetime | None

    def open_at(self, at: datetime) -> bool:
        return self.received <= at and (self.ended is None or self.ended > at)

    @property
    def lasted_s(self) -> float | None:
        return None if self.ended is None else (self.ended - self.received).total_seconds()


def watch_sessions(records: Iterable[AuditRecord], user: str) -> list[WatchSession]:
    """The watch requests of ``user``, in order of receipt; a watch ends at ResponseComplete (or Panic)."""
    first: dict[str, AuditRecord] = {}
    ended: dict[str, datetime] = {}
    for record in records:
        if record.user != user or record.verb != "watch":
            continue
        first.setdefault(record.audit_id, record)
        if record.stage in {"ResponseComplete", "Panic"}:
            ended[record.audit_id] = record.stage_time
    sessions = [
        WatchSession(r.audit_id, r.resource, r.namespace, r.uri, r.received, ended.get(r.audit_id))
        for r in first.values()
    ]
    return sorted(sessions, key=lambda session: session.received)


def open_watches(records: Iterable[AuditRecord], user: str, at: datetime) -> collections.Counter[str]:
    """Watch requests of ``user`` received by ``at`` whose response had not completed by then, by resource.

    Needs the RequestReceived-to-ResponseComplete stages in the log.
    """
    return collections.Counter(s.resource for s in watch_sessions(records, user) if s.open_at(at))


# -- numbers -------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100]: always a value that was measured, never interpolated."""
    if not values:
        raise ValueError("no values")
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} outside (0, 100]")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summarize_latencies(values: Sequence[float]) -> dict[str, float | int]:
    """Sample count, p50, p99 and max, in seconds (empty when nothing was measured)."""
    if not values:
        return {"samples": 0}
    return {
        "samples": len(values),
        "p50_s": percentile(values, 50),
        "p99_s": percentile(values, 99),
        "max_s": max(values),
    }


def vmrss_bytes(proc_status: str) -> int:
    """Resident set size from the text of ``/proc/PID/status`` (its VmRSS line is in kB)."""
    for line in proc_status.splitlines():
        if line.startswith("VmRSS:"):
            value, unit = line.split()[1:3]
            if unit != "kB":
                raise ValueError(f"unexpected VmRSS unit {unit!r}")
            return int(value) * 1024
    raise ValueError("no VmRSS line (is the process a zombie?)")


def render_table(rows: Sequence[tuple[str, str, str]]) -> str:
    """A plain-text table of (figure, measured, goal) rows."""
    header = ("figure", "measured", "goal")
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(3)]
    lines = []
    for row in (header, tuple("-" * w for w in widths), *rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)
