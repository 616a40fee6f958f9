"""The shipped integrations (integrations/) on stored StatusWatches, without a cluster.

The inputs in ``integrations/argocd/testdata`` are StatusWatches as the API server returned them while the
real operator served them (tests/e2e/test_integrations.py saves them). Argo CD's health check runs in a Lua
5.1 interpreter (Argo CD embeds gopher-lua, a Lua 5.1) exactly as Argo CD calls it: the object as global
``obj``, the returned table read for ``status`` and ``message``. Flux's health checks are kstatus, which
this project's :func:`statuswatch.kstatus.compute` implements.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lupa.lua51  # type: ignore[import-untyped]
import pytest
import yaml

from statuswatch.controller.models import parse_spec
from statuswatch.kstatus import Status, compute

ROOT = Path(__file__).resolve().parents[2]
ARGOCD = ROOT / "integrations" / "argocd"
FLUX = ROOT / "integrations" / "flux"
CRD = ROOT / "crds" / "statuswatches.statuswatch.io.yaml"


@dataclass(frozen=True)
class Health:
    status: str
    message: str


def argocd_health(obj: dict[str, Any]) -> Health:
    lua = lupa.lua51.LuaRuntime()
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute((ARGOCD / "health.lua").read_text())
    return Health(str(result["status"]), str(result["message"]))


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


HEALTH_TESTS: list[dict[str, Any]] = load(ARGOCD / "health_test.yaml")["tests"]


@pytest.mark.parametrize("case", HEALTH_TESTS, ids=[c["inputPath"] for c in HEALTH_TESTS])
def test_argocd_health_check_cases(case: dict[str, Any]) -> None:
    obj = load(ARGOCD / case["inputPath"])
    expected = case["healthStatus"]
    assert argocd_health(obj) == Health(expected["status"], expected["message"])


def test_argocd_cases_cover_every_health_the_check_returns() -> None:
    statuses = {case["healthStatus"]["status"] for case in HEALTH_TESTS}
    assert statuses == {"Healthy", "Progressing", "Degraded"}
    inputs = {case["inputPath"] for case in HEALTH_TESTS}
    assert inputs == {f"testdata/{p.name}" for p in (ARGOCD / "testdata").glob("*.yaml")}


def condition(obj: dict[str, Any], kind: str, **change: Any) -> dict[str, Any]:
    """A copy of ``obj`` with condition ``kind`` changed."""
    copy: dict[str, Any] = yaml.safe_load(yaml.safe_dump(obj))
    for found in copy["status"]["conditions"]:
        if found["type"] == kind:
            found.update(change)
    return copy


def test_argocd_stalled_wins_over_all_current_and_empty_messages_get_a_text() -> None:
    healthy = load(ARGOCD / "testdata" / "healthy.yaml")
    both = condition(healthy, "Stalled", status="True", message="")
    assert argocd_health(both) == Health("Degraded", "Stalled")
    quiet = condition(healthy, "AllCurrent", message="")
    assert argocd_health(quiet) == Health("Healthy", "All resources are Current")
    unknown = condition(healthy, "AllCurrent", status="Unknown", message="")
    assert argocd_health(unknown) == Health("Progressing", "Waiting for the resources to become Current")
    no_conditions = {**healthy, "status": {"observedGeneration": 1}}
    assert argocd_health(no_conditions).status == "Progressing"


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("healthy.yaml", Status.CURRENT),
        ("degraded.yaml", Status.FAILED),
        ("progressing.yaml", Status.IN_PROGRESS),
        ("stale-generation.yaml", Status.IN_PROGRESS),
        # Not served yet: the CRD defaults status.observedGeneration to 0, which kstatus reads as InProgress
        # (without it, no conditions would read as Current and pass a Flux health check at once).
        ("no-status.yaml", Status.IN_PROGRESS),
    ],
)
def test_flux_reads_stored_statuswatches_with_kstatus(name: str, status: Status) -> None:
    assert compute(load(ARGOCD / "testdata" / name)).status == status


def test_flux_example_checks_the_statuswatch_it_ships() -> None:
    kustomization = load(FLUX / "kustomization.yaml")
    watch = load(FLUX / "statuswatch.yaml")
    crd = load(CRD)
    served = [v["name"] for v in crd["spec"]["versions"] if v.get("served")]
    assert kustomization["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1"
    assert kustomization["spec"]["healthChecks"] == [
        {
            "apiVersion": watch["apiVersion"],
            "kind": watch["kind"],
            "name": watch["metadata"]["name"],
            "namespace": watch["metadata"]["namespace"],
        }
    ]
    assert watch["apiVersion"] in {f"{crd['spec']['group']}/{version}" for version in served}
    assert watch["kind"] == crd["spec"]["names"]["kind"]
    parse_spec(watch["spec"], namespace=watch["metadata"]["namespace"])  # the operator accepts the spec
