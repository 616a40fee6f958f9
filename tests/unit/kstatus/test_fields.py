"""Field reading with Go kstatus's leniency: integers reject bool and float, strict fields raise."""

from __future__ import annotations

from typing import Any

import pytest

from statuswatch.kstatus.fields import (
    ObservedCondition,
    conditions,
    find_int,
    first_condition,
    get_bool,
    get_int,
    get_str,
    group_and_kind,
)
from statuswatch.kstatus.model import ComputeError


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7, 7), (0, 0), (-1, -1), (2**40, 2**40), (7.0, 3), (7.5, 3), (True, 3), ("7", 3), (None, 3), ([], 3)],
)
def test_get_int_accepts_only_integers(value: Any, expected: int) -> None:
    assert get_int({"spec": {"replicas": value}}, "spec", "replicas", default=3) == expected


@pytest.mark.parametrize(
    "obj",
    [{}, {"spec": None}, {"spec": "x"}, {"spec": {}}, {"spec": []}],
    ids=["no spec", "null", "str", "{}", "[]"],
)
def test_get_int_missing_path_is_default(obj: dict[str, Any]) -> None:
    assert get_int(obj, "spec", "replicas", default=1) == 1


def test_get_str_and_bool_are_typed() -> None:
    obj = {"a": {"s": "yes", "n": 1, "b": True, "z": None}}

    assert get_str(obj, "a", "s", default="d") == "yes"
    assert get_str(obj, "a", "n", default="d") == "d"
    assert get_str(obj, "a", "z", default="d") == "d"
    assert get_bool(obj, "a", "b", default=False) is True
    assert get_bool(obj, "a", "n", default=False) is False


def test_find_int_is_strict() -> None:
    assert find_int({"m": {"g": 4}}, "m", "g") == 4
    assert find_int({"m": {}}, "m", "g") is None
    assert find_int({"m": None}, "m", "g") is None
    for bad in ("4", 4.0, True, None):
        with pytest.raises(ComputeError, match=r"\.m\.g is .* expected an integer"):
            find_int({"m": {"g": bad}}, "m", "g")
    with pytest.raises(ComputeError, match=r"\.m is str, expected an object"):
        find_int({"m": "x"}, "m", "g")


def test_conditions_decode_and_first_wins() -> None:
    found = conditions(
        {
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "False", "extra": {"ignored": 1}},
                    {"type": "Ready", "status": "True", "reason": None},
                ]
            }
        }
    )

    assert found == [ObservedCondition("Ready", "False", "", ""), ObservedCondition("Ready", "True", "", "")]
    assert first_condition(found, "Ready") == found[0]
    assert first_condition(found, "Ready", "True") == found[1]
    assert first_condition(found, "Other") is None


@pytest.mark.parametrize(
    ("api_version", "kind", "expected"),
    [
        ("apps/v1", "Deployment", ("apps", "Deployment")),
        ("v1", "Pod", ("", "Pod")),
        ("a/b/c", "Pod", ("", "")),
        (None, "Pod", ("", "")),
        ("v1", 5, ("", "")),
    ],
)
def test_group_and_kind(api_version: Any, kind: Any, expected: tuple[str, str]) -> None:
    assert group_and_kind({"apiVersion": api_version, "kind": kind}) == expected
