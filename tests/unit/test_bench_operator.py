"""The operator benchmark's logic on plain data: scenario layout, audit counts, percentiles, RSS, the report.

These decide what the published figures say (how many requests the operator made, how many watches it
held open, what the p99 is), so they are checked on plain data here rather than trusted.
"""

from __future__ import annotations

import collections
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

# benchmarks/ is a top-level directory, not an installed package, and pytest's rootdir-relative import
# puts only tests/ on sys.path; `pythonpath = ["."]` in pyproject's pytest options would make this unneeded.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.bench_operator import is_current, shows, table
from benchmarks.operator_figures import (
    count_window,
    open_watches,
    parse_audit,
    percentile,
    plan_scenario,
    render_table,
    summarize_latencies,
    vmrss_bytes,
    watch_sessions,
)

OPERATOR = "system:serviceaccount:bench-op-system:statuswatch"
T0 = datetime(2026, 11, 22, 6, 0, 0, tzinfo=UTC)


def _stamp(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def audit_line(
    audit_id: str,
    stage: str,
    verb: str,
    resource: str,
    received: float,
    at: float | None = None,
    *,
    user: str = OPERATOR,
    subresource: str | None = None,
) -> str:
    ref: dict[str, Any] = {"resource": resource, "namespace": "ns", "apiVersion": "v1"}
    if subresource:
        ref["subresource"] = subresource
    event = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": audit_id,
        "stage": stage,
        "verb": verb,
        "user": {"username": user, "groups": ["system:serviceaccounts"]},
        "objectRef": ref,
        "requestReceivedTimestamp": _stamp(received),
        "stageTimestamp": _stamp(received if at is None else at),
    }
    return json.dumps(event)


def request(audit_id: str, verb: str, resource: str, received: float, **kw: Any) -> list[str]:
    """A short request as the log backend writes it: RequestReceived, then ResponseComplete."""
    return [
        audit_line(audit_id, "RequestReceived", verb, resource, received, **kw),
        audit_line(audit_id, "ResponseComplete", verb, resource, received, received + 0.01, **kw),
    ]


# -- scenario ------------------------------------------------------------------------------------------


def test_plan_covers_every_object_once_with_watches_of_their_own_namespace() -> None:
    scenario = plan_scenario(5000, 500, [f"ns-{i}" for i in range(5)])
    assert len(scenario.objects) == 5000
    assert len(set(scenario.objects)) == 5000
    assert len(scenario.watches) == 500
    listed = [obj for _, _, objects in scenario.watches for obj in objects]
    assert collections.Counter(listed) == collections.Counter(scenario.objects)
    for namespace, _, objects in scenario.watches:
        assert len(objects) == 10
        assert {obj.namespace for obj in objects} == {namespace}
    names = [(namespace, name) for namespace, name, _ in scenario.watches]
    assert len(set(names)) == 500
    assert collections.Counter(ns for ns, _ in names) == {f"ns-{i}": 100 for i in range(5)}


def test_plan_mixes_kinds_and_leaves_configmaps_in_every_watch() -> None:
    scenario = plan_scenario(5000, 500, [f"ns-{i}" for i in range(5)])
    kinds = collections.Counter(obj.kind for obj in scenario.objects)
    assert kinds == {"Deployment": 100, "Service": 500, "ConfigMap": 4400}
    assert all(obj.group == "apps" for obj in scenario.objects if obj.kind == "Deployment")
    assert all(sum(o.kind == "ConfigMap" for o in objects) >= 8 for _, _, objects in scenario.watches)


@pytest.mark.parametrize(
    ("objects", "watches", "namespaces", "message"),
    [
        (5000, 300, 5, "do not divide among 300 StatusWatches"),
        (5000, 500, 3, "do not divide among 3 namespaces"),
        (0, 500, 5, "must all be positive"),
    ],
)
def test_plan_refuses_uneven_sizes(objects: int, watches: int, namespaces: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_scenario(objects, watches, [f"ns-{i}" for i in range(namespaces)])


# -- audit log -----------------------------------------------------------------------------------------


def test_count_window_counts_each_request_once_by_verb_and_resource() -> None:
    lines = [
        *request("a", "list", "configmaps", 1),
        *request("b", "get", "statuswatches", 2),
        *request("c", "patch", "statuswatches", 3, subresource="status"),
        *request("d", "patch", "statuswatches", 4, subresource="status"),
        *request("e", "create", "events", 5),
        audit_line("w", "RequestReceived", "watch", "pods", 6),
        audit_line("w", "ResponseStarted", "watch", "pods", 6, 6.01),
    ]
    counts = count_window(parse_audit(lines), OPERATOR, T0, T0 + timedelta(seconds=60))
    assert counts.as_dict() == {
        "create events": 1,
        "get statuswatches": 1,
        "list configmaps": 1,
        "patch statuswatches/status": 2,
        "watch pods": 1,
    }
    assert (counts.reads, counts.writes, counts.watches_started) == (2, 3, 1)
    assert counts.count("patch", "statuswatches/status") == 2


def test_count_window_keeps_to_the_window_and_the_user() -> None:
    lines = [
        *request("before", "get", "configmaps", -0.5),
        *request("inside", "get", "configmaps", 0),
        *request("other", "get", "configmaps", 10, user="system:admin"),
        *request("at-end", "get", "configmaps", 60),
    ]
    counts = count_window(parse_audit(lines), OPERATOR, T0, T0 + timedelta(seconds=60))
    assert counts.as_dict() == {"get configmaps": 1}


def test_a_request_whose_response_ends_after_the_window_counts_where_it_was_received() -> None:
    lines = [audit_line("late", "ResponseComplete", "list", "pods", 59.9, 61.0)]
    counts = count_window(parse_audit(lines), OPERATOR, T0, T0 + timedelta(seconds=60))
    assert counts.reads == 1


def test_idle_window_with_only_open_watches_counts_nothing() -> None:
    lines = [
        audit_line("w1", "RequestReceived", "watch", "configmaps", -30),
        audit_line("w1", "ResponseStarted", "watch", "configmaps", -30, -29.99),
    ]
    counts = count_window(parse_audit(lines), OPERATOR, T0, T0 + timedelta(seconds=60))
    assert (counts.reads, counts.writes, counts.watches_started) == (0, 0, 0)
    assert open_watches(parse_audit(lines), OPERATOR, T0 + timedelta(seconds=60)) == {"configmaps": 1}


def test_open_watches_are_received_and_not_yet_complete() -> None:
    lines = [
        audit_line("cm", "RequestReceived", "watch", "configmaps", 0),
        audit_line("cm", "ResponseStarted", "watch", "configmaps", 0, 0.01),
        audit_line("pods-old", "RequestReceived", "watch", "pods", 0),
        audit_line("pods-old", "ResponseComplete", "watch", "pods", 0, 20),
        audit_line("pods-new", "RequestReceived", "watch", "pods", 20.5),
        audit_line("late", "RequestReceived", "watch", "services", 40),
        audit_line("panicked", "RequestReceived", "watch", "secrets", 1),
        audit_line("panicked", "Panic", "watch", "secrets", 1, 2),
        audit_line("admin", "RequestReceived", "watch", "pods", 1, user="system:admin"),
        *request("list", "list", "pods", 3),
    ]
    records = parse_audit(lines)
    assert open_watches(records, OPERATOR, T0 + timedelta(seconds=10)) == {"configmaps": 1, "pods": 1}
    assert open_watches(records, OPERATOR, T0 + timedelta(seconds=30)) == {"configmaps": 1, "pods": 1}
    assert open_watches(records, OPERATOR, T0 + timedelta(seconds=50)) == {
        "configmaps": 1,
        "pods": 1,
        "services": 1,
    }


def test_parse_audit_skips_blank_and_half_written_lines() -> None:
    whole = audit_line("x", "ResponseComplete", "get", "statuswatches", 1, 2, subresource="status")
    records = parse_audit(["", whole, whole[:40]])
    assert len(records) == 1
    record = records[0]
    assert (record.verb, record.resource, record.user, record.namespace) == (
        "get",
        "statuswatches/status",
        OPERATOR,
        "ns",
    )
    assert record.received == T0 + timedelta(seconds=1)
    assert record.stage_time == T0 + timedelta(seconds=2)


def test_parse_audit_reads_non_resource_requests() -> None:
    event = json.loads(audit_line("h", "ResponseComplete", "get", "x", 1))
    del event["objectRef"]
    event["requestURI"] = "/apis?timeout=32s"
    assert parse_audit([json.dumps(event)])[0].resource == "/apis"


# -- numbers -------------------------------------------------------------------------------------------


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 201)]  # 1..200, shuffled order must not matter
    shuffled = values[1::2] + values[::2]
    assert percentile(shuffled, 50) == 100
    assert percentile(shuffled, 99) == 198
    assert percentile(shuffled, 100) == 200
    assert percentile([0.3], 99) == 0.3
    assert percentile([1.0, 2.0], 50) == 1.0


def test_p99_of_a_hundred_samples_is_the_second_largest_not_the_max() -> None:
    values = [0.1] * 98 + [0.5, 9.0]
    assert percentile(values, 99) == 0.5


@pytest.mark.parametrize("q", [0, -1, 101])
def test_percentile_refuses_out_of_range(q: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], q)


def test_percentile_refuses_no_values() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_summarize_latencies() -> None:
    assert summarize_latencies([]) == {"samples": 0}
    assert summarize_latencies([0.2, 0.1, 0.4]) == {"samples": 3, "p50_s": 0.2, "p99_s": 0.4, "max_s": 0.4}


def test_vmrss_bytes_from_proc_status() -> None:
    text = "Name:\tpython\nVmPeak:\t  300000 kB\nVmRSS:\t   81234 kB\nThreads:\t4\n"
    assert vmrss_bytes(text) == 81234 * 1024
    with pytest.raises(ValueError, match="no VmRSS"):
        vmrss_bytes("Name:\tpython\nState:\tZ (zombie)\n")


def test_render_table_aligns_columns() -> None:
    text = render_table([("reads", "0", "0"), ("latency p99", "120 ms", "< 500 ms")])
    lines = text.splitlines()
    assert lines[0].split() == ["figure", "measured", "goal"]
    assert lines[2].startswith("reads ")
    assert lines[3] == "latency p99  120 ms    < 500 ms"
    assert lines[2].index("0") == lines[3].index("120")


def test_watch_sessions_tell_a_reconnect_from_a_stream_still_open() -> None:
    lines = [
        audit_line("late", "RequestReceived", "watch", "pods", 5),
        audit_line("first", "RequestReceived", "watch", "deployments", 0),
        audit_line("first", "ResponseStarted", "watch", "deployments", 0, 0.1),
        audit_line("first", "ResponseComplete", "watch", "deployments", 0, 70.25),
        audit_line("again", "RequestReceived", "watch", "deployments", 70.9),
        *request("read", "get", "deployments", 1),
    ]
    sessions = watch_sessions(parse_audit(lines), OPERATOR)
    assert [s.audit_id for s in sessions] == ["first", "late", "again"]
    first, late, again = sessions
    assert first.lasted_s == 70.25
    assert (late.ended, late.lasted_s) == (None, None)
    assert not first.open_at(T0 + timedelta(seconds=70.5))
    assert again.open_at(T0 + timedelta(seconds=71))
    assert not again.open_at(T0 + timedelta(seconds=70))


# -- reading StatusWatches and the report (bench_operator) ----------------------------------------------


def _watch(
    generation: int, observed: int, aggregate: str, *resources: tuple[str, str, str]
) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "ns", "name": "sw", "generation": generation},
        "status": {
            "observedGeneration": observed,
            "aggregateStatus": aggregate,
            "resources": [{"kind": k, "name": n, "status": s} for k, n, s in resources],
        },
    }


def test_is_current_needs_the_current_generation_observed() -> None:
    assert is_current(_watch(2, 2, "Current"))
    assert not is_current(_watch(2, 1, "Current"))
    assert not is_current(_watch(2, 2, "InProgress"))
    assert not is_current({"metadata": {"generation": 1}})


def test_shows_matches_kind_name_and_status_of_one_resource() -> None:
    watch = _watch(1, 1, "NotFound", ("ConfigMap", "a", "NotFound"), ("Service", "b", "Current"))
    assert shows("ConfigMap", "a", "NotFound")(watch)
    assert not shows("ConfigMap", "a", "Current")(watch)
    assert not shows("Service", "a", "NotFound")(watch)  # same name, other kind
    assert not shows("ConfigMap", "zzz", "NotFound")(watch)
    assert not shows("ConfigMap", "a", "NotFound")({"metadata": {}})


def _result(audit: bool) -> dict[str, Any]:
    latency = {"from_request": {"samples": 3, "p50_s": 0.011, "p99_s": 0.02, "max_s": 0.02}, "missed": []}
    result: dict[str, Any] = {
        "sizes": {
            "statuswatches": 500,
            "objects": 5000,
            "kinds": ["ConfigMap", "Deployment", "Service"],
            "idle_s": 60,
        },
        "latency_1": latency,
        "latency_many": {"from_request": {"samples": 0}, "missed": ["DELETE ns/x: not shown within 30s"]},
        "sync_s": 9.2,
        "rss_after_sync_bytes": 146 * 2**20,
        "rss_objects_only_bytes": 102 * 2**20,
        "rss_objects_only_statuswatches": 5,
        "rss_after_latency_bytes": 146 * 2**20,
        "idle": {"operator_cpu_s": 2.27},
    }
    if audit:
        result["idle"]["audit"] = {
            "reads": 0,
            "writes": 0,
            "status_patches": 0,
            "watches_started": 1,
            "requests": {"watch deployments": 1},
        }
        result["open_watches"] = {"idle_end": {"configmaps": 1, "statuswatches": 1}}
    return result


def test_table_reports_each_figure_and_says_what_was_not_measured() -> None:
    text = table(_result(audit=True))
    assert "11 ms / 20 ms (3 samples, 0 missed)" in text
    assert "n/a / n/a (0 samples, 1 missed)" in text
    assert "146 MiB" in text
    assert "102 MiB" in text
    assert "open watches by resource: configmaps 1, statuswatches 1" in text
    assert 'requests in the idle window: {"watch deployments": 1}' in text
    without = table(_result(audit=False))
    assert "not counted (no audit log)" in without
    assert "open watches" not in without
