"""The kind table: one row per kind, read by compute, project and the typed decoder alike."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

import pytest

from statuswatch.kstatus import KINDS, Kind, Result, Status, compute, project
from statuswatch.kstatus.kinds import timeless
from statuswatch.kstatus.model import in_progress
from statuswatch.watchlist.decoding import TypedDecoder, metadata_only


def test_the_table_holds_exactly_the_kinds_kstatus_has_rules_for() -> None:
    kinds = {kind for _, kind in KINDS}
    assert kinds == {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Pod",
        "PersistentVolumeClaim",
        "Service",
        "Job",
        "CronJob",
        "ConfigMap",
        "Secret",
        "PodDisruptionBudget",
        "CustomResourceDefinition",
    }
    for kind in ("Deployment", "DaemonSet", "ReplicaSet"):  # the legacy group shares the apps rows
        assert KINDS["extensions", kind] is KINDS["apps", kind]


@pytest.mark.parametrize(("group", "kind"), [key for key, row in KINDS.items() if row.metadata_only])
def test_metadata_only_kinds_are_current_from_their_metadata_alone(group: str, kind: str) -> None:
    metadata = {"name": "x", "namespace": "ns", "uid": "u", "resourceVersion": "1"}
    bare = {"apiVersion": "v1" if not group else f"{group}/v1", "kind": kind, "metadata": metadata}
    assert compute(bare).status == Status.CURRENT
    assert metadata_only(group, kind)
    assert not metadata_only("apps", "Deployment")


def test_a_new_rule_is_one_function_and_one_row(monkeypatch: pytest.MonkeyPatch) -> None:
    def widget(obj: Mapping[str, Any]) -> Result:
        return in_progress("NotSpun", f"spins: {obj['status']['spins']}")

    table = cast(dict[tuple[str, str], Kind], KINDS)
    monkeypatch.setitem(table, ("example.com", "Widget"), Kind(timeless(widget), status=("spins",)))
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "ns"},
        "spec": {"size": 3},
        "status": {"spins": 2, "noise": "x" * 100},
    }
    assert compute(obj).message == "spins: 2"  # the rule decides
    assert project(obj)["status"] == {"spins": 2}  # the projection keeps what it reads, and only that
    line = json.dumps({"type": "ADDED", "object": obj}).encode()
    decoded = TypedDecoder("example.com", "Widget", "example.com/v1").decode_event(line)
    assert decoded.event["object"] == project(obj)  # the decoder follows the same row
