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


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_where_the_library_covers_a_kind_it_agrees_on_ready_or_not(case: dict[str, Any]) -> None:
    # An independent check of the library's entries (written apart from its own fixtures). The library
    # may be more careful than these verdicts (InProgress for a Failed), never less.
    api_version, kind = case["object"]["apiVersion"], case["object"]["kind"]
    if builtin_library().entry_for(api_version.rpartition("/")[0], kind) is None:
        return
    decision = decide(case["object"])
    assert decision.status in ({"Current"} if case["expect"] == "Current" else {"InProgress", "Failed"}), (
        decision
    )


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_the_conventions_decide_kinds_without_a_rule(case: dict[str, Any]) -> None:
    decision = decide(case["object"], library=Library())
    assert decision.status == case["expect"], decision
    assert decision.rule.startswith(("kstatus", "convention:")), decision


def test_kstatus_alone_misses_most_of_them() -> None:
    agree = sum(decide(case["object"], mode="kstatus").status == case["expect"] for case in CASES)
    assert agree < len(CASES) / 2  # the figure in docs/rules.md
