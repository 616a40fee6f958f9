"""``statuswatch.polling`` states its public surface: ``__all__`` sorted, complete and importable."""

from __future__ import annotations

import importlib

import pytest

import statuswatch.polling as polling

# Modules whose every public name the package re-exports.
REEXPORTED = [
    "collector",
    "errors",
    "events",
    "directreader",
    "engine",
    "router",
    "viewreader",
]


def isort_style(name: str) -> tuple[int, str]:
    """Constants, then classes, then functions (the order ruff's RUF022 keeps)."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_package_all_is_sorted_and_resolves() -> None:
    assert polling.__all__ == sorted(polling.__all__, key=isort_style)
    assert all(hasattr(polling, name) for name in polling.__all__)


@pytest.mark.parametrize("module", REEXPORTED)
def test_public_classes_of_the_main_modules_are_exported(module: str) -> None:
    names = importlib.import_module(f"statuswatch.polling.{module}").__all__
    missing = [name for name in names if name not in polling.__all__ and name[0].isupper()]
    assert missing == []


def test_testing_module_all_is_sorted_and_resolves() -> None:
    testing = importlib.import_module("statuswatch.polling.testing")
    assert testing.__all__ == sorted(testing.__all__, key=isort_style)
    assert all(hasattr(testing, name) for name in testing.__all__)
