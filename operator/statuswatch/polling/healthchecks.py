"""Health checks written in CEL, in the shape of Flux's ``healthCheckExprs``, as a pluggable status reader.

kstatus knows the built-in kinds and anything with standard conditions; custom resources with a ``phase`` or
their own condition types need rules from their users. Flux already lets users write those rules in CEL
(``apiVersion``, optional ``kind``, ``current``, ``inProgress``, ``failed``), so the same entries work here,
with Flux's semantics: an entry with a kind beats a group-wide one and replaces kstatus for that kind; a
differing ``metadata.generation`` / ``status.observedGeneration`` (both integers) is InProgress before any
expression runs; then ``inProgress``, ``failed`` and ``current`` in that order, the first true one decides;
none true is InProgress. An expression that fails at run time (a missing field, a wrong type, a result that
is not a bool) makes that object Unknown with the error; one that does not compile is refused up front by
:func:`parse_health_checks`.

The expressions are compiled and run by ``common-expression-language`` (the Rust ``cel-interpreter`` behind
a typed Python binding): it has ``has()``, map and list macros and the string functions Flux users write,
reports parse errors with their position, and runs an expression in microseconds. Each entry is compiled
once; each evaluation hands CEL only the top-level fields the expression names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from statuswatch.kstatus import Status

from .clusterreader import ClusterReader
from .events import ResourceStatus
from .identifiers import ObjMetadata
from .statusreaders import ObjectStatusReader

if TYPE_CHECKING:
    import cel

__all__ = [
    "EXPRESSION_FIELDS",
    "MAX_EXPRESSION_LENGTH",
    "CelStatusReader",
    "HealthCheck",
    "HealthCheckError",
    "health_checks_from_yaml",
    "load_health_checks",
    "parse_health_checks",
]

#: The expression fields of an entry, in the order they are tried (``current`` is required).
EXPRESSION_FIELDS = ("inProgress", "failed", "current")
MAX_EXPRESSION_LENGTH = 4096
_MAX_ERROR = 300


class HealthCheckError(Exception):
    """A health check entry that cannot be used: which one, which expression, what is wrong (one line)."""

    def __init__(self, where: str, expression: str | None, error: str) -> None:
        self.where = where
        self.expression = expression
        self.error = _one_line(error)
        shown = f" {expression!r}" if expression is not None else ""
        super().__init__(f"{where}{shown}: {self.error}")


def _one_line(text: str) -> str:
    # The parser draws a caret under the fault on extra lines starting with "|"; the position is in the text.
    lines = [line.strip() for line in text.splitlines() if not line.strip().startswith("|")]
    joined = " ".join(" ".join(lines).split())
    return joined if len(joined) <= _MAX_ERROR else joined[: _MAX_ERROR - 3] + "..."


def _compile(where: str, expression: str) -> cel.Program:
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise HealthCheckError(where, None, f"longer than {MAX_EXPRESSION_LENGTH} characters")
    if not expression.strip():
        raise HealthCheckError(where, expression, "must not be empty")
    # Imported on first use: the binding costs ~30 MiB of resident memory, and most operators never compile
    # an expression.
    import cel

    try:
        return cel.compile(expression)
    except Exception as error:  # the binding raises ValueError for syntax errors, others for the rest
        text = str(error)
        # The binding repeats the expression before the parser's own words; the caller already names it.
        detail = (
            text.split("ERROR: ", 1)[1] if text.startswith("Failed to parse") and "ERROR: " in text else text
        )
        raise HealthCheckError(where, expression, f"does not compile: {detail}") from None


def _group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


@dataclass(frozen=True)
class HealthCheck:
    """One entry: the kinds it covers (``apiVersion``'s group, ``kind`` or None for the whole group) and its
    CEL expressions. Constructing one compiles them; a bad one raises :class:`HealthCheckError`."""

    api_version: str
    kind: str | None
    current: str
    in_progress: str | None = None
    failed: str | None = None
    _programs: tuple[tuple[str, str, cel.Program, tuple[str, ...]], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        programs = []
        for name, expression in zip(
            EXPRESSION_FIELDS, (self.in_progress, self.failed, self.current), strict=True
        ):
            if expression is None:
                continue
            program = _compile(name, expression)
            programs.append((name, expression, program, tuple(program.variables())))
        object.__setattr__(self, "_programs", tuple(programs))

    @property
    def group(self) -> str:
        """The API group this entry covers ("" for the core group)."""
        return _group_of(self.api_version)

    def evaluate(self, obj: Mapping[str, Any]) -> tuple[Status, str]:
        """The status of ``obj`` by this entry and why; a run-time error is Unknown naming the expression."""
        generation = _integer(_field(obj, "metadata", "generation"))
        observed = _integer(_field(obj, "status", "observedGeneration"))
        if generation is not None and observed is not None and generation != observed:
            return (
                Status.IN_PROGRESS,
                f"generation is {generation}, but latest observed generation is {observed}",
            )
        for name, expression, program, names in self._programs:
            context = {key: obj[key] for key in names if key in obj}
            try:
                result = program.execute(context)
            except KeyError as error:
                return Status.UNKNOWN, f"health check {name} {expression!r}: no such key: {error}"
            except Exception as error:
                return Status.UNKNOWN, f"health check {name} {expression!r}: {_one_line(str(error))}"
            if not isinstance(result, bool):
                shown = _one_line(repr(result))
                return Status.UNKNOWN, f"health check {name} {expression!r}: gave {shown}, not a bool"
            if result:
                status = {"inProgress": Status.IN_PROGRESS, "failed": Status.FAILED}.get(name, Status.CURRENT)
                return status, f"health check {name} is true: {expression}"
        return Status.IN_PROGRESS, "no health check expression is true yet"


def _field(obj: Mapping[str, Any], *path: str) -> object:
    value: object = obj
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(entry: Mapping[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise HealthCheckError(where, None, f"{key} is required")
        return None
    if not isinstance(value, str):
        raise HealthCheckError(where, None, f"{key} must be a string, got {type(value).__name__}")
    return value


def parse_health_checks(entries: Iterable[Mapping[str, Any]]) -> list[HealthCheck]:
    """Entries as written (camelCase keys), each compiled; :class:`HealthCheckError` at the first fault.

    Two entries for the same group and kind (or two group-wide ones) are refused, as Flux does.
    """
    checks: list[HealthCheck] = []
    seen: dict[tuple[str, str | None], int] = {}
    for index, entry in enumerate(entries):
        where = f"healthChecks[{index}]"
        if not isinstance(entry, Mapping):
            raise HealthCheckError(where, None, f"must be an object, got {type(entry).__name__}")
        api_version = _text(entry, "apiVersion", where, required=True) or ""
        if not api_version or api_version.count("/") > 1:
            raise HealthCheckError(where, None, f"apiVersion {api_version!r} is not group/version or v1")
        kind = _text(entry, "kind", where, required=False) or None
        current = _text(entry, "current", where, required=True)
        try:
            check = HealthCheck(
                api_version=api_version,
                kind=kind,
                current=current or "",
                in_progress=_text(entry, "inProgress", where, required=False),
                failed=_text(entry, "failed", where, required=False),
            )
        except HealthCheckError as error:
            raise HealthCheckError(f"{where}.{error.where}", error.expression, error.error) from None
        key = (check.group, check.kind)
        if key in seen:
            raise HealthCheckError(
                where, None, f"repeats healthChecks[{seen[key]}] ({api_version} {kind or '*'})"
            )
        seen[key] = index
        checks.append(check)
    return checks


def load_health_checks(path: str | Path) -> list[HealthCheck]:
    """Health checks from a YAML file: a list of entries, or a mapping holding them under ``healthCheckExprs``
    (Flux's field) or ``healthChecks`` (the StatusWatch's). Raises :class:`HealthCheckError` (also for a file
    that is not such YAML) or OSError."""
    text = Path(path).read_text(encoding="utf-8")
    return health_checks_from_yaml(text, source=str(path))


def health_checks_from_yaml(text: str, *, source: str = "health checks") -> list[HealthCheck]:
    """As :func:`load_health_checks`, from YAML text (a ConfigMap value, say)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise HealthCheckError(source, None, f"not YAML: {error}") from None
    if document is None:
        return []
    if isinstance(document, Mapping):
        for key in ("healthCheckExprs", "healthChecks"):
            if key in document:
                document = document[key]
                break
        else:
            raise HealthCheckError(source, None, "a mapping must hold healthCheckExprs or healthChecks")
    if not isinstance(document, list):
        raise HealthCheckError(source, None, "must be a list of health checks")
    return parse_health_checks(document)


class CelStatusReader(ObjectStatusReader):
    """A status reader for the kinds the health checks cover; put it first in ``status_readers``.

    The entry with the exact kind wins over a group-wide one. No generated resources are read: an entry
    replaces kstatus (and its children) for that kind, as in Flux. Expressions may read any field, but the
    shared view keeps only the fields kstatus reads: poll covered kinds with ``Options(use_cache=False)``.
    """

    def __init__(self, checks: Iterable[HealthCheck]) -> None:
        super().__init__()
        self.checks = tuple(checks)

    def check_for(self, group: str, kind: str) -> HealthCheck | None:
        exact = next((c for c in self.checks if c.group == group and c.kind == kind), None)
        return exact or next((c for c in self.checks if c.group == group and c.kind is None), None)

    def supports(self, group: str, kind: str) -> bool:
        return self.check_for(group, kind) is not None

    async def status_for_object(
        self, reader: ClusterReader, identifier: ObjMetadata, obj: Mapping[str, Any]
    ) -> ResourceStatus:
        check = self.check_for(identifier.group, identifier.kind)
        if check is None:  # picked for another kind: never by the engine, which asks supports() first
            raise LookupError(f"no health check covers {identifier.kind}.{identifier.group}")
        status, message = check.evaluate(obj)
        return ResourceStatus(identifier, status, message, obj)
