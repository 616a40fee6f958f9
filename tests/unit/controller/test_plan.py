"""The plan from tables: spec + scopes + selector answers -> slots, refusals and where each member lives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from statuswatch.controller.models import IdentifierSpec, SelectorSpec, StatusWatchSpec
from statuswatch.controller.plan import Scope, SelectorAnswer, Slot, identifier_slot, plan, selector_slots
from statuswatch.kstatus import Status

OTHER_NS = (
    "namespace 'other' is not this StatusWatch's namespace ('shop'); "
    "a StatusWatch may only watch objects in its own namespace"
)
CLUSTER_SCOPED = (
    "Namespace is cluster-scoped, and this operator serves cluster-scoped kinds only "
    "when started with --allow-cluster-scoped"
)


def ident(**fields: Any) -> IdentifierSpec:
    return IdentifierSpec.model_validate(fields)


@pytest.mark.parametrize(
    ("entry", "scope", "allow", "expected"),
    [
        (  # the StatusWatch's namespace is the default
            {"group": "apps", "kind": "Deployment", "name": "web"},
            True,
            False,
            Slot(("apps", "Deployment", "shop", "web"), True),
        ),
        (  # naming its own namespace is the same member
            {"group": "apps", "kind": "Deployment", "namespace": "shop", "name": "web"},
            True,
            False,
            Slot(("apps", "Deployment", "shop", "web"), True),
        ),
        (  # another namespace: refused, never polled, reported where the user said
            {"group": "apps", "kind": "Deployment", "namespace": "other", "name": "web"},
            True,
            True,
            Slot(("apps", "Deployment", "other", "web"), False, refusal=OTHER_NS),
        ),
        (  # cluster-scoped: no namespace anywhere; refused unless allowed
            {"kind": "Namespace", "name": "shop"},
            False,
            False,
            Slot(("", "Namespace", "", "shop"), False, refusal=CLUSTER_SCOPED),
        ),
        (
            {"kind": "Namespace", "namespace": "other", "name": "shop"},
            False,
            True,
            Slot(("", "Namespace", "", "shop"), True),
        ),
        (  # a kind discovery does not know yet: polled in the own namespace, scope judged later
            {"group": "example.com", "kind": "Widget", "name": "w", "timeout": "1m"},
            None,
            False,
            Slot(("example.com", "Widget", "shop", "w"), True, False, timeout=timedelta(minutes=1)),
        ),
        (
            {"group": "apps", "kind": "Deployment", "name": "web", "optional": True},
            True,
            False,
            Slot(("apps", "Deployment", "shop", "web"), True, optional=True),
        ),
    ],
)
def test_identifier_slots(entry: dict[str, Any], scope: Scope, allow: bool, expected: Slot) -> None:
    assert identifier_slot(ident(**entry), scope, namespace="shop", allow_cluster_scoped=allow) == expected


SELECTOR = {"group": "apps", "kind": "Deployment", "selector": {"matchLabels": {"app": "shop"}}}
EMPTY = (
    "selector app=shop matches no Deployment.apps in namespace 'shop' (set allowEmpty: true if that is fine)"
)


def stand_in(note: str, refusal: str | None = None, **fields: Any) -> list[Slot]:
    key = ("apps", "Deployment", "shop", "selector[0]")
    return [Slot(key, False, refusal=refusal, note=note, selector="app=shop", **fields)]


@pytest.mark.parametrize(
    ("extra", "scope", "answer", "expected"),
    [
        (
            {},
            True,
            frozenset({"web", "api"}),  # sorted by name
            [
                Slot(("apps", "Deployment", "shop", "api"), True),
                Slot(("apps", "Deployment", "shop", "web"), True),
            ],
        ),
        ({}, True, frozenset(), stand_in(EMPTY)),
        ({"allowEmpty": True}, True, frozenset(), []),
        ({"optional": True}, True, "waiting", stand_in("waiting", optional=True)),
        (
            {},
            False,
            frozenset({"x"}),
            stand_in(
                "Deployment.apps is cluster-scoped; a selector picks objects in the StatusWatch's namespace",
                "Deployment.apps is cluster-scoped; a selector picks objects in the StatusWatch's namespace",
            ),
        ),
        ({}, None, frozenset({"web"}), [Slot(("apps", "Deployment", "shop", "web"), True, False)]),
    ],
)
def test_selector_slots(
    extra: dict[str, Any], scope: Scope, answer: SelectorAnswer, expected: list[Slot]
) -> None:
    selector = SelectorSpec.model_validate({**SELECTOR, **extra})
    assert selector_slots(0, selector, scope, answer, namespace="shop") == expected


def test_a_member_named_and_selected_is_listed_once_in_spec_order() -> None:
    spec = StatusWatchSpec.model_validate(
        {
            "identifiers": [
                {"group": "apps", "kind": "Deployment", "name": "web"},
                {"kind": "Namespace", "name": "n"},
            ],
            "selectors": [SELECTOR, {**SELECTOR, "optional": True}],
        }
    )
    slots = plan(
        spec,
        namespace="shop",
        scopes={("apps", "Deployment"): True, ("", "Namespace"): False},
        answers=[frozenset({"web", "api"}), frozenset({"api", "db"})],
        allow_cluster_scoped=True,
    )
    assert [(slot.key[2:], slot.optional) for slot in slots] == [
        (("shop", "web"), False),
        (("", "n"), False),
        (("shop", "api"), False),
        (("shop", "db"), True),
    ]


def test_a_slot_reports_unknown_with_its_refusal_note_or_the_message_given() -> None:
    refused = identifier_slot(
        ident(kind="Deployment", group="apps", namespace="other", name="web"),
        True,
        namespace="shop",
        allow_cluster_scoped=False,
    )
    assert (refused.report("No status yet").status, refused.report("x").message) == (Status.UNKNOWN, OTHER_NS)
    assert refused.report("x").refusal == OTHER_NS
    (empty,) = selector_slots(0, SelectorSpec.model_validate(SELECTOR), True, frozenset(), namespace="shop")
    report = empty.report("No status yet")
    assert (report.name, report.message, report.selector, report.refusal) == ("", EMPTY, "app=shop", None)
    polled = Slot(("apps", "Deployment", "shop", "web"), True)
    assert polled.report("No status yet").message == "No status yet"
