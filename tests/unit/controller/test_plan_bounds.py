"""The plan's bounds (issue 20): a cluster-scoped member named twice counts once (N12), and selectors serve
at most MAX_SELECTED_MEMBERS members, saying so past it (N3)."""

from __future__ import annotations

from statuswatch.controller.models import StatusWatchSpec
from statuswatch.controller.plan import MAX_SELECTED_MEMBERS, plan
from statuswatch.kstatus import Status

RBAC = "rbac.authorization.k8s.io"


def test_a_cluster_scoped_identifier_with_and_without_a_namespace_is_one_member() -> None:
    spec = StatusWatchSpec.model_validate(
        {
            "identifiers": [
                {"group": RBAC, "kind": "ClusterRole", "name": "view"},
                {"group": RBAC, "kind": "ClusterRole", "namespace": "other", "name": "view"},
                {"group": "apps", "kind": "Deployment", "name": "web"},
            ]
        }
    )
    slots = plan(
        spec,
        namespace="shop",
        scopes={(RBAC, "ClusterRole"): False, ("apps", "Deployment"): True},
        answers=[],
        allow_cluster_scoped=True,
    )
    assert [slot.key for slot in slots] == [
        (RBAC, "ClusterRole", "", "view"),
        ("apps", "Deployment", "shop", "web"),
    ]


def _pods(selectors: int) -> StatusWatchSpec:
    return StatusWatchSpec.model_validate(
        {
            "selectors": [
                {"kind": "Pod", "selector": {"matchLabels": {"app": f"a{i}"}}} for i in range(selectors)
            ]
        }
    )


def test_selectors_serve_at_most_the_bound_and_say_how_many_are_left_out() -> None:
    names = frozenset(f"pod-{index:05d}" for index in range(MAX_SELECTED_MEMBERS + 250))
    slots = plan(
        _pods(1), namespace="shop", scopes={("", "Pod"): True}, answers=[names], allow_cluster_scoped=False
    )
    polled = [slot for slot in slots if slot.polled]
    assert len(polled) == MAX_SELECTED_MEMBERS
    assert polled[0].key[3] == "pod-00000"
    assert polled[-1].key[3] == f"pod-{MAX_SELECTED_MEMBERS - 1:05d}"
    stand_in = slots[-1]
    assert not stand_in.polled
    report = stand_in.report("")
    assert report.status == Status.UNKNOWN  # never Current: members are not watched
    assert report.message == (
        f"selector app=a0 matches {MAX_SELECTED_MEMBERS + 250} Pod objects; a StatusWatch's selectors "
        f"serve at most {MAX_SELECTED_MEMBERS} members, so 250 are not watched "
        "(narrow the selector or split the StatusWatch)"
    )


def test_the_bound_is_over_all_selectors_together() -> None:
    first = frozenset(f"a-{index:04d}" for index in range(MAX_SELECTED_MEMBERS - 10))
    second = frozenset(f"b-{index:04d}" for index in range(30))
    slots = plan(
        _pods(2),
        namespace="shop",
        scopes={("", "Pod"): True},
        answers=[first, second],
        allow_cluster_scoped=False,
    )
    assert sum(slot.polled for slot in slots) == MAX_SELECTED_MEMBERS
    assert "so 20 are not watched" in slots[-1].report("").message
