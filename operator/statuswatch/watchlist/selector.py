"""Label selector matching on plain dicts, for serving ``list(selector=...)`` from the store.

The polling engine finds a Deployment's ReplicaSets and Pods by the owner's ``spec.selector``; evaluating it
locally is what lets the shared view answer without a LIST per StatusWatch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Selector", "SelectorError", "compile_selector", "matches"]

Selector = Mapping[str, Any]


class SelectorError(ValueError):
    """A malformed label selector."""


def _is_label_selector(selector: Selector) -> bool:
    return bool(selector) and set(selector) <= {"matchLabels", "matchExpressions"}


def compile_selector(selector: Selector | None) -> Callable[[Mapping[str, str]], bool]:
    """A predicate over a label dict.

    ``selector`` is either a plain ``{label: value}`` mapping (equality on every pair) or a
    ``metav1.LabelSelector`` dict with ``matchLabels`` and/or ``matchExpressions``. ``None`` and ``{}``
    match everything, as an empty LabelSelector does on the server.
    """
    if not selector:
        return lambda labels: True
    if not _is_label_selector(selector):
        required = {str(k): str(v) for k, v in selector.items()}
        return lambda labels: all(labels.get(k) == v for k, v in required.items())
    tests: list[Callable[[Mapping[str, str]], bool]] = []
    for k, v in (selector.get("matchLabels") or {}).items():
        tests.append(_equals(str(k), str(v)))
    for expr in selector.get("matchExpressions") or []:
        tests.append(_expression(expr))
    return lambda labels: all(t(labels) for t in tests)


def _equals(key: str, value: str) -> Callable[[Mapping[str, str]], bool]:
    return lambda labels: labels.get(key) == value


def _expression(expr: Any) -> Callable[[Mapping[str, str]], bool]:
    if not isinstance(expr, Mapping) or not expr.get("key") or not expr.get("operator"):
        raise SelectorError(f"invalid matchExpression {expr!r}: needs key and operator")
    key, op = str(expr["key"]), str(expr["operator"])
    values = frozenset(str(v) for v in expr.get("values") or [])
    if op == "In":
        if not values:
            raise SelectorError(f"matchExpression on {key!r}: operator In needs values")
        return lambda labels: key in labels and labels[key] in values
    if op == "NotIn":
        if not values:
            raise SelectorError(f"matchExpression on {key!r}: operator NotIn needs values")
        return lambda labels: labels.get(key) not in values
    if op in ("Exists", "DoesNotExist"):
        if values:
            raise SelectorError(f"matchExpression on {key!r}: operator {op} takes no values")
        return (lambda labels: key in labels) if op == "Exists" else (lambda labels: key not in labels)
    raise SelectorError(f"matchExpression on {key!r}: unknown operator {op!r}")


def matches(selector: Selector | None, obj: Mapping[str, Any]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return compile_selector(selector)(labels)
