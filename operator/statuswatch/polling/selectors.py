"""Label selectors (``matchLabels`` / ``matchExpressions``) evaluated locally or rendered for the API.

The cluster readers find generated objects by their owner's ``spec.selector``: the direct reader sends it to
the server as a ``labelSelector`` query, the in-memory readers match it here. One parser serves both so a
malformed selector fails the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SelectorError", "matches", "to_query"]

_OPERATORS = {"In", "NotIn", "Exists", "DoesNotExist"}


class SelectorError(ValueError):
    """A selector that cannot be evaluated (unknown operator, wrong value types)."""


def _requirements(selector: Mapping[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    if not isinstance(selector, Mapping):
        raise SelectorError(f"selector must be a mapping, not {type(selector).__name__}")
    requirements: list[tuple[str, str, tuple[str, ...]]] = []
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping):
        raise SelectorError("matchLabels must be a mapping")
    for key, value in match_labels.items():
        if not isinstance(value, str):
            raise SelectorError(f"matchLabels[{key!r}] must be a string")
        requirements.append((str(key), "In", (value,)))
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list):
        raise SelectorError("matchExpressions must be a list")
    for expression in expressions:
        if not isinstance(expression, Mapping):
            raise SelectorError("each matchExpressions entry must be a mapping")
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        if not isinstance(key, str) or operator not in _OPERATORS:
            raise SelectorError(f"invalid selector requirement: {dict(expression)!r}")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise SelectorError(f"values of {key!r} must be a list of strings")
        if operator in {"In", "NotIn"} and not values:
            raise SelectorError(f"operator {operator} on {key!r} needs values")
        if operator in {"Exists", "DoesNotExist"} and values:
            raise SelectorError(f"operator {operator} on {key!r} takes no values")
        requirements.append((key, operator, tuple(values)))
    return requirements


def matches(selector: Mapping[str, Any], labels: Mapping[str, str] | None) -> bool:
    """Whether ``labels`` satisfy ``selector``; an empty selector selects everything, as in Kubernetes."""
    labels = labels or {}
    for key, operator, values in _requirements(selector):
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def to_query(selector: Mapping[str, Any]) -> str:
    """The ``labelSelector`` query parameter for ``selector`` (``""`` selects everything)."""
    parts: list[str] = []
    for key, operator, values in _requirements(selector):
        if operator == "In" and len(values) == 1:
            parts.append(f"{key}={values[0]}")
        elif operator == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif operator == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif operator == "Exists":
            parts.append(key)
        else:
            parts.append(f"!{key}")
    return ",".join(parts)
