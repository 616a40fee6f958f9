"""Projection keeps exactly what the rules read: the same status from far fewer bytes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from statuswatch.kstatus import ComputeError, StrictRules, compute, project

from .cases import CASES, MALFORMED, NOW, Case, make, pod, waiting

ALL_ON = StrictRules(
    load_balancer_ingress=True, container_failures=True, no_status_grace=timedelta(minutes=5)
)


def _outcome(obj: dict[str, Any], strict: StrictRules | None) -> object:
    try:
        return compute(obj, now=NOW, strict=strict)
    except ComputeError as error:
        return ("error", str(error))


@pytest.mark.parametrize("strict", [None, ALL_ON], ids=["kstatus", "strict"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_projection_preserves_status(case: Case, strict: StrictRules | None) -> None:
    assert _outcome(project(case.obj), strict) == _outcome(case.obj, strict)


@pytest.mark.parametrize(("name", "obj", "fragment"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_projection_preserves_errors(name: str, obj: dict[str, Any], fragment: str) -> None:
    assert _outcome(project(obj), None) == _outcome(obj, None)


def test_projection_drops_what_status_does_not_read() -> None:
    full = pod(
        {
            "phase": "Pending",
            "hostIP": "10.1.1.1",
            "containerStatuses": [
                {**waiting("app", "ImagePullBackOff"), "image": "x", "imageID": "sha256:..."}
            ],
        }
    )
    full["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    full["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{...}" * 100}
    full["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "web-1",
            "uid": "u",
            "controller": True,
            "x": 1,
        }
    ]

    projected = project(full)

    assert "managedFields" not in projected["metadata"]
    assert "annotations" not in projected["metadata"]
    assert "spec" not in projected
    assert projected["metadata"]["ownerReferences"] == [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u", "controller": True}
    ]
    assert projected["status"] == {
        "phase": "Pending",
        "containerStatuses": [
            {"name": "app", "state": {"waiting": {"reason": "ImagePullBackOff"}}, "ready": False}
        ],
    }
    assert len(json.dumps(projected)) < len(json.dumps(full)) / 2


def test_projection_keeps_identity_and_selectors() -> None:
    deployment = make(
        "apps/v1",
        "Deployment",
        spec={"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {}}},
        generation=4,
        labels={"app": "web"},
    )

    projected = project(deployment)

    assert projected["metadata"] == {
        "name": "x",
        "namespace": "ns",
        "uid": "u-1",
        "resourceVersion": "7",
        "generation": 4,
        "creationTimestamp": "2026-11-21T11:00:00Z",
        "labels": {"app": "web"},
    }
    assert projected["spec"] == {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}}


def test_projection_does_not_share_the_top_level_dicts() -> None:
    obj = make("v1", "ConfigMap")

    project(obj)["metadata"]["name"] = "changed"

    assert obj["metadata"]["name"] == "x"
