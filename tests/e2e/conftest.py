"""Fixtures that give end-to-end tests a real cluster.

``STATUSWATCH_TEST_CLUSTER`` picks the backend:
  * ``local`` (default): the local control plane (KWOK nodes), built if needed, started once per session
    in a temporary directory and stopped at the end. ``STATUSWATCH_TEST_CLUSTER_DIR`` points it at a
    fixed directory instead; a cluster already running there is reused and left running.
  * ``kind``: a kind cluster through pytest-kind (needs Docker); ``STATUSWATCH_KEEP_CLUSTER=1`` keeps it.
  * ``existing``: the cluster of ``$KUBECONFIG`` (or ~/.kube/config), used as it is.

Fixtures: ``cluster`` (session; an ``E2ECluster``), ``namespace`` (a fresh namespace per test, deleted
afterwards), ``served`` (the operator serving that namespace under its shipped role; a
``KubectlNamespace``), ``service_account_kubeconfig`` (a factory: kubeconfig for a ServiceAccount holding
given RBAC rules), ``needs`` (skip unless the backend has a capability), ``real_node`` (the local control
plane's real node, started on first use: kubelet and containerd; it fails, never skips, where it cannot
start).
Tests marked ``real_containers`` run on the real node on the local backend.
"""

from __future__ import annotations

import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from statuswatch.cluster.errors import ClusterError
from statuswatch.cluster.images import BUSYBOX_IMAGE
from statuswatch.cluster.operator_testing import KubectlNamespace, OperatorProcess, operator_rules
from statuswatch.cluster.realnode import pod_placement
from statuswatch.cluster.testing import (
    REAL_CONTAINERS,
    E2ECluster,
    ExistingE2ECluster,
    KindE2ECluster,
    LocalE2ECluster,
    Placement,
    docker_works,
    existing_kubeconfig,
    write_token_kubeconfig,
)

BACKEND_VARIABLE = "STATUSWATCH_TEST_CLUSTER"
OPERATOR_ROLE = Path(__file__).resolve().parents[2] / "config" / "rbac" / "role.yaml"


def _backend() -> str:
    backend = os.environ.get(BACKEND_VARIABLE, "local")
    if backend not in {"local", "kind", "existing"}:
        raise pytest.UsageError(f"{BACKEND_VARIABLE}={backend!r}: expected local, kind or existing")
    return backend


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2ECluster]:
    """The session's cluster (see the module docstring for the backends)."""
    backend = _backend()
    handle: E2ECluster
    if backend == "kind":
        if not docker_works():
            pytest.fail(f"{BACKEND_VARIABLE}=kind, but `docker info` fails: kind needs a Docker engine")
        handle = KindE2ECluster(keep=os.environ.get("STATUSWATCH_KEEP_CLUSTER") == "1")
    elif backend == "existing":
        handle = ExistingE2ECluster(existing_kubeconfig())
    else:
        from statuswatch.cluster.build import build, is_built

        if not is_built():
            # Visible despite output capture: a cold build takes many minutes.
            build(say=lambda line: print(line, file=sys.__stderr__, flush=True))
        fixed = os.environ.get("STATUSWATCH_TEST_CLUSTER_DIR")
        directory = Path(fixed) if fixed else tmp_path_factory.mktemp("controlplane")
        handle = LocalE2ECluster(directory)
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture(autouse=True)
def _real_containers(request: pytest.FixtureRequest) -> None:
    """``real_containers`` tests: on the local control plane they run on its real node (which must start)."""
    if request.node.get_closest_marker(REAL_CONTAINERS) is None:
        return
    if _backend() == "local":
        request.getfixturevalue("real_node")
        return
    reason = request.getfixturevalue("cluster").missing(REAL_CONTAINERS)
    if reason:
        pytest.skip(f"real_containers: {reason}")


@pytest.fixture
def real_node(cluster: E2ECluster) -> Placement:
    """The local control plane's real node, started if it is not running (kubelet, containerd).

    Fails, never skips, where it cannot start: a machine of the project's kind must run it. On the kind
    and existing backends the nodes are real already: any node, a public busybox image (the second local
    version and the pause image exist only on the real node).
    """
    if not isinstance(cluster, LocalE2ECluster):
        return Placement(image="busybox:1.36", pod_spec={})
    try:
        cluster.start_real_node(say=lambda line: print(line, file=sys.__stderr__, flush=True))
    except ClusterError as error:
        pytest.fail(f"the real node cannot start on this machine: {error}")
    return Placement(image=BUSYBOX_IMAGE, pod_spec=pod_placement())


@pytest.fixture
def needs(cluster: E2ECluster) -> Callable[[str], None]:
    """``needs("restart_apiserver")`` skips the test, with the reason, on backends without it."""

    def check(capability: str) -> None:
        reason = cluster.missing(capability)
        if reason:
            pytest.skip(reason)

    return check


def _namespace_name(test_name: str) -> str:
    stem = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:40].strip("-")
    return f"e2e-{stem}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def namespace(cluster: E2ECluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new namespace for this test (with its default ServiceAccount ready); deleted afterwards."""
    name = _namespace_name(request.node.name)
    cluster.kubectl("create", "namespace", name)
    deadline = time.monotonic() + 60
    while cluster.kubectl("get", "serviceaccount", "default", "-n", name, check=False).returncode != 0:
        if time.monotonic() > deadline:
            pytest.fail(f"ServiceAccount default was not created in namespace {name} within 60s")
        time.sleep(0.2)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")


ServiceAccountKubeconfig = Callable[..., Path]


@pytest.fixture
def service_account_kubeconfig(
    cluster: E2ECluster, namespace: str, tmp_path: Path
) -> Iterator[ServiceAccountKubeconfig]:
    """Factory: ``make(rules, *, name="operator", cluster_wide=False) -> kubeconfig path``.

    Creates ServiceAccount ``name`` in the test's namespace, a Role (or, with ``cluster_wide``, a
    ClusterRole) holding ``rules`` (RBAC PolicyRule dicts, e.g. ``{"apiGroups": ["apps"], "resources":
    ["deployments"], "verbs": ["get", "list", "watch"]}``), binds it, requests a token (``kubectl create
    token``, 1h) and writes a kubeconfig that uses it, with the namespace as default. Cluster-scoped
    objects are deleted afterwards; the rest goes with the namespace.
    """
    cluster_objects: list[str] = []

    def make(rules: list[dict[str, Any]], *, name: str = "operator", cluster_wide: bool = False) -> Path:
        role_kind = "ClusterRole" if cluster_wide else "Role"
        binding_kind = "ClusterRoleBinding" if cluster_wide else "RoleBinding"
        object_name = f"{namespace}-{name}" if cluster_wide else name
        role_meta: dict[str, Any] = {"name": object_name}
        if not cluster_wide:
            role_meta["namespace"] = namespace
        documents = [
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": namespace},
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": role_kind,
                "metadata": role_meta,
                "rules": rules,
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": binding_kind,
                "metadata": role_meta,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": object_name},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
            },
        ]
        if cluster_wide:
            cluster_objects.extend([f"clusterrole/{object_name}", f"clusterrolebinding/{object_name}"])
        cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(documents))
        token = cluster.kubectl("create", "token", name, "-n", namespace, "--duration=1h").stdout.strip()
        return write_token_kubeconfig(tmp_path / f"kubeconfig-{name}", cluster, token, namespace)

    yield make
    if cluster_objects:
        cluster.kubectl("delete", "--ignore-not-found", *cluster_objects)


@pytest.fixture
def operator_kubeconfig(service_account_kubeconfig: ServiceAccountKubeconfig) -> Path:
    """A kubeconfig for ServiceAccount ``statuswatch`` holding exactly the operator's shipped ClusterRole."""
    return service_account_kubeconfig(operator_rules(OPERATOR_ROLE), name="statuswatch", cluster_wide=True)


@pytest.fixture
def served(
    cluster: E2ECluster,
    namespace: str,
    service_account_kubeconfig: ServiceAccountKubeconfig,
    tmp_path: Path,
) -> Iterator[KubectlNamespace]:
    """The operator (``statuswatch run``) serving the test's namespace as a ServiceAccount bound to the
    shipped ClusterRole, with the CRD installed; yields kubectl helpers for that namespace."""
    root = Path(__file__).resolve().parents[2]
    cluster.kubectl("apply", "-f", str(root / "crds" / "statuswatches.statuswatch.io.yaml"))
    cluster.kubectl(
        "wait", "--for=condition=Established", "crd/statuswatches.statuswatch.io", "--timeout=60s"
    )
    kubeconfig = service_account_kubeconfig(
        operator_rules(root / "config" / "rbac" / "role.yaml"), name="statuswatch", cluster_wide=True
    )
    operator = OperatorProcess(kubeconfig, namespace, tmp_path)
    operator.start()
    try:
        yield KubectlNamespace(cluster, namespace)
    finally:
        operator.stop()
        print(f"--- operator log ---\n{operator.log()}")
