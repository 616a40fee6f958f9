"""Health checks written in CEL, in the shape of Flux's ``healthCheckExprs``: parsing, compiling, judging.

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
once; each evaluation hands CEL only the top-level fields the expression names. The built-in library's
entries are compiled by statuswatch's own evaluator of the CEL they use (:mod:`.cel`) instead, so an
operator that judges library kinds does not pay the binding's memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from statuswatch.kstatus import Status

__all__ = [
    "EXPRESSION_FIELDS",
    "FIRED",
    "MAX_EXPRESSION_LENGTH",
    "Compiler",
    "HealthCheck",
    "HealthCheckError",
    "Program",
    "Verdict",
    "binding_compiler",
    "check_for",
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


class Program(Protocol):
    """A compiled expression: the binding's ``cel.Program``, or the library's own evaluator (:mod:`.cel`)."""

    def execute(self, context: dict[str, Any]) -> Any: ...

    def variables(self) -> list[str]: ...


Compiler = Callable[[str], "Program"]
"""Compiles one expression; raises with the parser's words when it does not compile."""


def binding_compiler(expression: str) -> Program:
    """The ``common-expression-language`` binding: full CEL, as Flux runs it."""
    # Imported on first use: the binding costs ~30 MiB of resident memory, and most operators never compile
    # an expression.
    import cel

    return cel.compile(expression)


def _compile(where: str, expression: str, compiler: Compiler) -> Program:
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise HealthCheckError(where, None, f"longer than {MAX_EXPRESSION_LENGTH} characters")
    if not expression.strip():
        raise HealthCheckError(where, expression, "must not be empty")
    try:
        return compiler(expression)
    except Exception as error:  # the binding raises ValueError for syntax errors, others for the rest
        text = str(error)
        # The binding repeats the expression before the parser's own words; the caller already names it.
        detail = (
            text.split("ERROR: ", 1)[1] if text.startswith("Failed to parse") and "ERROR: " in text else text
        )
        raise HealthCheckError(where, expression, f"does not compile: {detail}") from None


def _group_of(api_version: str) -> str:
    return api_version.rpartition("/")[0]


#: What decided a verdict: the generation check, one of :data:`EXPRESSION_FIELDS`, ``none`` (no expression
#: true) or ``error`` (an expression failed at run time).
FIRED = ("generation", *EXPRESSION_FIELDS, "none", "error")

_STATUS_OF = {"inProgress": Status.IN_PROGRESS, "failed": Status.FAILED, "current": Status.CURRENT}
_REASON_OF = {"inProgress": "InProgressExpressionTrue", "failed": "FailedExpressionTrue", "current": ""}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one entry decided about one object: the status, a CamelCase reason ("" for Current), a message
    and which step decided (one of :data:`FIRED`)."""

    status: Status
    reason: str
    message: str
    fired: str


@dataclass(frozen=True)
class HealthCheck:
    """One entry: the kinds it covers (``apiVersion``'s group, ``kind`` or None for the whole group) and its
    CEL expressions. Constructing one compiles them (with ``compiler``, the binding unless given); a bad one
    raises :class:`HealthCheckError`."""

    api_version: str
    kind: str | None
    current: str
    in_progress: str | None = None
    failed: str | None = None
    compiler: Compiler = field(default=binding_compiler, repr=False, compare=False)
    _programs: tuple[tuple[str, str, Program, tuple[str, ...]], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        programs = []
        for name, expression in self.expressions():
            program = _compile(name, expression, self.compiler)
            programs.append((name, expression, program, tuple(program.variables())))
        object.__setattr__(self, "_programs", tuple(programs))

    def expressions(self) -> list[tuple[str, str]]:
        """``(field, expression)`` for each expression given, in the order they are tried."""
        given = zip(EXPRESSION_FIELDS, (self.in_progress, self.failed, self.current), strict=True)
        return [(name, expression) for name, expression in given if expression is not None]

    def programs(self) -> list[Program]:
        """The compiled expressions, in the order they are tried."""
        return [program for _, _, program, _ in self._programs]

    @property
    def group(self) -> str:
        """The API group this entry covers ("" for the core group)."""
        return _group_of(self.api_version)

    def evaluate(self, obj: Mapping[str, Any]) -> tuple[Status, str]:
        """The status of ``obj`` by this entry and why; a run-time error is Unknown naming the expression."""
        verdict = self.judge(obj)
        return verdict.status, verdict.message

    def judge(self, obj: Mapping[str, Any]) -> Verdict:
        """As :meth:`evaluate`, with the reason and the step that decided."""
        generation = _integer(_field(obj, "metadata", "generation"))
        observed = _integer(_field(obj, "status", "observedGeneration"))
        if generation is not None and observed is not None and generation != observed:
            return Verdict(
                Status.IN_PROGRESS,
                "LatestGenerationNotObserved",
                f"generation is {generation}, but latest observed generation is {observed}",
                "generation",
            )
        for name, expression, program, names in self._programs:
            context = {key: obj[key] for key in names if key in obj}
            try:
                result = program.execute(context)
            except KeyError as error:
                return _error(f"health check {name} {expression!r}: no such key: {error}")
            except Exception as error:
                return _error(f"health check {name} {expression!r}: {_one_line(str(error))}")
            if not isinstance(result, bool):
                shown = _one_line(repr(result))
                return _error(f"health check {name} {expression!r}: gave {shown}, not a bool")
            if result:
                return Verdict(
                    _STATUS_OF[name], _REASON_OF[name], f"health check {name} is true: {expression}", name
                )
        return Verdict(
            Status.IN_PROGRESS, "NoExpressionTrue", "no health check expression is true yet", "none"
        )


def _error(message: str) -> Verdict:
    return Verdict(Status.UNKNOWN, "ExpressionError", message, "error")


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


def parse_health_checks(
    entries: Iterable[Mapping[str, Any]],
    *,
    compiler: Compiler = binding_compiler,
    require_kind: bool = False,
    where: str = "healthChecks",
) -> list[HealthCheck]:
    """Entries as written (camelCase keys), each compiled; :class:`HealthCheckError` at the first fault.

    Two entries for the same group and kind (or two group-wide ones) are refused, as Flux does;
    ``require_kind`` refuses group-wide entries (the library's rule).
    """
    prefix = where
    checks: list[HealthCheck] = []
    seen: dict[tuple[str, str | None], int] = {}
    for index, entry in enumerate(entries):
        where = f"{prefix}[{index}]"
        if not isinstance(entry, Mapping):
            raise HealthCheckError(where, None, f"must be an object, got {type(entry).__name__}")
        api_version = _text(entry, "apiVersion", where, required=True) or ""
        if not api_version or api_version.count("/") > 1:
            raise HealthCheckError(where, None, f"apiVersion {api_version!r} is not group/version or v1")
        kind = _text(entry, "kind", where, required=require_kind) or None
        if require_kind and kind is None:
            raise HealthCheckError(where, None, "kind is required")
        current = _text(entry, "current", where, required=True)
        try:
            check = HealthCheck(
                api_version=api_version,
                kind=kind,
                current=current or "",
                in_progress=_text(entry, "inProgress", where, required=False),
                failed=_text(entry, "failed", where, required=False),
                compiler=compiler,
            )
        except HealthCheckError as error:
            raise HealthCheckError(f"{where}.{error.where}", error.expression, error.error) from None
        key = (check.group, check.kind)
        if key in seen:
            raise HealthCheckError(
                where, None, f"repeats {prefix}[{seen[key]}] ({api_version} {kind or '*'})"
            )
        seen[key] = index
        checks.append(check)
    return checks


def check_for(checks: Iterable[HealthCheck], group: str, kind: str) -> HealthCheck | None:
    """The entry covering ``group``/``kind``: the one naming the kind wins over a group-wide one."""
    wide = None
    for check in checks:
        if check.group == group:
            if check.kind == kind:
                return check
            if check.kind is None and wide is None:
                wide = check
    return wide


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
