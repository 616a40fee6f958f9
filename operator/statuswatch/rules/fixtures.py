"""Running rule fixtures: each case through :func:`~.decide.decide`, and every expression shown to fire.

A case passes when its object gets the expected status, from its own file's entry for its kind (rule
``library:<group>/<kind>``), by the step its ``fires`` names. Beyond the cases, every expression of every
entry must be the deciding step of at least one fixture: a ``failed`` expression that no object can make
true would hide broken objects forever. ``statuswatch rules test`` and the library's own unit tests both
run through :func:`run_fixtures`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .decide import Decision, decide
from .library import Fixture, Library

__all__ = ["CaseResult", "run_fixtures"]


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One line of a fixture run: a fixture's outcome, or an expression no fixture fired (no ``fixture``)."""

    file: str
    name: str
    ok: bool
    detail: str
    fixture: Fixture | None = None
    decision: Decision | None = None


def _check(fixture: Fixture, decision: Decision, library: Library) -> list[str]:
    problems = []
    if decision.status != fixture.expect:
        problems.append(f"expected {fixture.expect}, got {decision.status}")
    group, kind = _group_kind(fixture)
    entry = library.entry_for(group, kind)
    wanted = f"library:{group}/{kind}"
    if entry is None:
        problems.append(
            f"no entry in these files covers {kind} ({group or 'core'}); decided by {decision.rule}"
        )
    elif decision.rule != wanted:
        problems.append(f"decided by {decision.rule}, not {wanted}")
    elif Path(entry[1].path).name != fixture.file:
        problems.append(f"{kind} ({group}) is covered by {Path(entry[1].path).name}, not this file")
    if fixture.fires is not None and decision.fired != fixture.fires:
        problems.append(f"expected {fixture.fires} to decide, but {decision.fired or decision.rule} did")
    return problems


def _group_kind(fixture: Fixture) -> tuple[str, str]:
    api_version, kind = fixture.object.get("apiVersion"), fixture.object.get("kind")
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    return group, kind if isinstance(kind, str) else ""


def run_fixtures(library: Library, *, now: datetime | None = None) -> Iterator[CaseResult]:
    """Every fixture of every file (in file order), then a failing line for each expression that no fixture
    of its own file fired."""
    fired: set[tuple[str, str, str]] = set()
    for rule_file in library.files:
        for fixture in rule_file.fixtures:
            decision = decide(fixture.object, now=now, library=library)
            problems = _check(fixture, decision, library)
            if not problems and decision.fired is not None:
                group, kind = _group_kind(fixture)
                fired.add((group, kind, decision.fired))
            said = f"{decision.status} by {decision.rule}" + (
                f" ({decision.fired})" if decision.fired else ""
            )
            detail = "; ".join(problems) + f" [{decision.message}]" if problems else said
            yield CaseResult(fixture.file, fixture.name, not problems, detail, fixture, decision)
    for rule_file in library.files:
        name = Path(rule_file.path).name
        for check in rule_file.checks:
            for step, expression in check.expressions():
                if (check.group, check.kind or "", step) not in fired:
                    yield CaseResult(
                        name,
                        f"{check.kind} {step}",
                        False,
                        f"no fixture is decided by this expression: {expression}",
                    )
