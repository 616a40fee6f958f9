"""Label selectors on plain dicts: matched locally against stored objects, or rendered as a query.

The polling engine finds a Deployment's ReplicaSets and Pods by the owner's ``spec.selector``. The shared
view answers that from memory (no LIST per StatusWatch); the direct reader sends the same selector to the
server as ``labelSelector``. One parser serves both, so a malformed selector fails the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "Requirement",
    "Selector",
    "SelectorError",
    "compile_selector",
    "matches",
    "requirements",
    "to_query",
]

Selector = Mapping[str, Any]
Requirement = tuple[str, str, frozenset[str]]

_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class SelectorError(ValueError):
    """A malformed label selector (unknown operator, wrong value types, values where none belong)."""


def requirements(selector: Selector | None) -> list[Requirement]:
    """``selector`` as (key, operator, values) requirements.

    ``selector`` is either a plain ``{label: value}`` mapping (equality on every pair) or a
    ``metav1.LabelSelector`` dict with ``matchLabels`` and/or ``matchExpressions``. ``None`` and ``{}``
    select everything, as an empty LabelSelector does on the server.
    """
    if not selector:
        return []
    if not isinstance(selector, Mapping):
        raise SelectorError(f"a selector must be a mapping, not {type(selector).__name__}")
    if not set(selector) <= {"matchLabels", "matchExpressions"}:
        return [_equality(key, value, "label") for key, value in selector.items()]
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping):
        raise SelectorError("matchLabels must be a mapping")
    found = [_equality(key, value, "matchLabels") for key, value in match_labels.items()]
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list):
        raise SelectorError("matchExpressions must be a list")
    found.extend(_expression(expression) for expression in expressions)
    return found


def _equality(key: Any, value: Any, where: str) -> Requirement:
    if not isinstance(key, str) or not isinstance(value, str):
        raise SelectorError(f"{where} {key!r}: keys and values must be strings")
    return key, "In", frozenset((value,))


def _expression(expression: Any) -> Requirement:
    if not isinstance(expression, Mapping) or not expression.get("key") or not expression.get("operator"):
        raise SelectorError(f"invalid matchExpression {expression!r}: needs key and operator")
    key, operator = expression["key"], expression["operator"]
    values = expression.get("values") or []
    if not isinstance(key, str) or operator not in _OPERATORS:
        raise SelectorError(f"matchExpression on {key!r}: unknown operator {operator!r}")
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise SelectorError(f"matchExpression on {key!r}: values must be a list of strings")
    if operator in ("In", "NotIn") and not values:
        raise SelectorError(f"matchExpression on {key!r}: operator {operator} needs values")
    if operator in ("Exists", "DoesNotExist") and values:
        raise SelectorError(f"matchExpression on {key!r}: operator {operator} takes no values")
    return key, operator, frozenset(values)


def _satisfied(requirement: Requirement, labels: Mapping[str, str]) -> bool:
    key, operator, values = requirement
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    return key not in labels


def compile_selector(selector: Selector | None) -> Callable[[Mapping[str, str]], bool]:
    """A predicate over a label dict (see :func:`requirements` for the accepted forms)."""
    needed = requirements(selector)
    return lambda labels: all(_satisfied(requirement, labels) for requirement in needed)


def matches(selector: Selector | None, obj: Mapping[str, Any]) -> bool:
    """Whether the object's ``metadata.labels`` satisfy ``selector``."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return compile_selector(selector)(labels)


def to_query(selector: Selector | None) -> str:
    """The ``labelSelector`` query parameter for ``selector`` (``""`` selects everything)."""
    parts: list[str] = []
    for key, operator, values in requirements(selector):
        listed = ",".join(sorted(values))
        if operator == "In" and len(values) == 1:
            parts.append(f"{key}={listed}")
        elif operator == "In":
            parts.append(f"{key} in ({listed})")
        elif operator == "NotIn":
            parts.append(f"{key} notin ({listed})")
        elif operator == "Exists":
            parts.append(key)
        else:
            parts.append(f"!{key}")
    return ",".join(parts)
