"""Label selector matching: plain maps, matchLabels, every matchExpressions operator, errors."""

from __future__ import annotations

import pytest

from statuswatch.watchlist.selector import SelectorError, compile_selector, matches

LABELS = {"app": "web", "tier": "front"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (None, True),
        ({}, True),
        ({"app": "web"}, True),
        ({"app": "web", "tier": "back"}, False),
        ({"matchLabels": {"app": "web"}}, True),
        ({"matchLabels": {"app": "db"}}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "x"]}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["back"]}]}, False),
        ({"matchExpressions": [{"key": "missing", "operator": "In", "values": ["x"]}]}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["back"]}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, False),
        ({"matchExpressions": [{"key": "missing", "operator": "NotIn", "values": ["x"]}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "missing", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "missing", "operator": "DoesNotExist"}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, False),
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["back"]}],
            },
            False,
        ),
    ],
)
def test_selector(selector: dict[str, object] | None, expected: bool) -> None:
    assert compile_selector(selector)(LABELS) is expected
    assert matches(selector, {"metadata": {"labels": LABELS}}) is expected


def test_object_without_labels_matches_only_empty_or_negative_selectors() -> None:
    assert matches(None, {"metadata": {}})
    assert not matches({"app": "web"}, {"metadata": {}})
    assert matches({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, {})


@pytest.mark.parametrize(
    "expr",
    [
        {"key": "a", "operator": "In"},
        {"key": "a", "operator": "NotIn", "values": []},
        {"key": "a", "operator": "Exists", "values": ["x"]},
        {"key": "a", "operator": "Gt", "values": ["1"]},
        {"operator": "Exists"},
    ],
)
def test_malformed_expressions_are_rejected(expr: dict[str, object]) -> None:
    with pytest.raises(SelectorError):
        compile_selector({"matchExpressions": [expr]})
