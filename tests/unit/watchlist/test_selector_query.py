"""Label selectors on real-world LabelSelectors: matched locally, rendered as labelSelector queries."""

from __future__ import annotations

from typing import Any

import pytest

from statuswatch.watchlist.selector import SelectorError, compile_selector, to_query

SELECTOR = {
    "matchLabels": {"app": "web"},
    "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["front", "edge"]},
        {"key": "canary", "operator": "DoesNotExist"},
        {"key": "track", "operator": "NotIn", "values": ["old"]},
        {"key": "team", "operator": "Exists"},
    ],
}


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"app": "web", "tier": "front", "team": "a"}, True),
        ({"app": "web", "tier": "edge", "team": "a", "track": "new"}, True),
        ({"app": "api", "tier": "front", "team": "a"}, False),
        ({"app": "web", "tier": "back", "team": "a"}, False),
        ({"app": "web", "tier": "front", "team": "a", "canary": "1"}, False),
        ({"app": "web", "tier": "front", "team": "a", "track": "old"}, False),
        ({"app": "web", "tier": "front"}, False),
        (None, False),
    ],
)
def test_matches(labels: dict[str, str] | None, expected: bool) -> None:
    assert compile_selector(SELECTOR)(labels or {}) is expected


def test_empty_selector_selects_everything() -> None:
    assert compile_selector({})({"any": "thing"})
    assert to_query({}) == ""


def test_query() -> None:
    assert to_query(SELECTOR) == "app=web,tier in (edge,front),!canary,track notin (old),team"


@pytest.mark.parametrize(
    "selector",
    [
        {"matchLabels": {"app": 1}},
        {"matchLabels": ["app"]},
        {"matchExpressions": [{"key": "a", "operator": "Near", "values": ["x"]}]},
        {"matchExpressions": [{"key": "a", "operator": "In"}]},
        {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
        {"matchExpressions": "app=web"},
    ],
)
def test_invalid_selectors_raise(selector: Any) -> None:
    with pytest.raises(SelectorError):
        compile_selector(selector)
