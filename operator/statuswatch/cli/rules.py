"""``statuswatch rules``: test rule files against their fixtures, and list the built-in library's kinds.

``rules test DIR...`` reads rule files in the library's format (``project``, ``source``, ``healthChecks`` with
a kind on every entry, ``fixtures``; see docs/rules.md), runs every fixture through the same
:func:`statuswatch.rules.decide` the operator uses (with those files as the library), and prints a line per
case, then a line for every expression that no fixture makes decide. Exit 0 when all pass, 1 when a case
fails, 2 when a file cannot be used (unreadable, not the format, an expression that does not compile).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from statuswatch.cli.exits import EXIT_DONE, EXIT_TIMEOUT, EXIT_USAGE
from statuswatch.rules import LIBRARY_DIR, RuleFileError, builtin_library, load_rule_files
from statuswatch.rules.fixtures import run_fixtures

__all__ = ["EXIT_CASE_FAILED", "list_kinds", "rules", "run_rules_test", "test"]

#: A fixture failed (the same code as a ``--timeout`` that ran out: the goal was not reached).
EXIT_CASE_FAILED = EXIT_TIMEOUT


def run_rules_test(paths: list[Path], *, verbose: bool = True) -> tuple[int, list[str]]:
    """The exit code and the output lines of ``rules test`` on ``paths``."""
    try:
        library = load_rule_files(paths)
    except (RuleFileError, OSError) as error:
        return EXIT_USAGE, [f"error: {error}"]
    lines: list[str] = []
    passed = failed = 0
    for case in run_fixtures(library):
        if case.ok:
            passed += 1
        else:
            failed += 1
        if verbose or not case.ok:
            lines.append(f"{'PASS' if case.ok else 'FAIL'}  {case.file}: {case.name}: {case.detail}")
    kinds = len(library)
    lines.append(f"{passed} passed, {failed} failed ({kinds} kinds in {len(library.files)} files)")
    return (EXIT_CASE_FAILED if failed else EXIT_DONE), lines


@click.group()
def rules() -> None:
    """Test rule files (the library's format) and list the built-in library."""


@rules.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("-q", "--quiet", is_flag=True, help="Print only the failures and the summary.")
def test(paths: tuple[Path, ...], quiet: bool) -> None:
    """Run the fixtures of rule files (default: the built-in library).

    \b
    Examples:
      statuswatch rules test my-rules/
      statuswatch rules test -q
    """
    code, lines = run_rules_test(list(paths) or [LIBRARY_DIR], verbose=not quiet)
    for line in lines:
        click.echo(line, err=line.startswith("error:"))
    sys.exit(code)


@rules.command("list")
@click.option("-o", "--output", type=click.Choice(("table", "json")), default="table", show_default=True)
def list_kinds(output: str) -> None:
    """List the kinds the built-in library covers, with their project."""
    library = builtin_library()
    rows = []
    for group, kind in library.kinds():
        entry = library.entry_for(group, kind)
        assert entry is not None
        rows.append(
            {"group": group, "kind": kind, "project": entry[1].project, "file": Path(entry[1].path).name}
        )
    if output == "json":
        for row in rows:
            click.echo(json.dumps(row))
        return
    width = max((len(row["project"]) for row in rows), default=7)
    for row in rows:
        click.echo(f"{row['project'].ljust(width)}  {row['kind']}.{row['group']}")
