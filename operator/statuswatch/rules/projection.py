"""The shared view's projection with the rules in mind: kstatus's fields, plus what the rules read.

:func:`statuswatch.kstatus.project` keeps what kstatus reads, which is all a built-in kind needs. A custom
kind is judged by its library entry or by the conventions, which read more: the library's expressions name
their fields (``has(status.lastFailureTime)``, ``spec.type``), found by :meth:`.cel.Expression.paths`; the
conventions read the fields in :data:`CONVENTION_PATHS`. :class:`RulesProjector` keeps kstatus's projection
and copies those paths on top, so a library kind stays served by the event-driven view (no GET per poll)
while the view stays lean. An entry compiled by the binding (outside the evaluator's subset) has no known
paths: its kind keeps the whole object but ``metadata.managedFields``.

For built-in kinds the projection is exactly kstatus's, which lets the watch streams keep their typed
decoding for them (:meth:`RulesProjector.same_as_kstatus`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from statuswatch.kstatus import project

from .cel import Expression
from .conventions import COUNT_PAIRS, FLAG_FIELDS, REPLICA_FIELDS, STATUS_WORD_FIELDS
from .groups import is_built_in_group
from .library import Library, builtin_library

__all__ = ["CONVENTION_PATHS", "RulesProjector", "library_paths"]

_Path = tuple[str, ...]

#: What the conventions read of a custom kind beyond kstatus's projection.
CONVENTION_PATHS: tuple[_Path, ...] = (
    ("status", "conditions"),  # whole entries: Cluster API's severity
    ("status", "parents"),
    ("status", "ancestors"),
    ("status", "ingress"),
    *(("status", *path) for path in STATUS_WORD_FIELDS),
    *(("status", key) for key in FLAG_FIELDS),
    ("status", "failureReason"),
    ("status", "failureMessage"),
    ("status", "replicas"),
    *(("status", key) for key in REPLICA_FIELDS),
    ("spec", "replicas"),
    *(("status", key) for pair in COUNT_PAIRS for key in pair),
)


def library_paths(library: Library, group: str, kind: str) -> tuple[_Path, ...] | None:
    """The paths the library's entry for a kind reads, sorted; None when unknown (keep whole objects)."""
    entry = library.entry_for(group, kind)
    if entry is None:
        return ()
    paths: set[_Path] = set()
    for program in entry[0].programs():
        if not isinstance(program, Expression):
            return None
        paths.update(program.paths())
    return tuple(sorted(paths))


def _copy(source: Mapping[str, Any], target: dict[str, Any], path: _Path) -> None:
    """Copy the value at ``path``; the maps along the way are kept even where it is absent, so that
    ``has(spec.x)`` still finds ``spec`` (and says false)."""
    value: Any = source
    place = target
    for depth, key in enumerate(path):
        if not isinstance(value, Mapping) or key not in value:
            return
        value = value[key]
        if depth == len(path) - 1:
            place[key] = value
            return
        if not isinstance(value, Mapping):
            return
        inner = place.get(key)
        if inner is None:
            inner = place[key] = {}
        if not isinstance(inner, dict):
            return  # malformed: kstatus's projection kept it as it is
        place = inner


def _without_managed_fields(obj: Mapping[str, Any]) -> dict[str, Any]:
    whole = dict(obj)
    metadata = whole.get("metadata")
    if isinstance(metadata, Mapping) and "managedFields" in metadata:
        whole["metadata"] = {key: value for key, value in metadata.items() if key != "managedFields"}
    return whole


class RulesProjector:
    """A view projector (``Callable[[Mapping], dict]``) that keeps what the rules read (module docstring).

    ``library`` None is the built-in library, loaded on the first custom kind.
    """

    def __init__(self, library: Library | None = None) -> None:
        self._library = library
        self._paths: dict[tuple[str, str], tuple[_Path, ...] | None] = {}

    def same_as_kstatus(self, group: str, kind: str) -> bool:
        """Whether this kind's projection is exactly :func:`statuswatch.kstatus.project`'s."""
        return is_built_in_group(group)

    def paths(self, group: str, kind: str) -> tuple[_Path, ...] | None:
        """What is kept beyond kstatus's projection for a custom kind (None: the whole object)."""
        key = (group, kind)
        if key not in self._paths:
            library = builtin_library() if self._library is None else self._library
            if library.entry_for(group, kind) is not None:
                # The conventions' fields too: a library verdict that holds an object back quotes them.
                paths = library_paths(library, group, kind)
                self._paths[key] = None if paths is None else tuple(sorted({*paths, *CONVENTION_PATHS}))
            else:
                self._paths[key] = CONVENTION_PATHS
        return self._paths[key]

    def __call__(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        projected = project(obj)
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str) or api_version.count("/") > 1:
            return projected
        group = api_version.rpartition("/")[0]
        if is_built_in_group(group):
            return projected
        paths = self.paths(group, kind)
        if paths is None:
            return _without_managed_fields(obj)
        _overlay(obj, projected, paths)
        return projected


def _overlay(obj: Mapping[str, Any], projected: dict[str, Any], paths: Iterable[_Path]) -> None:
    for path in paths:
        if path and isinstance(projected.get(path[0], {}), dict):
            _copy(obj, projected, path)
    status = projected.get("status")
    if isinstance(status, dict) and len(status) > 1:
        status.pop("observed", None)  # kstatus's marker of a non-empty status it kept nothing of
