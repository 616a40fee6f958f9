"""Reading fields out of decoded JSON with the exact leniency of Go kstatus.

kstatus reads most fields leniently (a missing or wrongly typed value falls back to a default) but a few
strictly (``metadata.generation``, ``status.observedGeneration``, ``metadata.deletionTimestamp`` and the
conditions list are errors when malformed). Matching both behaviours is what makes our statuses agree
with Flux, kpt and Helm on the same objects. JSON numbers with a fraction are floats and booleans are a
subclass of ``int`` in Python; neither counts as an integer here, as in Go's unstructured getters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from statuswatch.kstatus.model import ComputeError

__all__ = [
    "ObservedCondition",
    "conditions",
    "find_int",
    "find_str",
    "first_condition",
    "get_bool",
    "get_int",
    "get_str",
    "group_and_kind",
    "is_int",
    "kind_of",
]

_MISSING = object()


def _walk(obj: Mapping[str, Any], path: Sequence[str]) -> Any:
    """The value at ``path``; ``_MISSING`` when absent or under a null; ComputeError through a scalar."""
    value: Any = obj
    for depth, key in enumerate(path):
        if value is None:
            return _MISSING
        if not isinstance(value, Mapping):
            where = ".".join(path[:depth])
            raise ComputeError(f".{where} is {type(value).__name__}, expected an object")
        if key not in value:
            return _MISSING
        value = value[key]
    return value


def _lenient(obj: Mapping[str, Any], path: Sequence[str]) -> Any:
    try:
        return _walk(obj, path)
    except ComputeError:
        return _MISSING


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def get_int(obj: Mapping[str, Any], *path: str, default: int) -> int:
    value = _lenient(obj, path)
    return value if is_int(value) else default


def get_str(obj: Mapping[str, Any], *path: str, default: str) -> str:
    value = _lenient(obj, path)
    return value if isinstance(value, str) else default


def get_bool(obj: Mapping[str, Any], *path: str, default: bool) -> bool:
    value = _lenient(obj, path)
    return value if isinstance(value, bool) else default


def find_int(obj: Mapping[str, Any], *path: str) -> int | None:
    """A strictly typed integer: None when absent, ComputeError when present but not an integer."""
    value = _walk(obj, path)
    if value is _MISSING:
        return None
    if not is_int(value):
        raise ComputeError(f".{'.'.join(path)} is {_describe(value)}, expected an integer")
    return value  # type: ignore[no-any-return]


def find_str(obj: Mapping[str, Any], *path: str) -> str | None:
    """A strictly typed string: None when absent, ComputeError when present but not a string."""
    value = _walk(obj, path)
    if value is _MISSING:
        return None
    if not isinstance(value, str):
        raise ComputeError(f".{'.'.join(path)} is {_describe(value)}, expected a string")
    return value


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    return f"{type(value).__name__} {value!r}"


@dataclass(frozen=True, slots=True)
class ObservedCondition:
    """One entry of ``status.conditions`` as kstatus decodes it."""

    type: str
    status: str
    reason: str
    message: str


_CONDITION_FIELDS = ("type", "status", "reason", "message")


def conditions(obj: Mapping[str, Any]) -> list[ObservedCondition]:
    """``status.conditions`` decoded strictly; a list of the wrong shape is a ComputeError.

    Extra keys are ignored and null values read as "", which is how Go's unstructured converter decodes
    into kstatus's condition struct.
    """
    status = obj.get("status")
    if status is None:
        return []
    if not isinstance(status, Mapping):
        raise ComputeError(f".status is {_describe(status)}, expected an object")
    raw = status.get("conditions")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ComputeError(f".status.conditions is {_describe(raw)}, expected a list")
    decoded: list[ObservedCondition] = []
    for index, entry in enumerate(raw):
        if entry is None:
            decoded.append(ObservedCondition("", "", "", ""))
            continue
        if not isinstance(entry, Mapping):
            raise ComputeError(f".status.conditions[{index}] is {_describe(entry)}, expected an object")
        values: list[str] = []
        for name in _CONDITION_FIELDS:
            value = entry.get(name)
            if value is None:
                values.append("")
            elif isinstance(value, str):
                values.append(value)
            else:
                raise ComputeError(
                    f".status.conditions[{index}].{name} is {_describe(value)}, expected a string"
                )
        decoded.append(ObservedCondition(*values))
    return decoded


def first_condition(
    found: Sequence[ObservedCondition], type_: str, status: str | None = None
) -> ObservedCondition | None:
    """The first condition of a type (and status, when given): kstatus lets the first one win."""
    for condition in found:
        if condition.type == type_ and (status is None or condition.status == status):
            return condition
    return None


def group_and_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    """The object's API group and kind; the version is irrelevant to every rule."""
    api_version = obj.get("apiVersion")
    if not isinstance(api_version, str) or api_version.count("/") > 1:
        return "", ""  # Go's unstructured gives an empty GroupVersionKind for an unparsable apiVersion
    group = api_version.partition("/")[0] if "/" in api_version else ""
    return group, kind_of(obj)


def kind_of(obj: Mapping[str, Any]) -> str:
    kind = obj.get("kind")
    return kind if isinstance(kind, str) else ""
