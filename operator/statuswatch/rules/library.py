"""Rule files: the built-in library of per-kind rules, and users' own files in the same format.

A rule file (``statuswatch/rules/library/<project>.yaml``, format in docs/rules.md) holds ``project``,
``source`` (the published API the rules were written from), ``healthChecks`` in the ``spec.healthChecks``
shape with a ``kind`` on every entry, and ``fixtures``: objects with the status they must get and the step
that must decide it (``fires``). The library applies only to kinds outside the built-in Kubernetes groups,
which keep kstatus's rules; one kind has one entry across all files. The files are package data, read once
per process on first use (:func:`builtin_library`). Loading is pure: the caller reads the files' text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from statuswatch.kstatus import Status

from .cel import CelSyntaxError, compile_expression
from .groups import is_built_in_group
from .healthchecks import (
    FIRED,
    Compiler,
    HealthCheck,
    HealthCheckError,
    Program,
    binding_compiler,
    parse_health_checks,
)

__all__ = [
    "LIBRARY_DIR",
    "Fixture",
    "Library",
    "RuleFile",
    "RuleFileError",
    "builtin_library",
    "library_compiler",
    "load_rule_files",
    "parse_rule_file",
]

#: Where the built-in library's files are (package data).
LIBRARY_DIR = Path(__file__).parent / "library"

_EXPECTED = {
    str(status): status for status in (Status.CURRENT, Status.IN_PROGRESS, Status.FAILED, Status.UNKNOWN)
}
_FIRES = frozenset(name for name in FIRED if name != "error")


# libyaml's loader when PyYAML has it: the library's files take ~4 s with the pure-Python one, 0.6 s with it.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RuleFileError(ValueError):
    """A rule file that cannot be used: which file, where in it, what is wrong."""


@dataclass(frozen=True)
class Fixture:
    """One case: an object, the status it must get and (optionally) which step must decide it."""

    name: str
    expect: Status
    fires: str | None
    object: Mapping[str, Any]
    file: str


@dataclass(frozen=True)
class RuleFile:
    """One file: its project, the API reference it was written from, its entries and fixtures."""

    path: str
    project: str
    source: str
    checks: tuple[HealthCheck, ...]
    fixtures: tuple[Fixture, ...]


def library_compiler(expression: str) -> Program:
    """How library expressions are compiled: statuswatch's own evaluator of the CEL subset (:mod:`.cel`),
    or the binding for an expression outside it (a unit test keeps the built-in library inside it)."""
    try:
        return compile_expression(expression)
    except CelSyntaxError:
        return binding_compiler(expression)


def _required_text(document: Mapping[str, Any], key: str, where: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RuleFileError(f"{where}: {key} must be a non-empty string")
    return value


def _fixtures(raw: object, where: str) -> tuple[Fixture, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise RuleFileError(f"{where}: fixtures must be a list")
    fixtures: list[Fixture] = []
    names: set[str] = set()
    for index, entry in enumerate(raw):
        at = f"{where}: fixtures[{index}]"
        if not isinstance(entry, Mapping):
            raise RuleFileError(f"{at} must be an object")
        name = _required_text(entry, "name", at)
        if name in names:
            raise RuleFileError(f"{at}: the name {name!r} is used twice")
        names.add(name)
        expect = _EXPECTED.get(str(entry.get("expect")))
        if expect is None:
            raise RuleFileError(f"{at} ({name}): expect must be one of {', '.join(_EXPECTED)}")
        fires = entry.get("fires")
        if fires is not None and fires not in _FIRES:
            raise RuleFileError(f"{at} ({name}): fires must be one of {', '.join(sorted(_FIRES))}")
        obj = entry.get("object")
        if not isinstance(obj, Mapping):
            raise RuleFileError(f"{at} ({name}): object must be an object")
        fixtures.append(Fixture(name, expect, fires, obj, where))
    return tuple(fixtures)


def parse_rule_file(
    text: str, *, path: str, compiler: Compiler = library_compiler, fixtures: bool = True
) -> RuleFile:
    """A rule file from its YAML text; :class:`RuleFileError` naming the fault. ``fixtures=False`` checks
    and drops them (an operator has no use for them)."""
    name = Path(path).name
    if not fixtures:
        # Most of a file is fixtures; a top-level key starts a line, so the rules end where they begin.
        text = re.split(r"(?m)^fixtures:", text, maxsplit=1)[0]
    try:
        document = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as error:
        raise RuleFileError(f"{name}: not YAML: {error}") from None
    if not isinstance(document, Mapping):
        raise RuleFileError(f"{name}: must be a mapping with project, source, healthChecks and fixtures")
    project = _required_text(document, "project", name)
    source = _required_text(document, "source", name)
    entries = document.get("healthChecks")
    if not isinstance(entries, list) or not entries:
        raise RuleFileError(f"{name}: healthChecks must be a non-empty list")
    try:
        checks = parse_health_checks(entries, compiler=compiler, require_kind=True)
    except HealthCheckError as error:
        raise RuleFileError(f"{name}: {error}") from None
    for index, check in enumerate(checks):
        if is_built_in_group(check.group):
            raise RuleFileError(
                f"{name}: healthChecks[{index}] ({check.api_version} {check.kind}): built-in Kubernetes "
                "kinds keep kstatus's rules; the library covers other kinds only"
            )
    cases = _fixtures(document.get("fixtures"), name)
    return RuleFile(path, project, source, tuple(checks), cases if fixtures else ())


@dataclass(frozen=True)
class Library:
    """Rule files by kind: ``entry_for(group, kind)`` is the one entry covering that kind, with its file."""

    files: tuple[RuleFile, ...] = ()
    _by_kind: dict[tuple[str, str], tuple[HealthCheck, RuleFile]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_kind: dict[tuple[str, str], tuple[HealthCheck, RuleFile]] = {}
        for rule_file in self.files:
            for check in rule_file.checks:
                key = (check.group, check.kind or "")
                if key in by_kind:
                    other = Path(by_kind[key][1].path).name
                    here = Path(rule_file.path).name
                    raise RuleFileError(f"{here}: {check.kind} ({check.group}) is covered by {other} already")
                by_kind[key] = (check, rule_file)
        object.__setattr__(self, "_by_kind", by_kind)

    def entry_for(self, group: str, kind: str) -> tuple[HealthCheck, RuleFile] | None:
        return self._by_kind.get((group, kind))

    def kinds(self) -> list[tuple[str, str]]:
        """Every (group, kind) covered, sorted."""
        return sorted(self._by_kind)

    def __len__(self) -> int:
        return len(self._by_kind)


def load_rule_files(
    paths: Iterable[Path], *, compiler: Compiler = library_compiler, fixtures: bool = True
) -> Library:
    """A library from rule files (read here); a directory stands for its ``*.yaml``/``*.yml`` files, sorted.
    Raises :class:`RuleFileError` or OSError."""
    files: list[RuleFile] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        else:
            found = [path]
        for each in found:
            text = each.read_text(encoding="utf-8")
            files.append(parse_rule_file(text, path=str(each), compiler=compiler, fixtures=fixtures))
    return Library(tuple(files))


@functools.cache
def builtin_library() -> Library:
    """The library shipped in the package, loaded once without its fixtures (``statuswatch rules test``
    loads them); empty if the package holds no rule files."""
    return load_rule_files([LIBRARY_DIR], fixtures=False) if LIBRARY_DIR.is_dir() else Library()
