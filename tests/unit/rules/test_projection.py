"""The shared view's projection keeps what the rules read: the verdict of a projected object is the verdict
of the whole object, for every library fixture and every convention case; built-in kinds are projected
exactly as kstatus projects them (so their streams keep typed decoding)."""

from __future__ import annotations

from typing import Any

import pytest

from statuswatch.kstatus import project
from statuswatch.rules import LIBRARY_DIR, Library, decide, load_rule_files
from statuswatch.rules.projection import RulesProjector

from .test_conventions import CASES

LIBRARY = load_rule_files([LIBRARY_DIR])
FIXTURES = [fixture for rule_file in LIBRARY.files for fixture in rule_file.fixtures]


def noisy(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` as the API server sends it: managedFields, annotations, a big spec."""
    metadata = {**obj.get("metadata", {}), "managedFields": [{"manager": "x", "fieldsV1": {"f:spec": {}}}]}
    metadata["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": "{" + "x" * 2000 + "}"}
    spec = (
        {**obj.get("spec", {}), "template": {"big": ["y" * 500] * 4}}
        if isinstance(obj.get("spec", {}), dict)
        else obj["spec"]
    )
    return {**obj, "metadata": metadata, "spec": spec}


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f"{f.file}:{f.name}" for f in FIXTURES])
def test_library_fixtures_decide_the_same_projected(fixture: Any) -> None:
    obj = noisy(dict(fixture.object))
    projected = RulesProjector(LIBRARY)(obj)
    assert decide(projected, library=LIBRARY) == decide(obj, library=LIBRARY)
    assert "managedFields" not in projected["metadata"]


@pytest.mark.parametrize("obj", [case[1] for case in CASES], ids=[case[0] for case in CASES])
def test_convention_cases_decide_the_same_projected(obj: dict[str, Any]) -> None:
    projected = RulesProjector(Library())(obj)
    assert decide(projected, library=Library()) == decide(obj, library=Library())


def test_built_in_kinds_are_projected_as_kstatus_does() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "annotations": {"a": "b"}},
        "spec": {"replicas": 2, "template": {"spec": {}}},
        "status": {"phase": "Failed", "readyReplicas": 1},
    }
    projector = RulesProjector(Library())
    assert projector(deployment) == project(deployment)
    assert projector.same_as_kstatus("apps", "Deployment")
    assert not projector.same_as_kstatus("cert-manager.io", "Certificate")


def test_a_library_kind_keeps_only_what_its_rules_read() -> None:
    fixture = next(f for f in FIXTURES if f.object.get("kind") == "Certificate")
    obj = noisy(dict(fixture.object))
    projected = RulesProjector(LIBRARY)(obj)
    assert "annotations" not in projected["metadata"]
    assert "template" not in projected.get("spec", {})
