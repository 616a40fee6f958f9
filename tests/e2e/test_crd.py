"""The StatusWatch CRD on a real API server: it installs, defaults, and refuses bad specs precisely."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from statuswatch.cluster.testing import E2ECluster
from statuswatch.kstatus import Status, compute

CRD_FILE = Path(__file__).parents[2] / "crds" / "statuswatches.statuswatch.io.yaml"
CRD_NAME = "statuswatches.statuswatch.io"


@pytest.fixture(scope="module")
def crd(cluster: E2ECluster) -> dict[str, Any]:
    cluster.kubectl("apply", "-f", str(CRD_FILE))
    cluster.kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s")
    # Discovery lags establishment by a moment; kubectl needs it to resolve `statuswatch`.
    deadline = time.monotonic() + 30
    while cluster.kubectl("get", "statuswatches", "-A", check=False).returncode != 0:
        assert time.monotonic() < deadline, "statuswatches never appeared in discovery"
        time.sleep(0.5)
    crd_object: dict[str, Any] = json.loads(cluster.kubectl("get", "crd", CRD_NAME, "-o", "json").stdout)
    return crd_object


def _watch(namespace: str, spec: dict[str, Any], name: str = "web") -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "statuswatch.io/v1alpha1",
            "kind": "StatusWatch",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }
    )


def test_crd_is_established_and_kstatus_agrees(crd: dict[str, Any]) -> None:
    result = compute(crd)

    assert (result.status, result.message) == (Status.CURRENT, "CRD is established")


def test_valid_watch_gets_defaults(cluster: E2ECluster, crd: dict[str, Any], namespace: str) -> None:
    spec = {
        "identifiers": [
            {"kind": "Deployment", "group": "apps", "name": "web"},
            {"kind": "Service", "name": "web"},
        ]
    }
    cluster.kubectl("apply", "-f", "-", input=_watch(namespace, spec))

    stored = json.loads(cluster.kubectl("get", "sw", "web", "-n", namespace, "-o", "json").stdout)

    assert stored["spec"]["pollInterval"] == "5s"
    assert stored["spec"]["desiredStatus"] == "Current"
    assert stored["spec"]["identifiers"][1] == {"group": "", "kind": "Service", "name": "web"}
    assert "timeout" not in stored["spec"]


def test_printer_columns(cluster: E2ECluster, crd: dict[str, Any], namespace: str) -> None:
    cluster.kubectl(
        "apply", "-f", "-", input=_watch(namespace, {"identifiers": [{"kind": "Service", "name": "a"}]})
    )

    def header(*extra: str) -> list[str]:
        line = cluster.kubectl("get", "statuswatches", "-n", namespace, *extra).stdout.splitlines()[0]
        return line.replace("LAST ROLLOUT", "LAST_ROLLOUT").split()

    assert header() == ["NAME", "STATUS", "CURRENT", "LAST_ROLLOUT", "AGE"]
    assert header("-o", "wide") == ["NAME", "STATUS", "CURRENT", "LAST_ROLLOUT", "RESULT", "AGE"]


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ({}, "spec.identifiers: Required value"),
        (
            {"identifiers": []},
            "spec.identifiers: Invalid value: 0: spec.identifiers in body should have at least 1 items",
        ),
        ({"identifiers": [{"name": "web"}]}, "spec.identifiers[0].kind: Required value"),
        ({"identifiers": [{"kind": "Deployment"}]}, "spec.identifiers[0].name: Required value"),
        (
            {"identifiers": [{"kind": "deployment", "name": "web"}]},
            "spec.identifiers[0].kind in body should match",
        ),
        (
            {"identifiers": [{"kind": "Pod", "name": "p", "group": "Apps!"}]},
            "spec.identifiers[0].group in body should match",
        ),
        (
            {"identifiers": [{"kind": "Pod", "name": "p"}], "pollInterval": "soon"},
            "spec.pollInterval in body should match",
        ),
        (
            {"identifiers": [{"kind": "Pod", "name": "p"}], "timeout": "10 minutes"},
            "spec.timeout in body should match",
        ),
        (
            {"identifiers": [{"kind": "Pod", "name": "p"}], "timeout": "876001h"},
            "timeout must be at most 876000h (about 100 years)",
        ),
        (
            {"identifiers": [{"kind": "Pod", "name": "p", "timeout": "900000h"}]},
            "timeout must be at most 876000h (about 100 years)",
        ),
        (
            {"identifiers": [{"kind": "Pod", "name": "p"}], "desiredStatus": "Done"},
            'spec.desiredStatus: Unsupported value: "Done"',
        ),
    ],
    ids=[
        "no identifiers",
        "empty identifiers",
        "no kind",
        "no name",
        "lower-case kind",
        "bad group",
        "bad interval",
        "bad timeout",
        "timeout beyond 100 years",
        "member timeout beyond 100 years",
        "bad desired status",
    ],
)
def test_invalid_specs_are_refused(
    cluster: E2ECluster, crd: dict[str, Any], namespace: str, spec: dict[str, Any], complaint: str
) -> None:
    refused = cluster.kubectl("apply", "-f", "-", input=_watch(namespace, spec), check=False)

    assert refused.returncode != 0
    assert complaint in refused.stderr
    assert cluster.kubectl("get", "sw", "-n", namespace, "-o", "name").stdout.strip() == ""


def test_status_is_a_subresource(cluster: E2ECluster, crd: dict[str, Any], namespace: str) -> None:
    cluster.kubectl(
        "apply", "-f", "-", input=_watch(namespace, {"identifiers": [{"kind": "Service", "name": "a"}]})
    )
    status = {"status": {"aggregateStatus": "Current", "progress": "1/1", "observedGeneration": 1}}

    def patch(body: dict[str, Any], *extra: str) -> None:
        cluster.kubectl("patch", "sw", "web", "-n", namespace, "--type=merge", "-p", json.dumps(body), *extra)

    patch(status, "--subresource=status")
    patch({"status": {"aggregateStatus": "Failed"}})  # the main resource ignores status

    listed = cluster.kubectl("get", "sw", "web", "-n", namespace, "--no-headers").stdout.split()
    assert listed[1:3] == ["Current", "1/1"]
