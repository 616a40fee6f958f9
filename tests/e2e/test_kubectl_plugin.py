"""``kubectl statuswatch``: the installed plugin run by the built kubectl, as a kubectl user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from statuswatch.cluster.operator_testing import KubectlNamespace, deployment_manifest
from statuswatch.cluster.process import free_port
from statuswatch.cluster.testing import E2ECluster

pytestmark = pytest.mark.timeout(240)

PLUGIN = Path(sys.executable).parent / "kubectl-statuswatch"


def kubectl_env(cluster: E2ECluster, tmp_path: Path) -> dict[str, str]:
    """PATH with the built kubectl and the plugin the package installed; KUBECONFIG names no usable file."""
    if not PLUGIN.is_file():
        pytest.fail(f"{PLUGIN} is missing: install the package (`make install`) to get its console scripts")
    kubectl_dir = str(Path(cluster.kubectl_binary).parent)
    path = os.pathsep.join([kubectl_dir, str(PLUGIN.parent), "/usr/bin", "/bin"])
    return {
        **os.environ,
        "PATH": path,
        "KUBECONFIG": str(tmp_path / "absent-kubeconfig"),
        "NO_COLOR": "1",
    }


def two_context_kubeconfig(cluster: E2ECluster, path: Path) -> Path:
    """The cluster's kubeconfig plus a current-context ``elsewhere`` whose server is a closed port."""
    doc: dict[str, Any] = yaml.safe_load(cluster.kubeconfig.read_text())
    current = next(c for c in doc["contexts"] if c["name"] == doc["current-context"])
    doc["clusters"].append({"name": "elsewhere", "cluster": {"server": f"https://127.0.0.1:{free_port()}"}})
    doc["contexts"].append(
        {"name": "elsewhere", "context": {"cluster": "elsewhere", "user": current["context"]["user"]}}
    )
    current["name"] = "the-cluster"
    doc["current-context"] = "elsewhere"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_kubectl_lists_and_runs_the_plugin(cluster: E2ECluster, namespace: str, tmp_path: Path) -> None:
    env = kubectl_env(cluster, tmp_path)
    kubeconfig = two_context_kubeconfig(cluster, tmp_path / "kubeconfig")
    KubectlNamespace(cluster, namespace).apply(deployment_manifest("web", replicas=2))

    listed = subprocess.run(
        ["kubectl", "plugin", "list"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    helped = subprocess.run(
        ["kubectl", "statuswatch", "--help"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    # The flags follow the plugin's name, as kubectl plugins take them; the current context is unreachable
    # and the Deployment lives only in the test's namespace, so each flag must have been honoured.
    ran = subprocess.run(
        [
            "kubectl",
            "statuswatch",
            "status",
            "deploy/web",
            "-n",
            namespace,
            "--kubeconfig",
            str(kubeconfig),
            "--context",
            "the-cluster",
            "--until",
            "current",
            "--timeout",
            "90s",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=150,
        check=False,
    )

    assert str(PLUGIN) in listed.stdout, listed.stdout + listed.stderr
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("Usage: kubectl statuswatch [OPTIONS] COMMAND")
    assert ran.returncode == 0, ran.stderr
    records = [json.loads(line) for line in ran.stdout.splitlines()]
    last = [r for r in records if r["type"] == "status"][-1]
    assert (last["kind"], last["namespace"], last["name"], last["status"]) == (
        "Deployment",
        namespace,
        "web",
        "Current",
    )
    assert records[-1]["type"] == "summary"


def test_the_current_context_is_used_without_context(
    cluster: E2ECluster, namespace: str, tmp_path: Path
) -> None:
    env = kubectl_env(cluster, tmp_path)
    kubeconfig = two_context_kubeconfig(cluster, tmp_path / "kubeconfig")

    ran = subprocess.run(
        [
            "kubectl",
            "statuswatch",
            "status",
            "cm/kube-root-ca.crt",
            "-n",
            namespace,
            "--kubeconfig",
            str(kubeconfig),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert ran.returncode != 0
    assert "cannot reach the cluster" in ran.stderr
