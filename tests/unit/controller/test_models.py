"""The spec models (what is accepted, the exact words of what is not) and the status records and reader."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import pydantic
import pytest

from statuswatch.controller.models import (
    MAX_RESOURCE_MESSAGE,
    RULE_MODES,
    ConditionRecord,
    IdentifierSpec,
    ResourceReport,
    SpecError,
    StatusRecord,
    StatusWatchSpec,
    format_time,
    parse_spec,
    parse_time,
)
from statuswatch.kstatus import Status

from .cases import GARBAGE_PREVIOUS, ROLLING, SPEC_10M, T0, written

WEB = {"group": "apps", "kind": "Deployment", "name": "web"}
UNITS = "use a number with a unit, e.g. 30s, 2m, 1m30s, 500ms, 1h"


def with_web(**fields: Any) -> dict[str, Any]:
    return {"identifiers": [WEB], **fields}


# --- accepted specs --------------------------------------------------------------------------------------


def test_defaults() -> None:
    parsed = parse_spec(with_web())

    assert parsed.identifiers == (IdentifierSpec(group="apps", kind="Deployment", name="web"),)
    assert parsed.identifiers[0].namespace is None
    assert parsed.poll_interval == timedelta(seconds=5)
    assert parsed.timeout is None
    assert parsed.desired_status is Status.CURRENT


@pytest.mark.parametrize(
    ("raw", "poll_interval", "timeout", "desired"),
    [
        ({"pollInterval": "1s"}, timedelta(seconds=1), None, Status.CURRENT),
        (
            {"pollInterval": "1m30s", "timeout": "1h"},
            timedelta(seconds=90),
            timedelta(hours=1),
            Status.CURRENT,
        ),
        (
            {"pollInterval": "1500ms", "timeout": "1.6s"},
            timedelta(seconds=1.5),
            timedelta(seconds=1.6),
            Status.CURRENT,
        ),
        ({"desiredStatus": "NotFound", "timeout": None}, timedelta(seconds=5), None, Status.NOT_FOUND),
        ({"timeout": "5001ms"}, timedelta(seconds=5), timedelta(seconds=5.001), Status.CURRENT),
    ],
)
def test_durations_and_desired_status(
    raw: dict[str, Any], poll_interval: timedelta, timeout: timedelta | None, desired: Status
) -> None:
    parsed = parse_spec(with_web(**raw))

    assert (parsed.poll_interval, parsed.timeout, parsed.desired_status) == (poll_interval, timeout, desired)


def test_identifier_fields_unknown_keys_and_null_group() -> None:
    raw = {
        "identifiers": [
            {"kind": "Service", "name": "db", "group": None, "optional": True},
            {
                "group": "cert-manager.io",
                "kind": "Certificate",
                "namespace": "shop",
                "name": "tls",
                "timeout": "1m",
            },
            {"group": "", "kind": "ConfigMap", "name": "Weird_Name.ok"},
        ],
        "futureField": {"anything": 1},
    }

    parsed = parse_spec(raw)

    assert [(i.group, i.kind, i.namespace, i.name) for i in parsed.identifiers] == [
        ("", "Service", None, "db"),
        ("cert-manager.io", "Certificate", "shop", "tls"),
        ("", "ConfigMap", None, "Weird_Name.ok"),
    ]
    assert [i.label() for i in parsed.identifiers] == [
        "Service db",
        "cert-manager.io/Certificate shop/tls",
        "ConfigMap Weird_Name.ok",
    ]


def test_any_mapping_is_accepted() -> None:
    """kopf hands specs over as its own Mapping types, not dicts."""
    raw = MappingProxyType({"identifiers": (MappingProxyType(WEB),), "pollInterval": "2s"})

    assert parse_spec(raw) == parse_spec(with_web(pollInterval="2s"))


def test_thousand_identifiers_are_allowed() -> None:
    raw = {"identifiers": [{"kind": "ConfigMap", "name": f"c{index}"} for index in range(1000)]}

    assert len(parse_spec(raw).identifiers) == 1000


def test_selectors_health_checks_and_member_flags() -> None:
    parsed = parse_spec(
        {
            "identifiers": [
                {"kind": "Pod", "name": "a", "optional": True},
                {"kind": "Pod", "name": "b", "timeout": "90s"},
            ],
            "selectors": [
                {
                    "group": "apps",
                    "kind": "Deployment",
                    "selector": {
                        "matchLabels": {"app": "web", "tier": "front"},
                        "matchExpressions": [
                            {"key": "track", "operator": "In", "values": ["stable", "canary"]},
                            {"key": "legacy", "operator": "DoesNotExist"},
                        ],
                    },
                    "allowEmpty": True,
                },
                {"kind": "ConfigMap", "selector": {}, "optional": True},
            ],
            "healthChecks": [
                {"apiVersion": "example.io/v1", "kind": "Widget", "current": "true", "inProgress": "false"}
            ],
        }
    )
    assert [(i.optional, i.timeout) for i in parsed.identifiers] == [
        (True, None),
        (False, timedelta(seconds=90)),
    ]
    first, second = parsed.selectors
    assert (first.allow_empty, first.optional, second.optional) == (True, False, True)
    assert first.selector.describe() == "app=web,tier=front,track in (stable,canary),!legacy"
    assert first.selector.to_dict() == {
        "matchLabels": {"app": "web", "tier": "front"},
        "matchExpressions": [
            {"key": "track", "operator": "In", "values": ["stable", "canary"]},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }
    assert (second.label(), second.selector.to_dict()) == ("ConfigMap (everything)", {})
    (check,) = parsed.health_checks
    assert check.to_dict() == {
        "apiVersion": "example.io/v1",
        "current": "true",
        "kind": "Widget",
        "inProgress": "false",
    }


def test_new_resource_fields_are_written_only_when_set() -> None:
    plain = ResourceReport("apps", "Deployment", "shop", "web", Status.CURRENT, "ok")
    assert set(plain.to_dict()) == {"group", "kind", "namespace", "name", "status", "message"}
    decided = ResourceReport("apps", "Deployment", "shop", "web", Status.CURRENT, "ok", rule="kstatus")
    assert decided.to_dict()["rule"] == "kstatus"
    rich = ResourceReport(
        "apps", "Deployment", "shop", "", Status.UNKNOWN, "none", None, "Why", True, selector="app=web"
    )
    assert rich.to_dict()["reason"] == "Why"
    assert (rich.to_dict()["optional"], rich.to_dict()["selector"]) == (True, "app=web")


def test_a_refused_member_says_unknown_and_the_refusal_and_long_messages_are_cut() -> None:
    refused = ResourceReport("apps", "Deployment", "x", "web", Status.CURRENT, "secret", "not yours", "Why")
    assert refused.to_dict() == {
        "group": "apps",
        "kind": "Deployment",
        "namespace": "x",
        "name": "web",
        "status": "Unknown",
        "message": "not yours",
    }
    long = ResourceReport("", "ConfigMap", "shop", "c", Status.CURRENT, "x" * 600)
    assert long.to_dict()["message"] == "x" * (MAX_RESOURCE_MESSAGE - 3) + "..."


def test_spec_is_frozen() -> None:
    parsed = parse_spec(with_web())

    with pytest.raises(pydantic.ValidationError):
        parsed.timeout = timedelta(seconds=1)


# --- refused specs ---------------------------------------------------------------------------------------

INVALID: list[tuple[str, Any, tuple[str, ...]]] = [
    ("missing", None, ("spec: is required",)),
    ("not-an-object", ["x"], ("spec: must be an object, got list",)),
    # Selectors may stand in for identifiers (issue 13), so only having neither is a fault.
    ("no-identifiers", {}, ("spec: needs at least one identifier or selector",)),
    ("empty-identifiers", {"identifiers": []}, ("spec: needs at least one identifier or selector",)),
    ("identifiers-not-a-list", {"identifiers": "web"}, ("spec.identifiers: must be a list, got 'web'",)),
    (
        "too-many-identifiers",
        {"identifiers": [{"kind": "ConfigMap", "name": f"c{i}"} for i in range(1001)]},
        ("spec.identifiers: must hold at most 1000 items, got 1001",),
    ),
    (
        "identifier-not-an-object",
        {"identifiers": [WEB, 5]},
        ("spec.identifiers[1]: must be an object, got 5",),
    ),
    ("kind-missing", {"identifiers": [{"name": "web"}]}, ("spec.identifiers[0].kind: is required",)),
    (
        "kind-lower-case",
        {"identifiers": [WEB, WEB | {"name": "db"}, {"kind": "deployment", "name": "x"}]},
        (
            "spec.identifiers[2].kind: 'deployment' is not valid: "
            "a kind starts with an upper-case letter and holds only letters and digits, e.g. Deployment",
        ),
    ),
    (
        "group-upper-case",
        {"identifiers": [WEB | {"group": "Apps"}]},
        (
            "spec.identifiers[0].group: 'Apps' is not valid: "
            "an API group is a lower-case DNS subdomain such as apps or cert-manager.io, or '' for core",
        ),
    ),
    (
        "namespace-pattern",
        {"identifiers": [WEB | {"namespace": "Shop_1"}]},
        (
            "spec.identifiers[0].namespace: 'Shop_1' is not valid: a namespace holds lower-case letters, "
            "digits and '-', and starts and ends with a letter or digit",
        ),
    ),
    (
        "namespace-too-long",
        {"identifiers": [WEB | {"namespace": "n" * 64}]},
        ("spec.identifiers[0].namespace: is longer than 63 characters",),
    ),
    ("name-empty", {"identifiers": [WEB | {"name": ""}]}, ("spec.identifiers[0].name: must not be empty",)),
    (
        "name-not-a-string",
        {"identifiers": [WEB | {"name": 42}]},
        ("spec.identifiers[0].name: must be a string, got 42",),
    ),
    (
        "bad-duration",
        with_web(pollInterval="5x"),
        (f"spec.pollInterval: invalid duration '5x': {UNITS}",),
    ),
    (
        "negative-duration",
        with_web(timeout="-1m"),
        (f"spec.timeout: invalid duration '-1m': {UNITS}",),
    ),
    (
        "duration-too-long-to-read",
        with_web(timeout="1" * 33 + "s"),
        (f"spec.timeout: invalid duration '{'1' * 33}s': at most 32 characters",),
    ),
    (
        "duration-overflows",
        with_web(timeout="99999999999999999h"),
        ("spec.timeout: invalid duration '99999999999999999h': far too long",),
    ),
    (
        # N13: a CRD without its CEL rules let this through, and the timeout clock overflowed.
        "duration-beyond-a-hundred-years",
        with_web(timeout="87600000h"),
        ("spec.timeout: invalid duration '87600000h': at most 876000h (about 100 years)",),
    ),
    (
        "identifier-timeout-beyond-a-hundred-years",
        {"identifiers": [WEB | {"timeout": "876000h1s"}]},
        ("spec.identifiers[0].timeout: invalid duration '876000h1s': at most 876000h (about 100 years)",),
    ),
    (
        "poll-interval-beyond-a-hundred-years",
        with_web(pollInterval="900000h"),
        ("spec.pollInterval: invalid duration '900000h': at most 876000h (about 100 years)",),
    ),
    (
        "duration-not-a-string",
        with_web(pollInterval=5),
        ("spec.pollInterval: must be a duration string such as '30s', got 5",),
    ),
    (
        "poll-interval-too-short",
        with_web(pollInterval="500ms"),
        ("spec.pollInterval: 500ms is too short: must be at least 1s",),
    ),
    (
        "timeout-not-longer",
        with_web(pollInterval="1m", timeout="30s"),
        ("spec.timeout (30s) must be longer than spec.pollInterval (1m)",),
    ),
    (
        "timeout-equal-to-default-poll-interval",
        with_web(timeout="5s"),
        ("spec.timeout (5s) must be longer than spec.pollInterval (5s)",),
    ),
    (
        "desired-status-case",
        with_web(desiredStatus="current"),
        ("spec.desiredStatus: must be Current or NotFound, got 'current'",),
    ),
    (
        "desired-status-other-status",
        with_web(desiredStatus="Failed"),
        ("spec.desiredStatus: must be Current or NotFound, got 'Failed'",),
    ),
    (
        "repeated-identifier",
        {
            "identifiers": [
                WEB,
                {"kind": "Service", "name": "web"},
                WEB | {"extra": 1},
                WEB,
                {"kind": "Service", "name": "web"},
            ]
        },
        (
            "spec.identifiers[2] repeats spec.identifiers[0] (apps/Deployment web)",
            "spec.identifiers[3] repeats spec.identifiers[0] (apps/Deployment web)",
            "spec.identifiers[4] repeats spec.identifiers[1] (Service web)",
        ),
    ),
    (
        "several-problems-at-once",
        {
            "identifiers": [{"kind": "Deployment"}, {"kind": "Deployment", "name": "x", "group": 5}],
            "pollInterval": "x",
        },
        (
            "spec.identifiers[0].name: is required",
            "spec.identifiers[1].group: must be a string, got 5",
            f"spec.pollInterval: invalid duration 'x': {UNITS}",
        ),
    ),
    (
        "long-values-are-shortened",
        with_web(desiredStatus="C" * 200),
        (f"spec.desiredStatus: must be Current or NotFound, got '{'C' * 56}...",),
    ),
    # issue 13: selectors, health checks, optional members and their deadlines
    (
        "optional-with-timeout",
        {"identifiers": [{"kind": "Pod", "name": "p", "optional": True, "timeout": "1m"}]},
        (
            "spec.identifiers[0]: an optional identifier never holds anything back, "
            "so it cannot have a timeout",
        ),
    ),
    (
        "member-timeout-not-a-duration",
        {"identifiers": [{"kind": "Pod", "name": "p", "timeout": "soon"}]},
        (f"spec.identifiers[0].timeout: invalid duration 'soon': {UNITS}",),
    ),
    (
        "selector-without-selector",
        {"selectors": [{"kind": "Deployment"}]},
        ("spec.selectors[0].selector: is required",),
    ),
    (
        "selector-in-without-values",
        {"selectors": [{"kind": "Pod", "selector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}]},
        ("spec.selectors[0].selector.matchExpressions[0]: operator In needs at least one value",),
    ),
    (
        "selector-exists-with-values",
        {
            "selectors": [
                {
                    "kind": "Pod",
                    "selector": {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
                }
            ]
        },
        ("spec.selectors[0].selector.matchExpressions[0]: operator Exists takes no values",),
    ),
    (
        "selector-unknown-operator",
        {
            "selectors": [
                {"kind": "Pod", "selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}
            ]
        },
        (
            "spec.selectors[0].selector.matchExpressions[0].operator: "
            "must be 'In', 'NotIn', 'Exists' or 'DoesNotExist', got 'Near'",
        ),
    ),
    (
        "health-check-without-current",
        with_web(healthChecks=[{"apiVersion": "example.io/v1"}]),
        ("spec.healthChecks[0].current: is required",),
    ),
    (
        "too-many-health-checks",
        with_web(healthChecks=[{"apiVersion": "example.io/v1", "current": "true"}] * 51),
        ("spec.healthChecks: must hold at most 50 items, got 51",),
    ),
]


@pytest.mark.parametrize(
    ("raw", "problems"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID]
)
def test_invalid_spec(raw: Any, problems: tuple[str, ...]) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(raw)

    assert caught.value.problems == problems
    assert str(caught.value) == "; ".join(problems)


def test_repeats_across_the_default_namespace() -> None:
    raw = {"identifiers": [WEB, WEB | {"namespace": "shop"}, WEB | {"namespace": "other"}]}

    assert len(parse_spec(raw).identifiers) == 3
    with pytest.raises(SpecError) as caught:
        parse_spec(raw, namespace="shop")

    assert caught.value.problems == (
        "spec.identifiers[1] repeats spec.identifiers[0] (apps/Deployment shop/web)",
    )


def test_spec_error_is_one_line_and_summarises_many_problems() -> None:
    raw = {"identifiers": [{"kind": "x\ny", "name": str(index)} for index in range(25)]}

    with pytest.raises(SpecError) as caught:
        parse_spec(raw)

    assert len(caught.value.problems) == 25
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith("spec.identifiers[0].kind: 'x\\ny' is not valid: ")
    assert text.endswith("; and 15 more")
    assert text.count("is not valid") == 10


class _Exploding(Mapping[str, Any]):
    """A mapping that fails while being read, as a broken client object might."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("boom")

    def __iter__(self) -> Iterator[str]:
        return iter(["identifiers"])

    def __len__(self) -> int:
        return 1


@pytest.mark.parametrize(
    "raw",
    [
        5,
        "spec",
        {"identifiers": None},
        {"identifiers": [None, [], "x", 3.5, True]},
        {"identifiers": [{"kind": None, "name": None, "namespace": 5, "group": []}]},
        {"identifiers": [WEB], "pollInterval": None},
        {"identifiers": [WEB], "pollInterval": "", "timeout": ""},
        {"identifiers": [WEB], "pollInterval": {"seconds": 5}, "timeout": ["1m"]},
        {"identifiers": [WEB], "desiredStatus": None},
        {"identifiers": [WEB], "pollInterval": "nan s", "timeout": "inf"},
        {"identifiers": [WEB], "timeout": "1" * 32 + "h"},
        {"identifiers": [WEB], "pollInterval": True},
        {"identifiers": {"0": WEB}},
        _Exploding(),
    ],
    ids=repr,
)
def test_never_raises_anything_but_spec_error(raw: Any) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(raw)

    assert caught.value.problems
    assert all(problem.startswith("spec") for problem in caught.value.problems)
    assert all(
        "pydantic" not in problem and "errors.pydantic.dev" not in problem
        for problem in caught.value.problems
    )


def test_direct_construction_checks_relations_too() -> None:
    with pytest.raises(
        pydantic.ValidationError, match=r"spec.timeout \(1s\) must be longer than spec.pollInterval \(1s\)"
    ):
        StatusWatchSpec.model_validate(with_web(pollInterval="1s", timeout="1s"))


# --- status records -------------------------------------------------------------------------------------


def test_time_format_and_parse() -> None:
    assert format_time(datetime(2026, 11, 21, 13, 0, 5, 999_000, tzinfo=UTC)) == "2026-11-21T13:00:05Z"
    assert format_time(datetime(2026, 11, 21, 13, 0, 5)) == "2026-11-21T13:00:05Z"
    plus_one = datetime.fromisoformat("2026-11-21T14:00:05+01:00")
    assert format_time(plus_one) == "2026-11-21T13:00:05Z"
    assert parse_time("2026-11-21T13:00:05Z") == datetime(2026, 11, 21, 13, 0, 5, tzinfo=UTC)
    assert parse_time("2026-11-21T14:00:05.75+01:00") == datetime(2026, 11, 21, 13, 0, 5, tzinfo=UTC)
    assert parse_time("2026-11-21T13:00:05") == datetime(2026, 11, 21, 13, 0, 5, tzinfo=UTC)
    for garbage in (None, "", "soon", 12, "2026-13-01T00:00:00Z", ["2026-11-21T13:00:05Z"]):
        assert parse_time(garbage) is None


def test_condition_to_dict_is_metav1_shaped() -> None:
    condition = ConditionRecord("Ready", "True", "AllCurrent", "All 1 resource is Current", 3, T0)

    assert condition.to_dict() == {
        "type": "Ready",
        "status": "True",
        "observedGeneration": 3,
        "lastTransitionTime": "2026-11-21T12:00:00Z",
        "reason": "AllCurrent",
        "message": "All 1 resource is Current",
    }
    assert ConditionRecord.from_dict(condition.to_dict()) == condition


def test_resource_entry_leaves_out_an_empty_namespace() -> None:
    namespaced = ResourceReport("apps", "Deployment", "shop", "web", Status.CURRENT, "ok")
    cluster_scoped = ResourceReport("", "Namespace", "", "shop", Status.CURRENT, "")

    assert namespaced.to_dict() == {
        "group": "apps",
        "kind": "Deployment",
        "namespace": "shop",
        "name": "web",
        "status": "Current",
        "message": "ok",
    }
    assert cluster_scoped.to_dict() == {
        "group": "",
        "kind": "Namespace",
        "name": "shop",
        "status": "Current",
        "message": "",
    }


def test_a_written_status_reads_back_whole() -> None:
    status = written(ROLLING, spec=SPEC_10M)

    record = StatusRecord.read(status)

    assert record.to_dict() == {**status, "resources": []}  # members are written, never read back
    assert record.observed_generation == 1
    assert record.spec_observed_time == T0
    ready = record.condition("Ready")
    assert ready is not None
    assert (ready.status, ready.last_transition_time) == ("False", T0)
    assert record.condition("Missing") is None


@pytest.mark.parametrize("raw", [None, "status", 5, [], {}, {"conditions": None, "resources": None}])
def test_nothing_to_read_is_an_empty_record(raw: Any) -> None:
    assert StatusRecord.read(raw) == StatusRecord()


def test_garbage_is_dropped_piece_by_piece() -> None:
    raw = {
        "observedGeneration": True,
        "aggregateStatus": "InProgress",
        "progress": 3,
        "specObservedTime": "2026-11-21T12:00:00Z",
        "resources": [
            {"kind": "Deployment", "name": "web", "status": "Current", "group": 5, "message": None},
            {"kind": "Deployment", "name": "web"},
            "web",
        ],
        "conditions": [
            {"type": "Ready", "status": "True", "observedGeneration": -1, "lastTransitionTime": "garbage"},
            {
                "type": "Ready",
                "status": "False",
                "reason": "Second",
                "lastTransitionTime": "2026-11-21T12:00:00Z",
            },
            {"type": "Stalled", "status": "true"},
            {"type": "AllCurrent", "status": "Unknown", "reason": 7, "message": "m", "observedGeneration": 2},
        ],
    }

    record = StatusRecord.read(raw)

    assert record == StatusRecord(
        observed_generation=None,
        aggregate_status="InProgress",
        progress=None,
        spec_observed_time=T0,
        conditions=(
            ConditionRecord("Ready", "True", "", "", None, None),
            ConditionRecord("AllCurrent", "Unknown", "", "m", 2, None),
        ),
    )


def test_hand_written_garbage_reads_as_empty() -> None:
    record = StatusRecord.read(GARBAGE_PREVIOUS)

    assert record == StatusRecord()


def test_spec_rules_is_default_kstatus_or_unset() -> None:
    from statuswatch.rules import MODES

    assert RULE_MODES == MODES
    base = {"identifiers": [{"group": "apps", "kind": "Deployment", "name": "web"}]}
    assert parse_spec(base, namespace="shop").rules is None
    assert parse_spec({**base, "rules": "kstatus"}, namespace="shop").rules == "kstatus"
    with pytest.raises(SpecError, match="rules: must be default or kstatus, got 'strict'"):
        parse_spec({**base, "rules": "strict"}, namespace="shop")
