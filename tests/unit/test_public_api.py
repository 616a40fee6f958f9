"""Every module of statuswatch states its public surface in ``__all__``, complete and sorted.

``from statuswatch.x import *``, the docs and the tests of other layers rely on ``__all__`` meaning "this is
the API"; a public function that is missing from it is a function nobody promised to keep. A name counts
as public when the module defines it at top level (``def``, ``class``, assignment) and it does not start
with an underscore. Sorting follows ruff's RUF022 (constants, then classes, then the rest, naturally), so
the test and the linter never disagree.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pytest

import statuswatch


def _modules() -> list[str]:
    names = ["statuswatch"]
    for info in pkgutil.walk_packages(statuswatch.__path__, "statuswatch."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


MODULES = _modules()


def _defined_names(module: ModuleType) -> set[str]:
    """Top-level names the module's own source binds by ``def``, ``class`` or assignment."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {name for name in names if not name.startswith("_")}


def ruff_sort_key(name: str) -> tuple[int, list[int | str]]:
    """RUF022's order: SCREAMING_SNAKE_CASE, then CamelCase, then anything else; natural order within."""
    if len(name) > 1 and name.upper() == name and name.lower() != name:
        category = 0
    elif name[:1].isupper():
        category = 1
    else:
        category = 2
    natural: list[int | str] = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
    return category, natural


def test_the_walk_finds_every_layer() -> None:
    for package in ("kstatus", "watchlist", "polling", "controller", "cli", "cluster"):
        assert f"statuswatch.{package}" in MODULES
    assert "statuswatch.durations" in MODULES
    assert "statuswatch.__main__" not in MODULES  # importing it would run the command


@pytest.mark.parametrize("name", MODULES)
def test_all_is_declared_and_sorted(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)

    assert isinstance(exported, list), f"{name} has no __all__ list"
    assert exported == sorted(exported, key=ruff_sort_key), f"{name}.__all__ is not sorted (ruff RUF022)"
    assert len(set(exported)) == len(exported), f"{name}.__all__ lists a name twice"


@pytest.mark.parametrize("name", MODULES)
def test_all_is_complete_and_real(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(getattr(module, "__all__", ()))

    missing = sorted(_defined_names(module) - exported)
    unknown = sorted(entry for entry in exported if not hasattr(module, entry))
    assert not missing, f"{name} defines public names not in __all__: {missing}"
    assert not unknown, f"{name}.__all__ lists names the module does not have: {unknown}"


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["b", "A", "C_D", "a10", "a9"], ["C_D", "A", "a9", "a10", "b"]),
        (["Result", "KIND_RULES", "compute", "Status"], ["KIND_RULES", "Result", "Status", "compute"]),
    ],
)
def test_sort_key_matches_ruff(names: list[str], expected: list[str]) -> None:
    assert sorted(names, key=ruff_sort_key) == expected
