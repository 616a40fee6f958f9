"""benchmarks.scale's pure parts: the scenario, kubectl's commands, peers' lines, per-peer counts, soak."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

# benchmarks/ is a top-level directory, not an installed package (see test_bench_operator.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.operator_figures import AuditRecord
from benchmarks.scale import audit_files, check_complete, object_path, table_markdown, update_docs
from benchmarks.scale_figures import (
    PEERS,
    SIZES,
    Size,
    floor_status,
    growth,
    kubectl_check,
    parse_peer_line,
    peer_counts,
    per_minute,
    plan,
    soak_verdict,
    table_rows,
)

T0 = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def test_plan_covers_every_object_once_with_every_kind() -> None:
    size = SIZES["small"]
    namespaces = [f"ns-{i}" for i in range(size.namespaces)]
    scenario = plan(size, namespaces)
    assert len(scenario.objects) == size.objects
    assert len(set(scenario.objects)) == size.objects
    assert len(scenario.watches) == size.statuswatches
    listed = [o for _, _, objs in scenario.watches for o in objs]
    assert sorted(listed, key=repr) == sorted(scenario.objects, key=repr)
    kinds = {o.kind for o in scenario.objects}
    assert kinds == {"Deployment", "Job", "Service", "ConfigMap"}
    for namespace, _, objs in scenario.watches:  # a StatusWatch may only look at its own namespace
        assert {o.namespace for o in objs} == {namespace}
        assert any(o.kind == "ConfigMap" for o in objs)  # the latency runs change one


def test_large_size_is_the_issues_size() -> None:
    large = SIZES["large"]
    assert (large.objects, large.statuswatches) == (10_000, 1_000)
    scenario = plan(large, [f"ns-{i}" for i in range(large.namespaces)])
    assert sum(o.kind == "Deployment" for o in scenario.objects) == 200
    assert sum(o.kind == "Job" for o in scenario.objects) == 200


def test_xlarge_is_the_large_mix_times_ten() -> None:
    large, xlarge = SIZES["large"], SIZES["xlarge"]
    assert (xlarge.objects, xlarge.statuswatches) == (100_000, 10_000)
    assert xlarge.objects // xlarge.namespaces == large.objects // large.namespaces  # as dense per namespace
    scenario = plan(xlarge, [f"ns-{i}" for i in range(xlarge.namespaces)])
    by_kind = {k: sum(o.kind == k for o in scenario.objects) for k in ("Deployment", "Job", "Service")}
    assert by_kind == {"Deployment": 2_000, "Job": 2_000, "Service": 8_000}
    medium = SIZES["medium"]
    assert large.objects < medium.objects < xlarge.objects
    plan(medium, [f"ns-{i}" for i in range(medium.namespaces)])  # divides evenly


def test_floor_status_is_one_all_current_status_per_listed_object() -> None:
    scenario = plan(SIZES["small"], ["a", "b", "c", "d"])
    _, _, listed = scenario.watches[0]
    body = floor_status(listed, "2026-12-03T10:00:00Z")["status"]
    assert body["aggregateStatus"] == "Current"
    assert body["progress"] == f"{len(listed)}/{len(listed)}"
    assert [(r["kind"], r["name"]) for r in body["resources"]] == [(o.kind, o.name) for o in listed]
    assert {c["type"] for c in body["conditions"]} == {"AllCurrent", "Ready", "Reconciling", "Stalled"}


def test_plan_refuses_uneven_sizes() -> None:
    with pytest.raises(ValueError, match="evenly"):
        plan(Size(100, 30, 2, 1, 1, 1, 1), ["a", "b"])


def test_kubectl_checks_are_what_scripts_run() -> None:
    scenario = plan(SIZES["small"], ["a", "b", "c", "d"])
    by_kind = {o.kind: o for o in scenario.objects}
    assert kubectl_check(by_kind["Deployment"])[:3] == [
        "rollout",
        "status",
        f"deployment/{by_kind['Deployment'].name}",
    ]
    assert "--for=condition=Complete" in kubectl_check(by_kind["Job"])
    assert "--for=create" in kubectl_check(by_kind["ConfigMap"])
    assert (
        object_path(by_kind["Job"])
        == f"/apis/batch/v1/namespaces/{by_kind['Job'].namespace}/jobs/{by_kind['Job'].name}"
    )


def test_peer_lines_from_go_and_python_alike() -> None:
    line = parse_peer_line(
        json.dumps({"t": 5.5, "type": "update", "namespace": "a", "name": "x", "status": "Current"})
    )
    assert line is not None
    assert (line.time, line.type, line.namespace, line.name, line.status) == (
        5.5,
        "update",
        "a",
        "x",
        "Current",
    )
    assert parse_peer_line("I1122 klog noise") is None
    assert parse_peer_line(json.dumps({"type": "update"})) is None


def _record(
    audit_id: str, verb: str, resource: str, at: datetime, stage: str = "ResponseComplete", user: str = "u"
) -> AuditRecord:
    return AuditRecord(audit_id, stage, verb, user, resource, "ns", at, at)


def test_peer_counts_are_per_user_and_per_window() -> None:
    inside = T0 + timedelta(seconds=10)
    records = [
        _record("1", "get", "configmaps", inside),
        _record("2", "list", "pods", inside),
        _record("3", "patch", "statuswatches/status", inside),
        _record("4", "get", "configmaps", inside, user="someone-else"),
        _record("5", "get", "configmaps", T0 + timedelta(seconds=40)),  # after the window
        _record("6", "watch", "deployments", T0, stage="ResponseStarted"),  # still open at the end
    ]
    counts = peer_counts(records, "u", T0, T0 + timedelta(seconds=30))
    assert counts["reads"] == 2
    assert counts["reads_per_min"] == 4.0
    assert counts["status_patches"] == 1
    assert counts["watches_started"] == 1
    assert counts["open_watches_at_end"] == 1


def test_per_minute_needs_a_window() -> None:
    assert per_minute(3, 30) == 6
    with pytest.raises(ValueError, match="last"):
        per_minute(3, 0)


def test_soak_verdict_flags_what_did_not_come_back() -> None:
    verdict = soak_verdict(
        {"rss": 100.0, "streams": 5.0}, {"rss": 104.0, "streams": 6.0}, {"rss": 10.0, "streams": 0.0}
    )
    assert verdict["rss"]["back"] is True
    assert verdict["streams"]["back"] is False


def _result() -> dict[str, object]:
    full = {
        "steady": {
            "reads_per_min": 0.0,
            "open_watches_at_end": 5,
            "watches_started": 0,
            "status_patches_per_min": 0.0,
        },
        "wave": {"reads_per_min": 1.0},
        "latency_s": [0.01, 0.02],
        "sync_s": 3.0,
        "rss_bytes": 80 * 2**20,
        "steady_cpu_s": 0.5,
    }
    return {
        "size": "small",
        "started": "2026-11-22T06:00:00+00:00",
        "sizes": {
            "objects": 200,
            "statuswatches": 20,
            "identifiers_per_statuswatch": 10,
            "namespaces": 4,
            "kinds": ["ConfigMap", "Deployment", "Job", "Service"],
            "by_kind": {"ConfigMap": 1},
            "poll_interval_s": 5.0,
            "steady_s": 30.0,
        },
        "peers": {
            "shared": dict(full),
            "direct": dict(full),
            "kstatus_go": {"skipped": "no Go"},
            "kubectl": {**full, "note": "sampled"},
        },
    }


def test_table_has_a_column_per_peer_and_a_goal() -> None:
    rows = table_rows(_result())
    assert all(len(row) == len(PEERS) + 2 for row in rows)
    reads = rows[0]
    assert reads[1] == "0.0"
    assert reads[3] == "not run (no Go)"
    assert reads[-1].startswith("0 after sync")
    markdown = table_markdown(_result())
    assert "10 ms / 20 ms (n=2)" in markdown


def test_check_complete_names_what_is_missing() -> None:
    result = _result()
    assert check_complete(result) == []
    del result["peers"]["direct"]["wave"]  # type: ignore[index]
    assert check_complete(result) == ["direct: no wave"]


def test_update_docs_replaces_only_its_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import benchmarks.scale as scale

    docs = tmp_path / "benchmarks.md"
    docs.write_text("intro\n<!-- scale:small:begin -->\nold\n<!-- scale:small:end -->\nrest\n")
    monkeypatch.setattr(scale, "DOCS", docs)
    update_docs("small", "| new |\n", ["latency.png"])
    text = docs.read_text()
    assert text.startswith("intro\n<!-- scale:small:begin -->\n| new |\n")
    assert "](benchmarks/small-latency.png)" in text
    assert text.endswith("<!-- scale:small:end -->\nrest\n")
    assert "old" not in text
    with pytest.raises(RuntimeError, match="no"):
        update_docs("large", "x\n", [])


def test_audit_files_include_the_rotated_parts_oldest_first(tmp_path: Path) -> None:
    log = tmp_path / "audit-bench-scale-1.log"
    names = [
        "audit-bench-scale-1-2026-11-22T06-45-20.391.log",
        "audit-bench-scale-1-2026-11-22T06-40-48.274.log",
    ]
    for name in [*names, log.name, "audit-bench-scale-2.log", "kube-apiserver.log"]:
        (tmp_path / name).write_text("")
    assert [p.name for p in audit_files(log)] == [*sorted(names), log.name]


def test_growth_names_the_shape_of_a_curve() -> None:
    xs = [100, 1_000, 3_000, 10_000]
    assert growth(xs, [50, 50.5, 50.2, 50.9]).startswith("about constant")
    assert growth(xs, [x * 0.02 for x in xs]).startswith("about linear (x^1.00; last step +20 per 1,000)")
    assert growth(xs, [x**0.5 for x in xs]).startswith("~x^0.50")
    assert growth([100], [3.0]) == "n/a (one point)"


def test_sweep_layout_keeps_the_large_mix_per_namespace() -> None:
    from benchmarks.scale_sweep import layout

    assert layout(100_000, 10_000) == (100, Size(100_000, 10_000, 100, 60.0, 0, 0, 0))
    namespaces, size = layout(10_000, 100)
    assert (namespaces, size.namespaces) == (10, 10)  # 10 StatusWatches per namespace
    scenario = plan(size, [f"bench-scale-{i}" for i in range(size.namespaces)])
    full = plan(SIZES["large"], [f"bench-scale-{i}" for i in range(10)])
    assert set(scenario.objects) <= set(full.objects)  # every listed object is one the large size made
    with pytest.raises(ValueError, match="fit"):
        layout(10_000, 3_000)


def test_sweep_table_has_both_axes_with_growth() -> None:
    from benchmarks.scale_sweep import sweep_markdown

    def point(objects: int, m: int, rss: float, go: bool = True) -> dict[str, Any]:
        return {
            "objects": objects,
            "statuswatches": m,
            "rss_bytes": rss * 2**20,
            "idle_cpu_s_per_min": 0.1,
            "sync_s": m / 100,
            "latency": {"from_request": {"p99_s": 0.05}, "missed": []},
            **({"kstatus_go": {"rss_bytes": 2**30, "idle_cpu_s_per_min": 11.0, "sync_s": 4.0}} if go else {}),
        }

    result = {
        "started": "2026-12-03T11:20",
        "fixed_objects": 100_000,
        "fixed_statuswatches": 1_000,
        "points": [point(100_000, m, 100 + m / 100) for m in (100, 1_000, 3_000, 10_000)]
        + [point(n, 1_000, 100) for n in (10_000, 30_000)],
    }
    text = sweep_markdown(result)
    assert "| statuswatches | 100 | 1,000 | 3,000 | 10,000 | growth |" in text
    assert "| objects | 10,000 | 30,000 | 100,000 | growth |" in text
    assert "| RSS MiB, Go kstatus poller | 1,024 | 1,024 | 1,024 | 1,024 | about constant" in text
    assert "| initial sync s, operator | 1.00 | 10 | 30 | 100 | about linear" in text
