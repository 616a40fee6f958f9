"""``decide``: the order of the rules (own health checks, cluster defaults, library, kstatus, conventions)."""

from __future__ import annotations

from typing import Any

import pytest

from statuswatch.kstatus import Status
from statuswatch.rules import Library, decide, parse_health_checks
from statuswatch.rules.library import parse_rule_file

LIBRARY = Library(
    (
        parse_rule_file(
            """
project: example
source: https://example.io/docs/api
healthChecks:
  - apiVersion: example.io/v1
    kind: Widget
    failed: "has(status.phase) && status.phase == 'Broken'"
    current: "has(status.phase) && status.phase == 'Spinning'"
""",
            path="example.yaml",
        ),
    )
)


def widget(phase: str | None = "Spinning", **meta: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "example.io/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "ns", "generation": 1, **meta},
    }
    if phase is not None:
        obj["status"] = {"phase": phase}
    return obj


OWN = parse_health_checks([{"apiVersion": "example.io/v1", "kind": "Widget", "current": "true"}])
DEFAULTS = parse_health_checks([{"apiVersion": "example.io/v1", "current": "false", "failed": "true"}])


def test_the_library_decides_its_kinds() -> None:
    assert decide(widget(), library=LIBRARY).rule == "library:example.io/Widget"
    assert decide(widget(), library=LIBRARY).status == Status.CURRENT
    broken = decide(widget("Broken"), library=LIBRARY)
    assert (broken.status, broken.fired, broken.reason) == (Status.FAILED, "failed", "FailedExpressionTrue")
    assert broken.conditions[0].type == "Stalled"


def test_a_library_kind_without_status_is_in_progress_before_its_entry_runs() -> None:
    decision = decide(widget(None), library=LIBRARY)
    assert (decision.status, decision.reason, decision.rule, decision.fired) == (
        Status.IN_PROGRESS,
        "NoStatus",
        "library:example.io/Widget",
        "none",
    )


def test_a_deleting_library_kind_is_terminating() -> None:
    decision = decide(widget(deletionTimestamp="2026-01-01T00:00:00Z"), library=LIBRARY)
    assert decision.status == Status.TERMINATING


def test_cluster_defaults_beat_the_library_and_own_checks_beat_the_defaults() -> None:
    by_default = decide(widget(), library=LIBRARY, defaults=DEFAULTS)
    assert (by_default.status, by_default.rule) == (Status.FAILED, "default")
    own = decide(widget(), library=LIBRARY, defaults=DEFAULTS, health_checks=OWN)
    assert (own.status, own.rule) == (Status.CURRENT, "healthCheck")


def test_kstatus_mode_skips_library_and_conventions_but_keeps_health_checks() -> None:
    assert decide(widget("Broken"), library=LIBRARY, mode="kstatus").rule == "kstatus"
    assert decide(widget("Broken"), library=LIBRARY, mode="kstatus").status == Status.CURRENT
    assert decide(widget(), library=LIBRARY, mode="kstatus", health_checks=OWN).rule == "healthCheck"


def test_built_in_kinds_keep_kstatus_unless_a_user_rule_covers_them() -> None:
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "p"},
        "status": {"phase": "Pending"},
    }
    assert (decide(pvc).status, decide(pvc).rule) == (Status.IN_PROGRESS, "kstatus")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}  # no status, but built in
    assert (decide(cm).status, decide(cm).rule) == (Status.CURRENT, "kstatus")
    checks = parse_health_checks([{"apiVersion": "v1", "kind": "ConfigMap", "current": "false"}])
    assert decide(cm, health_checks=checks).rule == "healthCheck"


def test_an_expression_error_is_unknown_naming_it() -> None:
    checks = parse_health_checks(
        [{"apiVersion": "example.io/v1", "kind": "Widget", "current": "status.missing"}]
    )
    decision = decide(widget(), health_checks=checks)
    assert decision.status == Status.UNKNOWN
    assert "status.missing" in decision.message
    assert decision.fired == "error"


@pytest.mark.parametrize("value", [None, 3, "text", ["a"]])
def test_a_non_object_is_unknown(value: object) -> None:
    decision = decide(value)
    assert (decision.status, decision.reason) == (Status.UNKNOWN, "NotAnObject")


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode must be one of default, kstatus"):
        decide(widget(), mode="strict")  # type: ignore[arg-type]
