"""CEL health checks: Flux's order and semantics, errors that name the expression, files and the reader."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from statuswatch.kstatus import Status
from statuswatch.polling import ObjMetadata, Options, ResourceUpdateEvent, StatusPoller
from statuswatch.polling.healthchecks import (
    CelStatusReader,
    HealthCheck,
    HealthCheckError,
    health_checks_from_yaml,
    load_health_checks,
    parse_health_checks,
)
from statuswatch.polling.testing import FakeClusterReader, deployment, ident

PHASES = {
    "apiVersion": "example.io/v1",
    "kind": "Widget",
    "inProgress": "status.phase == 'Pending'",
    "failed": "status.phase == 'Failed' || status.conditions.exists(c, c.type == 'Broken')",
    "current": "has(status.phase) && status.phase.startsWith('Run')",
}


def widget(generation: int | None = 1, **status: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "w", "namespace": "ns"}
    if generation is not None:
        meta["generation"] = generation
    return {"apiVersion": "example.io/v1", "kind": "Widget", "metadata": meta, "status": status}


@pytest.mark.parametrize(
    ("obj", "status", "message"),
    [
        (
            widget(phase="Running", conditions=[]),
            Status.CURRENT,
            "health check current is true: " + PHASES["current"],
        ),
        (
            widget(phase="Pending"),
            Status.IN_PROGRESS,
            "health check inProgress is true: status.phase == 'Pending'",
        ),
        (
            widget(phase="Failed", conditions=[]),
            Status.FAILED,
            "health check failed is true: " + PHASES["failed"],
        ),
        # inProgress is tried before failed and current
        (widget(phase="Pending", conditions=[{"type": "Broken"}]), Status.IN_PROGRESS, None),
        # failed before current
        (widget(phase="Running", conditions=[{"type": "Broken"}]), Status.FAILED, None),
        # none true
        (
            widget(phase="Starting", conditions=[]),
            Status.IN_PROGRESS,
            "no health check expression is true yet",
        ),
        # generation check first, whatever the expressions say
        (
            widget(3, phase="Running", observedGeneration=2),
            Status.IN_PROGRESS,
            "generation is 3, but latest observed generation is 2",
        ),
        # a non-integer observedGeneration skips the generation check (Flux)
        (widget(3, phase="Running", observedGeneration="2", conditions=[]), Status.CURRENT, None),
        (widget(None, phase="Running", observedGeneration=2, conditions=[]), Status.CURRENT, None),
        # run-time errors: Unknown naming the expression, even when a later expression would be true
        (
            widget(phase="Running"),
            Status.UNKNOWN,
            "health check failed " + repr(PHASES["failed"]) + ": no such key: 'conditions'",
        ),
    ],
)
def test_flux_order_and_semantics(obj: dict[str, Any], status: Status, message: str | None) -> None:
    (check,) = parse_health_checks([PHASES])
    got_status, got_message = check.evaluate(obj)
    assert got_status == status, got_message
    if message is not None:
        assert got_message == message


def test_a_missing_top_level_field_and_a_non_bool_result_are_unknown() -> None:
    check = HealthCheck("example.io/v1", "Widget", current="status.replicas")
    assert check.evaluate(widget(replicas=3)) == (
        Status.UNKNOWN,
        "health check current 'status.replicas': gave 3, not a bool",
    )
    status, message = check.evaluate({"metadata": {"name": "w"}})
    assert status == Status.UNKNOWN
    assert message.startswith("health check current 'status.replicas': Undefined variable")
    assert "'status'" in message


def test_only_the_named_top_level_fields_are_handed_to_cel() -> None:
    # 'spec' holds a value CEL cannot take (a set); the expression does not name it, so it is never converted.
    check = HealthCheck("example.io/v1", None, current="status.ready == true")
    assert check.evaluate({"spec": {1, 2}, "status": {"ready": True}})[0] == Status.CURRENT


@pytest.mark.parametrize(
    ("entries", "error"),
    [
        (
            [{"apiVersion": "x.io/v1", "current": "status.phase =="}],
            "healthChecks[0].current 'status.phase ==': does not compile: <input>:1:16: Syntax error",
        ),
        (
            [PHASES, {"apiVersion": "x.io/v1", "current": "true", "failed": "a &&& b"}],
            "healthChecks[1].failed 'a &&& b': does not compile:",
        ),
        ([{"apiVersion": "x.io/v1", "current": ""}], "healthChecks[0].current '': must not be empty"),
        ([{"apiVersion": "x.io/v1"}], "healthChecks[0]: current is required"),
        ([{"kind": "X", "current": "true"}], "healthChecks[0]: apiVersion is required"),
        (
            [{"apiVersion": "a/b/c", "current": "true"}],
            "healthChecks[0]: apiVersion 'a/b/c' is not group/version or v1",
        ),
        ([{"apiVersion": "x.io/v1", "current": 3}], "healthChecks[0]: current must be a string, got int"),
        (
            [PHASES, {**PHASES, "apiVersion": "example.io/v2"}],
            "healthChecks[1]: repeats healthChecks[0] (example.io/v2 Widget)",
        ),
        (["x"], "healthChecks[0]: must be an object, got str"),
    ],
)
def test_bad_entries_are_refused_naming_entry_and_expression(entries: list[Any], error: str) -> None:
    with pytest.raises(HealthCheckError) as raised:
        parse_health_checks(entries)
    assert str(raised.value).startswith(error), str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_exact_kind_beats_the_group_wide_entry_and_core_is_v1() -> None:
    reader = CelStatusReader(
        parse_health_checks(
            [
                {"apiVersion": "example.io/v1", "current": "false"},
                {"apiVersion": "example.io/v1", "kind": "Widget", "current": "true"},
                {"apiVersion": "v1", "kind": "ConfigMap", "current": "has(data.ready)"},
            ]
        )
    )
    assert reader.check_for("example.io", "Widget") is reader.checks[1]
    assert reader.check_for("example.io", "Gadget") is reader.checks[0]
    assert reader.check_for("", "ConfigMap") is reader.checks[2]
    assert not reader.supports("apps", "Deployment")
    assert not reader.supports("", "Secret")


async def test_the_reader_replaces_kstatus_for_a_covered_built_in_kind() -> None:
    web = deployment("web", replicas=3, ready=0)  # kstatus: InProgress
    reader = CelStatusReader([HealthCheck("apps/v1", "Deployment", current="spec.replicas == 3")])
    status = await reader.read_status(FakeClusterReader([web]), ident(web))
    assert (status.status, status.generated_resources) == (Status.CURRENT, ())
    missing = await reader.read_status(
        FakeClusterReader([]), ObjMetadata("apps", "Deployment", "default", "x")
    )
    assert missing.status == Status.NOT_FOUND


async def test_the_poller_uses_it_first_and_kstatus_for_the_rest() -> None:
    web = deployment("web", replicas=3, ready=0)
    cel = CelStatusReader([HealthCheck("apps/v1", "Deployment", current="metadata.name == 'web'")])
    widget_check = CelStatusReader([HealthCheck("example.io/v1", "Widget", current="true")])
    objects = FakeClusterReader([web])
    for readers, expected in (([cel], Status.CURRENT), ([widget_check], Status.IN_PROGRESS)):
        poller = StatusPoller(status_readers=readers, cluster_reader_factory=lambda ids, opts: objects)
        stream = poller.poll([ident(web)], Options(poll_interval=1))
        async with asyncio.timeout(5):
            event = await anext(stream)
        await stream.aclose()
        assert isinstance(event, ResourceUpdateEvent)
        assert event.resource.status == expected


def test_files_lists_flux_mappings_and_configmap_text(tmp_path: Path) -> None:
    listed = tmp_path / "list.yaml"
    listed.write_text("- apiVersion: example.io/v1\n  kind: Widget\n  current: status.phase == 'Running'\n")
    flux = tmp_path / "flux.yaml"
    flux.write_text("healthCheckExprs:\n- apiVersion: example.io/v1\n  current: 'true'\n")
    assert [c.kind for c in load_health_checks(listed)] == ["Widget"]
    assert [c.kind for c in load_health_checks(str(flux))] == [None]
    assert health_checks_from_yaml("") == []
    with pytest.raises(HealthCheckError, match="a mapping must hold healthCheckExprs or healthChecks"):
        health_checks_from_yaml("other: 1", source="cm")
    with pytest.raises(HealthCheckError, match=r"^cm: not YAML"):
        health_checks_from_yaml("a: [", source="cm")
    with pytest.raises(HealthCheckError, match="must be a list"):
        health_checks_from_yaml("healthChecks: 3")
