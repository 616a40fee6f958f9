"""``statuswatch status`` as a user runs it, against the local control plane."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from statuswatch.cluster.testing import E2ECluster

pytestmark = pytest.mark.timeout(240)


def _env(cluster: E2ECluster) -> dict[str, str]:
    return {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}


def run(cluster: E2ECluster, *args: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "statuswatch", "status", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(cluster),
        check=False,
    )


class Running:
    """``statuswatch status`` started in the background, its stdout read line by line as it comes."""

    def __init__(self, cluster: E2ECluster, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "statuswatch", "status", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(cluster),
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for_line(self, wanted: str, timeout: float) -> None:
        """Read until a line starting with ``wanted``; fails if the command ends or time runs out first."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"status ended before printing {wanted!r}; printed {self.seen}")
            self.seen.append(line)
            if line.startswith(wanted):
                return
        raise AssertionError(f"no line {wanted!r} within {timeout}s; printed {self.seen}")

    def finish(self, timeout: float) -> tuple[int, list[str], str]:
        """Exit code, every stdout line, and stderr once the command has ended by itself."""
        code = self.process.wait(timeout=timeout)
        while (line := self.lines.get(timeout=10)) is not None:
            self.seen.append(line)
        assert self.process.stderr is not None
        return code, self.seen, self.process.stderr.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def app(namespace: str, *, node_selector: dict[str, str] | None = None) -> str:
    pod_spec: dict[str, object] = {"containers": [{"name": "web", "image": "nginx:1.27"}]}
    if node_selector:
        pod_spec["nodeSelector"] = node_selector
    return yaml.safe_dump_all(
        [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": namespace},
                "spec": {
                    "replicas": 2,
                    "minReadySeconds": 6,  # long enough to be seen InProgress after start-up
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec},
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web", "namespace": namespace},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
            },
        ]
    )


def test_until_current_exits_zero_when_the_rollout_is_done(
    cluster: E2ECluster, namespace: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "app.yaml"
    manifest.write_text(app(namespace))
    # Started before the apply: it reports the objects missing first, so it cannot miss the rollout.
    status = Running(cluster, "-f", str(manifest), "--until", "current", "--timeout", "90s", "-o", "events")
    try:
        status.wait_for_line(f"deployment.apps/{namespace}/web is NotFound", timeout=60)
        cluster.kubectl("apply", "-f", str(manifest))
        code, lines, errors = status.finish(timeout=120)
    finally:
        status.stop()
    assert code == 0, errors
    web = [
        line.partition(": ")[0] for line in lines if line.startswith(f"deployment.apps/{namespace}/web is ")
    ]
    assert web[:2] == [f"deployment.apps/{namespace}/web is {s}" for s in ("NotFound", "InProgress")]
    assert lines[-1] == f"deployment.apps/{namespace}/web is Current: Deployment is available. Replicas: 2"
    assert f"service/{namespace}/web is Current: Service is ready" in lines


def test_timeout_exits_non_zero_and_says_what_is_not_ready(
    cluster: E2ECluster, namespace: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "app.yaml"
    manifest.write_text(app(namespace, node_selector={"statuswatch.io/no-such-node": "true"}))
    cluster.kubectl("apply", "-f", str(manifest))
    result = run(cluster, "-f", str(manifest), "--until", "current", "--timeout", "6s", "-o", "events")
    assert result.returncode == 1
    errors = result.stderr.splitlines()
    assert errors[0] == "timed out after 6s waiting for Current; 1 not ready:"
    assert errors[1].startswith(f"  deployment.apps/{namespace}/web is InProgress: ")


def test_kind_name_arguments_and_json_output(cluster: E2ECluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", input=app(namespace))
    result = run(
        cluster,
        "deploy/web",
        "services/web",
        "cm/kube-root-ca.crt",
        "-n",
        namespace,
        "-o",
        "json",
        "--no-cache",
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    statuses = {(r["kind"], r["name"]): r for r in records if r["type"] == "status"}
    assert set(statuses) == {("Deployment", "web"), ("Service", "web"), ("ConfigMap", "kube-root-ca.crt")}
    assert all(r["namespace"] == namespace for r in statuses.values())
    assert statuses[("Service", "web")]["status"] == "Current"
    assert records[-1]["type"] == "summary"


def test_unknown_resource_type_is_a_usage_error(cluster: E2ECluster, namespace: str) -> None:
    result = run(cluster, "gizmo/web", "-n", namespace)
    assert result.returncode == 2
    assert 'doesn\'t have a resource type "gizmo"' in result.stderr


def test_plain_table_when_not_a_terminal(cluster: E2ECluster, namespace: str) -> None:
    cluster.kubectl("create", "configmap", "settings", "-n", namespace)
    result = run(cluster, "configmap/settings", "-n", namespace, "--until", "current", "--timeout", "60s")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"configmap/{namespace}/settings is Current: Resource is always ready"
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["NAMESPACE", "RESOURCE"])
    assert lines[header + 1].split()[:3] == [namespace, "configmap/settings", "Current"]
    assert lines[-1].startswith("1/1 Current")
