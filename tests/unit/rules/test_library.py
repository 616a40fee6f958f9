"""The built-in library: every fixture through ``statuswatch rules test``, every expression fires, every
expression runs on statuswatch's own evaluator and agrees with the binding on every fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cel
import pytest
from click.testing import CliRunner

from statuswatch.cli.rules import rules, run_rules_test
from statuswatch.rules import LIBRARY_DIR, RuleFileError, builtin_library, load_rule_files
from statuswatch.rules.cel import Expression, compile_expression
from statuswatch.rules.library import parse_rule_file

DATA = Path(__file__).parent / "data"
LIBRARY_FILES = sorted(LIBRARY_DIR.glob("*.yaml"))


def test_the_library_passes_rules_test() -> None:
    result = CliRunner().invoke(rules, ["test", str(LIBRARY_DIR)])
    assert result.exit_code == 0, result.output
    summary = result.output.strip().splitlines()[-1]
    assert summary.endswith(f"({len(builtin_library())} kinds in {len(LIBRARY_FILES)} files)")
    assert " 0 failed" in summary


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: p.name)
def test_every_library_expression_is_in_the_evaluators_subset(path: Path) -> None:
    for check in parse_rule_file(path.read_text(encoding="utf-8"), path=str(path)).checks:
        for name, expression in check.expressions():
            assert isinstance(compile_expression(expression), Expression), (check.kind, name)


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=lambda p: p.name)
def test_the_evaluator_agrees_with_the_binding_on_every_fixture(path: Path) -> None:
    rule_file = parse_rule_file(path.read_text(encoding="utf-8"), path=str(path))
    for fixture in rule_file.fixtures:
        for check in rule_file.checks:
            for name, expression in check.expressions():
                ours, theirs = compile_expression(expression), cel.compile(expression)
                context = {key: fixture.object[key] for key in ours.variables() if key in fixture.object}

                assert run(ours, context) == run(theirs, context), (fixture.name, check.kind, name)


def run(program: Any, context: dict[str, Any]) -> tuple[str, object]:
    try:
        return ("value", program.execute(context))
    except Exception:  # each side's own error types
        return ("error", None)


def test_a_users_rule_file_passes() -> None:
    code, lines = run_rules_test([DATA / "good"])
    assert code == 0, lines
    assert lines[-1] == "5 passed, 0 failed (1 kinds in 1 files)"
    assert lines[0].startswith(
        "PASS  widgets.yaml: spun: Current by library:widgets.example.io/Widget (current)"
    )


def test_an_expression_that_never_fires_and_a_wrong_step_fail() -> None:
    code, lines = run_rules_test([DATA / "never-fires"])
    assert code == 1
    failures = [line for line in lines if line.startswith("FAIL")]
    assert any("broken: expected Failed, got InProgress" in line for line in failures), lines
    assert any("Gadget failed: no fixture is decided by this expression" in line for line in failures), lines


def test_a_rule_file_for_a_built_in_kind_is_refused(tmp_path: Path) -> None:
    (tmp_path / "core.yaml").write_text(
        "project: core\nsource: https://kubernetes.io\nhealthChecks:\n"
        "  - {apiVersion: apps/v1, kind: Deployment, current: 'true'}\n"
    )
    code, lines = run_rules_test([tmp_path])
    assert code == 2
    assert "built-in Kubernetes kinds keep kstatus's rules" in lines[0]


def test_one_kind_in_two_files_is_refused(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(
            "project: x\nsource: https://x.io\nhealthChecks:\n"
            "  - {apiVersion: x.io/v1, kind: X, current: 'true'}\n"
        )
    with pytest.raises(RuleFileError, match=r"b.yaml: X \(x.io\) is covered by a.yaml already"):
        load_rule_files([tmp_path])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- 1", "must be a mapping"),
        ("project: x\nsource: y\nhealthChecks: []", "healthChecks must be a non-empty list"),
        (
            "project: x\nsource: y\nhealthChecks:\n  - {apiVersion: x.io/v1, current: 'true'}",
            "kind is required",
        ),
        (
            "project: x\nsource: y\nhealthChecks:\n  - {apiVersion: x.io/v1, kind: X, current: 'true'}\n"
            "fixtures:\n  - {name: a, expect: Fine, object: {}}",
            "expect must be one of",
        ),
        (
            "project: x\nsource: y\nhealthChecks:\n  - {apiVersion: x.io/v1, kind: X, current: 'status.'}",
            "does not compile",
        ),
    ],
)
def test_bad_rule_files_name_the_fault(text: str, problem: str) -> None:
    with pytest.raises(RuleFileError, match=problem):
        parse_rule_file(text, path="bad.yaml")
