"""Every YAML manifest the project ships has each mapping key once.

PyYAML keeps the last of two equal keys without a word, but kubectl, kustomize and Helm refuse such a
file ("mapping key already defined"), so a repeated block in the CRD would pass every Python test and
break every install.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(
    path
    for pattern in ("config/**/*.yaml", "charts/*/crds/**/*.yaml", "charts/*/values.yaml")
    for path in ROOT.glob(pattern)
)


class _StrictLoader(yaml.SafeLoader):
    pass


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"mapping key {key!r} repeated", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def test_there_are_manifests() -> None:
    assert any(path.name == "statuswatches.statuswatch.io.yaml" for path in SHIPPED)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_repeated_keys(path: Path) -> None:
    list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=_StrictLoader))


def test_a_repeated_key_is_caught() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="repeated"):
        yaml.load("a: 1\nb: {c: 1, c: 2}\n", Loader=_StrictLoader)
