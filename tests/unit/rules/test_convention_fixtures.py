"""Objects of kinds outside the library, with verdicts written from their projects' API references
(data/conventions.yaml): the conventions must give each its verdict, where kstatus alone misses many."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from statuswatch.rules import Library, builtin_library, decide

CASES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).parent / "data" / "conventions.yaml").read_text()
)


def test_no_case_is_a_library_kind() -> None:
    library = builtin_library()
    for case in CASES:
        api_version, kind = case["object"]["apiVersion"], case["object"]["kind"]
        assert library.entry_for(api_version.rpartition("/")[0], kind) is None, case["name"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_the_conventions_decide_kinds_without_a_rule(case: dict[str, Any]) -> None:
    decision = decide(case["object"], library=Library())
    assert decision.status == case["expect"], decision
    assert decision.rule.startswith(("kstatus", "convention:")), decision


def test_kstatus_alone_misses_most_of_them() -> None:
    agree = sum(decide(case["object"], mode="kstatus").status == case["expect"] for case in CASES)
    assert agree < len(CASES) / 2  # the figure in docs/rules.md
