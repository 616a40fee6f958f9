"""Installing statuswatch as a platform team would: the kustomize manifests, the Helm chart, and the image.

* ``kubectl kustomize config/default`` and ``helm template charts/statuswatch`` are applied for real (not a
  dry run) and every rendered object must then exist on the API server; the Deployment of the kustomize
  install must become Available, which also shows its pod passes the namespace's ``restricted`` Pod Security
  level (on KWOK no container runs; the pod is admitted and marked ready).
* ``values.schema.json`` refuses bad values; the chart's default RBAC is exactly ``config/rbac``'s.
* The user roles reach people through the built-in ``edit`` and ``view`` roles (aggregation).
* The image's virtual environment is built the way the ``Dockerfile`` builds it (same locks,
  ``--require-hashes``, the project's wheel with ``--no-deps``), and its ``statuswatch run`` serves
  StatusWatches under the chart's namespaced, narrowed RBAC: one reaches AllCurrent, and a kind the chart
  does not let it read reads Unknown because it is forbidden.

helm is built from the Go module proxy (a pinned tag, like the local control plane) and cached under
``~/.cache/statuswatch/helm/``; a cold build takes several minutes, later runs reuse the binary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from statuswatch.cluster.gotools import HELM, ensure_tool
from statuswatch.cluster.operator_process import launch_operator, stop_operator
from statuswatch.cluster.operator_testing import operator_rules
from statuswatch.cluster.testing import E2ECluster, wait_for, write_token_kubeconfig

# A cold helm build plus two virtual environments from PyPI fit well inside this.
pytestmark = pytest.mark.timeout(1500)

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "statuswatch"
CRD_NAME = "statuswatches.statuswatch.io"
USER_ROLES = {"statuswatch-admin", "statuswatch-editor", "statuswatch-viewer"}
# What the chart lets the operator read in the served-namespace test: enough for a ConfigMap and a Deployment
# (kstatus follows a Deployment to its ReplicaSets and Pods), and deliberately not Services.
NARROW_READS = [
    {"apiGroup": "", "resources": ["configmaps", "pods"]},
    {"apiGroup": "apps", "resources": ["deployments", "replicasets"]},
]


@pytest.fixture(scope="session")
def helm() -> Path:
    """The pinned helm, built with ``go install`` once and cached (like the control plane's binaries)."""
    say = print if sys.__stderr__ is None else lambda line: print(line, file=sys.__stderr__, flush=True)
    return ensure_tool(HELM, say=say)


def run_helm(helm: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(helm), *args], capture_output=True, text=True, check=check, timeout=120)


def render_chart(helm: Path, release: str, namespace: str, values: dict[str, Any]) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
        json.dump(values, file)
        file.flush()
        args = ["template", release, str(CHART), "--namespace", namespace, "--include-crds", "-f", file.name]
        return run_helm(helm, *args).stdout


def documents(rendered: str) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(rendered) if document]


def key(obj: dict[str, Any]) -> tuple[str, str, str]:
    return (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def apply_and_read_back(cluster: E2ECluster, rendered: str) -> None:
    """Apply for real, then read every object back: the API server accepted and stored each one."""
    wanted = {key(document) for document in documents(rendered)}
    cluster.kubectl("apply", "-f", "-", input=rendered)
    stored = json.loads(cluster.kubectl("get", "-f", "-", "-o", "json", input=rendered).stdout)["items"]
    assert {key(obj) for obj in stored} == wanted


def delete_rendered(cluster: E2ECluster, rendered: str) -> None:
    """Delete what a test applied, except what is shared: the CRD (other tests' StatusWatches live in it)
    and the user roles (the kustomize install holds the same ones)."""
    rest = [
        document
        for document in documents(rendered)
        if document["kind"] != "CustomResourceDefinition" and document["metadata"]["name"] not in USER_ROLES
    ]
    cluster.kubectl("delete", "--ignore-not-found", "--wait=false", "-f", "-", input=yaml.safe_dump_all(rest))


def rules_by_role(rendered: str) -> dict[str, list[dict[str, Any]]]:
    return {
        document["metadata"]["name"]: document["rules"]
        for document in documents(rendered)
        if document["kind"] == "ClusterRole"
    }


def test_kustomize_default_is_accepted_and_its_pod_admitted(cluster: E2ECluster) -> None:
    rendered = cluster.kubectl("kustomize", str(ROOT / "config" / "default")).stdout
    kinds = {document["kind"] for document in documents(rendered)}
    assert {"CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "Deployment"} <= kinds

    apply_and_read_back(cluster, rendered)
    try:
        cluster.kubectl(
            "wait",
            "--for=condition=Available",
            "deployment/statuswatch-operator",
            "-n",
            "statuswatch-system",
            "--timeout=90s",
        )
    finally:
        # The namespace, its ServiceAccount and the RBAC stay: `statuswatch demo` installs the same ones.
        cluster.kubectl(
            "delete", "deployment/statuswatch-operator", "-n", "statuswatch-system", "--ignore-not-found"
        )


def test_the_documented_overlay_narrows_reads_and_sets_the_image(cluster: E2ECluster, tmp_path: Path) -> None:
    text = (ROOT / "docs" / "install.md").read_text()
    block = text.split("<!-- narrow-reads", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    overlay = tmp_path / "my-statuswatch"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(block)
    (tmp_path / "config").symlink_to(ROOT / "config")

    rendered = documents(cluster.kubectl("kustomize", str(overlay)).stdout)
    role = next(
        d for d in rendered if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "statuswatch-operator"
    )
    deployment = next(d for d in rendered if d["kind"] == "Deployment")

    assert role["rules"][:4] == operator_rules(ROOT / "config" / "rbac" / "role.yaml")[:4]
    assert not [rule for rule in role["rules"] if "*" in rule["apiGroups"] or "*" in rule["resources"]]
    assert {"deployments", "replicasets", "pods"} <= {r for rule in role["rules"] for r in rule["resources"]}
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.example.com/platform/statuswatch:0.1.0"


def test_the_chart_passes_helm_lint(helm: Path) -> None:
    for values in ([], ["--set", "allNamespaces=false", "--set", "namespaces={shop}"]):
        result = run_helm(helm, "lint", "--strict", str(CHART), *values, check=False)
        assert result.returncode == 0, result.stdout + result.stderr


def test_chart_defaults_hold_exactly_the_kustomize_rbac(helm: Path) -> None:
    roles = rules_by_role(render_chart(helm, "sw", "ops", {}))
    operator = roles.pop("sw-statuswatch-operator") + roles.pop("sw-statuswatch-reader")
    users = {
        document["metadata"]["name"]: document
        for document in yaml.safe_load_all((ROOT / "config" / "rbac" / "user_roles.yaml").read_text())
    }

    assert operator == operator_rules(ROOT / "config" / "rbac" / "role.yaml")
    assert roles == {name: role["rules"] for name, role in users.items()}


def test_chart_deployment_matches_the_kustomize_one(helm: Path) -> None:
    def pod_of(rendered: list[dict[str, Any]]) -> dict[str, Any]:
        spec: dict[str, Any] = next(d for d in rendered if d["kind"] == "Deployment")["spec"]["template"][
            "spec"
        ]
        return spec

    chart = pod_of(documents(render_chart(helm, "sw", "ops", {})))
    shipped = pod_of(documents((ROOT / "config" / "manager" / "manager.yaml").read_text()))
    (chart_container,) = chart["containers"]
    (shipped_container,) = shipped["containers"]

    for field in ("securityContext", "volumes", "terminationGracePeriodSeconds"):
        assert chart[field] == shipped[field], field
    for field in ("args", "env", "ports", "livenessProbe", "readinessProbe", "resources", "securityContext"):
        assert chart_container[field] == shipped_container[field], field
    assert chart_container["volumeMounts"] == shipped_container["volumeMounts"]


def test_chart_read_kinds_narrow_the_reads(helm: Path) -> None:
    roles = rules_by_role(render_chart(helm, "sw", "ops", {"readKinds": NARROW_READS}))

    assert roles["sw-statuswatch-reader"] == [
        {"apiGroups": [entry["apiGroup"]], "resources": entry["resources"], "verbs": ["get", "list", "watch"]}
        for entry in NARROW_READS
    ]
    everything = [rule for rules in roles.values() for rule in rules]
    assert not [rule for rule in everything if "*" in rule["apiGroups"] or "*" in rule["resources"]]
    assert not [rule for rule in everything if "*" in rule["verbs"]]


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"replicas": -1}, "/replicas"),
        ({"replicas": 2}, "/peering/enabled"),
        ({"image": {"repository": "statuswatch", "tag": "latest"}}, "/image/tag"),
        ({"allNamespaces": False}, "/namespaces"),
        ({"allNamespaces": True, "namespaces": ["shop"]}, "/namespaces"),
        ({"readKinds": [{"apiGroup": "*", "resources": ["*"]}]}, "/readKinds/0"),
        ({"metrics": {"port": 0}}, "/metrics/port"),
        ({"replica": 1}, "replica"),
    ],
    ids=["negative", "ha-without-peering", "latest", "no-namespaces", "both", "wildcard", "port", "typo"],
)
def test_values_schema_refuses_a_bad_value(helm: Path, values: dict[str, Any], where: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(values, file)
        file.flush()
        result = run_helm(helm, "template", "sw", str(CHART), "-f", file.name, check=False)

    assert result.returncode != 0
    assert "don't meet the specifications of the schema" in result.stderr
    assert where in result.stderr


def test_values_schema_accepts_a_full_namespaced_setup(helm: Path) -> None:
    values = {
        "replicas": 2,
        "peering": {"enabled": True, "name": "statuswatch", "priority": 10},
        "allNamespaces": False,
        "namespaces": ["shop", "web"],
        "allowClusterScoped": True,
        "readKinds": NARROW_READS,
        "image": {"repository": "registry.example/statuswatch", "digest": "sha256:" + "0" * 64},
    }
    deployment = next(
        document
        for document in documents(render_chart(helm, "sw", "ops", values))
        if document["kind"] == "Deployment"
    )
    (container,) = deployment["spec"]["template"]["spec"]["containers"]

    assert container["image"] == "registry.example/statuswatch@sha256:" + "0" * 64
    assert container["args"] == [
        "--namespace=shop",
        "--namespace=web",
        "--allow-cluster-scoped",
        "--metrics-port=8080",
        "--peering=statuswatch",
        "--priority=10",
    ]
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"


def test_user_roles_reach_people_through_edit_and_view(cluster: E2ECluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", str(ROOT / "config" / "rbac" / "user_roles.yaml"))
    for role in ("edit", "view"):
        cluster.kubectl(
            "create",
            "rolebinding",
            f"people-{role}",
            f"--clusterrole={role}",
            f"--user={role}-person",
            "-n",
            namespace,
        )

    def can(user: str, verb: str, *flags: str) -> bool:
        question = ["auth", "can-i", verb, "statuswatches.statuswatch.io", *flags, "-n", namespace]
        answer = cluster.kubectl(*question, f"--as={user}", check=False)
        return answer.stdout.strip() == "yes"

    # The aggregation controller fills the built-in roles shortly after the user roles appear.
    wait_for(lambda: can("edit-person", "create") and can("view-person", "list"), 60, "aggregated rules")
    assert can("edit-person", "delete")
    assert not can("view-person", "create")
    assert not can("view-person", "patch")
    assert can("edit-person", "get", "--subresource=status")
    assert not can("edit-person", "patch", "--subresource=status")


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image's virtual environment, built by the Dockerfile's steps from what its context holds."""
    work = tmp_path_factory.mktemp("image")
    source = work / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.in")
    shutil.copytree(ROOT / "requirements", source / "requirements", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "operator", source / "operator", symlinks=True, ignore=ignore)
    shutil.copytree(ROOT / "config", source / "config", symlinks=True)
    tools, venv, wheels = work / "build-tools", work / "venv", work / "wheels"

    def run(*command: str | Path) -> None:
        environment = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1"}
        subprocess.run([str(part) for part in command], check=True, timeout=900, env=environment, cwd=source)

    run(sys.executable, "-m", "venv", tools)
    run(tools / "bin" / "pip", "install", "--quiet", "--require-hashes", "-r", "requirements/build.lock")
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "pip", "install", "--quiet", "--require-hashes", "-r", "requirements/operator.lock")
    run(tools / "bin" / "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", wheels, ".")
    (wheel,) = wheels.glob("statuswatch-*.whl")
    run(venv / "bin" / "pip", "install", "--quiet", "--no-deps", wheel)
    run(venv / "bin" / "pip", "uninstall", "--quiet", "--yes", "pip", "setuptools")
    return venv


def test_the_image_venv_holds_exactly_the_lock(image_venv: Path) -> None:
    listing = (
        "import importlib.metadata as m; print(*sorted(f'{d.name}=={d.version}' for d in m.distributions()))"
    )
    installed = subprocess.run(
        [str(image_venv / "bin" / "python"), "-c", listing], capture_output=True, text=True, check=True
    ).stdout.split()
    locked = [
        line.split()[0]
        for line in (ROOT / "requirements" / "operator.lock").read_text().splitlines()
        if "==" in line and not line.startswith((" ", "#"))
    ]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

    def normal(entries: list[str]) -> list[str]:
        return sorted(entry.lower().replace("_", "-") for entry in entries)

    # Nothing else: no pip, and not the old setuptools that `python -m venv` seeds (both removed, as in
    # the Dockerfile), no package the lock does not name.
    assert normal(installed) == normal([*locked, f"statuswatch=={version}"])


@pytest.fixture
def venv_operator(
    cluster: E2ECluster, namespace: str, helm: Path, image_venv: Path, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """The image venv's ``statuswatch run`` serving the test's namespace with the chart's RBAC (namespaced,
    reads narrowed to NARROW_READS), authenticated as the chart's ServiceAccount."""
    release = f"sw-{namespace[-6:]}"
    values = {"allNamespaces": False, "namespaces": [namespace], "readKinds": NARROW_READS}
    rendered = render_chart(helm, release, namespace, values)
    apply_and_read_back(cluster, rendered)
    cluster.kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s")
    account = f"{release}-statuswatch"
    token = cluster.kubectl("create", "token", account, "-n", namespace, "--duration=1h").stdout.strip()
    kubeconfig = write_token_kubeconfig(tmp_path / "kubeconfig", cluster, token, namespace)
    log = tmp_path / "operator.log"
    # As in the image: HOME and TMPDIR in a scratch directory, no bytecode written.
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    launch = launch_operator(
        kubeconfig,
        log,
        namespaces=[namespace],
        program=[str(image_venv / "bin" / "statuswatch")],
        env=environment,
        cwd=tmp_path,
        ready_timeout=None,
    )
    try:
        launch.wait_ready(90)
        yield launch.process
    finally:
        stop_operator(launch.process)
        print(f"--- operator log ---\n{log.read_text()}")  # shown when the test fails
        delete_rendered(cluster, rendered)


def statuswatch(name: str, namespace: str, identifiers: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "apiVersion": "statuswatch.io/v1alpha1",
        "kind": "StatusWatch",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"identifiers": identifiers, "pollInterval": "2s"},
    }


def test_the_image_venv_operator_serves_under_the_chart_rbac(
    cluster: E2ECluster, namespace: str, venv_operator: subprocess.Popen[bytes]
) -> None:
    workload = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "b"}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "registry.example/web:1"}]},
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
        statuswatch(
            "ready",
            namespace,
            [
                {"group": "", "kind": "ConfigMap", "name": "settings"},
                {"group": "apps", "kind": "Deployment", "name": "web"},
            ],
        ),
        statuswatch("forbidden", namespace, [{"group": "", "kind": "Service", "name": "web"}]),
    ]
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(workload))

    cluster.kubectl(
        "wait", "--for=condition=AllCurrent", "statuswatch/ready", "-n", namespace, "--timeout=120s"
    )

    def forbidden_resource() -> dict[str, Any] | None:
        watch = json.loads(
            cluster.kubectl("get", "statuswatch/forbidden", "-n", namespace, "-o", "json").stdout
        )
        resources: list[dict[str, Any]] = (watch.get("status") or {}).get("resources") or []
        return resources[0] if resources and resources[0].get("status") == "Unknown" else None

    wait_for(lambda: forbidden_resource() is not None, 60, "the Service to read Unknown")
    resource = forbidden_resource()
    assert resource is not None
    assert "forbidden" in resource["message"].lower()
    assert venv_operator.poll() is None
