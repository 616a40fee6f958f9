"""The library's CEL evaluator agrees with the binding users' health checks run on, value for value.

Each expression is run on the same variables by both; both must give the same value (type included), or
both an error. The library itself is checked the same way over all its fixtures in test_library.py.
"""

from __future__ import annotations

from typing import Any

import cel
import pytest

from statuswatch.rules.cel import CelError, CelSyntaxError, compile_expression

CONTEXT: dict[str, Any] = {
    "status": {
        "a": 1,
        "l": [1, 2],
        "s": "Run",
        "m": {"k": "v"},
        "conditions": [
            {"type": "Ready", "status": "True", "observedGeneration": 2},
            {"type": "Synced", "status": "False", "reason": "ReconcileError"},
        ],
    },
    "metadata": {"generation": 2, "name": "w"},
}

EXPRESSIONS = [
    "status.x == 1 && false",
    "false && status.x == 1",
    "status.x == 1 || true",
    "true || status.x",
    "status.x || false",
    "status.l.exists(i, i == 2)",
    "status.l.exists(i, status.x == i)",
    "status.l.all(i, i > 0)",
    "status.l.all(i, i > 1)",
    "1 == 1.0",
    "true == 1",
    "'a' == 1",
    "status.a < 2.5",
    "status.a + 1.0",
    "7 / 2",
    "-7 / 2",
    "-7 % 3",
    "1 / 0",
    "status.m.k",
    "has(status.m.k)",
    "has(status.zz)",
    "has(status.zz.y)",
    "status.s.startsWith('R')",
    "status.s.endsWith('un') && status.s.contains('u')",
    "size(status.l) == 2 && status.l.size() == 2 && size(status.s) == 3",
    "status.s in ['Run', 'x']",
    "'k' in status.m",
    "status.l[5]",
    "status.l[1]",
    "status.l.map(i, i * 2)",
    "status.l.map(i, i > 1, i * 3)",
    "status.l.filter(i, i > 1)",
    "status.l.exists_one(i, i > 0)",
    "status.a > 'x'",
    "int('12') == 12 && string(3) == '3' && double(1) == 1.0",
    "metadata.generation != status.a ? 'a' : 'b'",
    "status.s.matches('^R')",
    "[1, 2] == [1, 2] && {'a': 1} == {'a': 1}",
    "null == null",
    "status.a == null",
    "!true",
    "!status.a",
    "0x10 == 16",
    "status.l.exists(i, i.x == 1)",
    "status.l.exists(i, i == 1 || i.x)",
    "status.a.startsWith('x')",
    "r'a\\b' == 'a\\\\b'",
    "\"double\" + 'single' == 'doublesingle'",
    "status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
    "status.conditions.exists(c, c.type == 'Ready' && has(c.observedGeneration)"
    " && c.observedGeneration == metadata.generation)",
    "status.conditions.exists(c, c.type == 'Synced' && c.reason in ['ReconcileError', 'X'])",
    "status.conditions.filter(c, c.status != 'True').size() == 1",
    "spec.replicas == 1",
    "type(status.s) == string && type(status.a) == int && type(status.l) == list && type(status.m) == map",
    "type(status.a) == string",
    "type(1.5) == double && type(true) == bool && type(null) == null_type",
    "type(status.a) == type(2)",
    "has(spec.replicas)",
]


def outcome(run: Any) -> tuple[str, Any]:
    try:
        value = run()
    except CelError:
        return ("error", None)
    except Exception:  # the binding raises KeyError, TypeError, RuntimeError ...
        return ("error", None)
    return ("value", (type(value).__name__, value))


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_same_answer_as_the_binding(expression: str) -> None:
    ours = compile_expression(expression)
    theirs = cel.compile(expression)
    assert outcome(lambda: ours.execute(CONTEXT)) == outcome(lambda: theirs.execute(CONTEXT))


@pytest.mark.parametrize(
    ("expression", "paths"),
    [
        (
            "has(status.conditions) && status.conditions.exists(c, c.type == 'Ready')",
            {("status", "conditions")},
        ),
        ("has(status.lastFailureTime)", {("status", "lastFailureTime")}),
        ("status.health.status == 'Healthy'", {("status", "health", "status")}),
        (
            "metadata.generation == status.observedGeneration",
            {("metadata", "generation"), ("status", "observedGeneration")},
        ),
        ("size(status.nodes[0].x) > 0", {("status", "nodes")}),
        ("status.l.exists(c, c == spec.replicas)", {("status", "l"), ("spec", "replicas")}),
        ("status == {}", {("status",)}),
    ],
)
def test_paths_read(expression: str, paths: set[tuple[str, ...]]) -> None:
    assert compile_expression(expression).paths() == paths


@pytest.mark.parametrize(
    "expression",
    [
        "timestamp(status.t) > now",
        "status.s.lowerAscii() == 'run'",
        "status.a +",
        "has(status)",
        "a ? b",
        "'open",
    ],
)
def test_outside_the_subset_does_not_compile(expression: str) -> None:
    with pytest.raises(CelSyntaxError):
        compile_expression(expression)


def test_variables_are_the_free_top_level_names() -> None:
    assert compile_expression("status.l.exists(c, c == metadata.generation)").variables() == [
        "metadata",
        "status",
    ]
