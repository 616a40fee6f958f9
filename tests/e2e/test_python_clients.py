"""The docs/integrations.md recipes for Python scripts, run as written with the clients users already have.

The official ``kubernetes`` client and pykube-ng are not the operator's dependencies (kopf imports both when
they are installed, and the operator's memory would grow by ~35 MiB), so they live in a venv of their own
(``make clients``: ``.venv-clients``, or ``$STATUSWATCH_CLIENTS_PYTHON``); each recipe runs there as a
subprocess against StatusWatches that the real operator serves under its own RBAC role.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from statuswatch.cluster.operator_testing import (
    KubectlNamespace,
)
from statuswatch.cluster.operator_testing import deployment_manifest as deployment
from statuswatch.cluster.operator_testing import statuswatch_manifest as statuswatch
from statuswatch.cluster.testing import E2ECluster, wait_for

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "integrations.md"
CRD_FILE = ROOT / "crds" / "statuswatches.statuswatch.io.yaml"


def clients_python() -> Path:
    python = Path(os.environ.get("STATUSWATCH_CLIENTS_PYTHON") or ROOT / ".venv-clients" / "bin" / "python")
    if not python.is_file():
        pytest.fail(f"{python} is missing: `make clients` installs the kubernetes client and pykube-ng there")
    return python


def recipe(name: str) -> str:
    """The ```python block after ``<!-- recipe: name -->`` in docs/integrations.md."""
    match = re.search(rf"<!-- recipe: {name} -->\n```python\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert match is not None, f"no recipe {name!r} in {DOCS}"
    return match.group(1)


class Script:
    """A recipe running in the clients' venv, with the script's own variables set before it."""

    def __init__(self, cluster: E2ECluster, name: str, **variables: Any) -> None:
        prelude = "".join(f"{key} = {value!r}\n" for key, value in variables.items())
        self.process = subprocess.Popen(
            [str(clients_python()), "-c", prelude + recipe(name)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig)},
        )

    def alive(self) -> bool:
        """True while it runs; its output as an AssertionError once it has ended."""
        if self.process.poll() is None:
            return True
        out, err = self.process.communicate()
        raise AssertionError(f"the recipe ended with {self.process.returncode}:\n{out}\n{err}")

    def still_waiting_after(self, seconds: float) -> bool:
        time.sleep(seconds)
        return self.process.poll() is None

    def finish(self, timeout: float = 120) -> tuple[int, str, str]:
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            raise AssertionError(f"the recipe did not finish within {timeout}s:\n{out}\n{err}") from None
        return self.process.returncode, out, err


def test_the_official_client_waits_for_all_current(
    cluster: E2ECluster, namespace: str, served: KubectlNamespace
) -> None:
    served.apply(statuswatch("web", [{"group": "apps", "kind": "Deployment", "name": "web"}]))
    served.wait_status("web", lambda w: "conditions" in (w.get("status") or {}), "a first status")

    script = Script(cluster, "kubernetes", NAMESPACE=namespace, NAME="web", TIMEOUT=120.0)
    waited = script.still_waiting_after(4)  # the Deployment does not exist yet: NotFound, not AllCurrent
    served.apply(deployment("web"))
    code, out, err = script.finish()

    assert waited, (out, err)
    assert code == 0, err
    assert out.strip() == "All 1 resource is Current"


def test_the_official_client_gives_up_on_stalled(
    cluster: E2ECluster, namespace: str, served: KubectlNamespace
) -> None:
    served.apply(deployment("stuck", schedulable=False, progress_deadline=2))
    served.apply(statuswatch("stuck", [{"group": "apps", "kind": "Deployment", "name": "stuck"}]))

    code, out, err = Script(cluster, "kubernetes", NAMESPACE=namespace, NAME="stuck", TIMEOUT=120.0).finish()

    assert code != 0, out
    assert f"RuntimeError: StatusWatch {namespace}/stuck is Stalled: 1 of 1 Failed: deployment/stuck" in err


def test_the_official_client_times_out(cluster: E2ECluster, namespace: str, served: KubectlNamespace) -> None:
    served.apply(deployment("slow", schedulable=False))
    served.apply(statuswatch("slow", [{"group": "apps", "kind": "Deployment", "name": "slow"}]))

    started = time.monotonic()
    code, _, err = Script(cluster, "kubernetes", NAMESPACE=namespace, NAME="slow", TIMEOUT=5.0).finish()

    assert code != 0
    assert f"TimeoutError: StatusWatch {namespace}/slow not AllCurrent within 5s" in err
    assert time.monotonic() - started < 60


def test_pykube_applies_a_statuswatch_and_waits_for_it(
    cluster: E2ECluster, namespace: str, served: KubectlNamespace
) -> None:
    identifiers = [
        {"kind": "ConfigMap", "name": "settings"},
        {"group": "apps", "kind": "Deployment", "name": "api"},
    ]
    served.apply(deployment("api"))

    script = Script(
        cluster, "pykube", NAMESPACE=namespace, NAME="deploy", TIMEOUT=120.0, IDENTIFIERS=identifiers
    )

    def served_by_now() -> bool:  # the recipe created it, and the operator wrote a first status
        created = served.get("statuswatch", "deploy") if script.alive() else None
        return created is not None and "conditions" in (created.get("status") or {})

    wait_for(served_by_now, 60, "statuswatch/deploy created by the recipe and served")
    waited = script.still_waiting_after(3)  # the ConfigMap is missing: not AllCurrent yet
    served.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"k": "v"}}
    )
    code, out, err = script.finish()

    assert waited, (out, err)
    assert code == 0, err
    assert out.strip() == "All 2 resources are Current"
    created = served.get("statuswatch", "deploy")
    assert created is not None
    assert [(i["kind"], i["name"]) for i in created["spec"]["identifiers"]] == [
        (i["kind"], i["name"]) for i in identifiers
    ]
    assert created["spec"]["timeout"] == "10m"
