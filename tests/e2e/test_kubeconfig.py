"""Kubeconfigs read by our own loader against a real API server: users that are exec plugins (as EKS, GKE
and AKS write them), and files merged from ``$KUBECONFIG`` whose token and CA are files next to them.

The plugin is a small script that prints an ExecCredential carrying a ServiceAccount token from
``kubectl create token``, and counts its runs in a file. The ServiceAccount may read ConfigMaps of the test's
namespace and nothing else, so a successful read proves the plugin's token was used (not the admin's).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from statuswatch.cluster.testing import E2ECluster
from statuswatch.watchlist import ApiClient, ApiError, ClusterConfig, Request, get_json

pytestmark = pytest.mark.timeout(240)

EXEC_API = "client.authentication.k8s.io/v1"
READ_CONFIGMAPS = [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
#: The console script installed next to this interpreter (the CLI as users run it).
STATUSWATCH = Path(sys.executable).parent / "statuswatch"

ServiceAccountKubeconfig = Callable[..., Path]  # the conftest fixture's factory
PluginKubeconfig = Callable[..., tuple[Path, Path]]


@pytest.fixture
def plugin_kubeconfig(
    cluster: E2ECluster,
    namespace: str,
    service_account_kubeconfig: ServiceAccountKubeconfig,
    tmp_path: Path,
) -> PluginKubeconfig:
    """Factory: ``make(bad_first=False) -> (kubeconfig, count file)``; ``bad_first``: the first run of the
    plugin hands out a token the API server refuses (401)."""

    def make(*, bad_first: bool = False) -> tuple[Path, Path]:
        service_account_kubeconfig(READ_CONFIGMAPS, name="plugin-user")  # the account and its Role
        count = tmp_path / "plugin-runs"
        token_command = [
            cluster.kubectl_binary,
            "--kubeconfig",
            str(cluster.kubeconfig),
            "create",
            "token",
            "plugin-user",
            "-n",
            namespace,
            "--duration=10m",
        ]
        script = tmp_path / "exec-plugin.py"
        script.write_text(
            f"#!{sys.executable}\n"
            "import datetime, json, pathlib, subprocess\n"
            f"count = pathlib.Path({str(count)!r})\n"
            "runs = int(count.read_text()) if count.exists() else 0\n"
            "count.write_text(str(runs + 1))\n"
            f"if {bad_first!r} and runs == 0:\n"
            "    token = 'not-a-token-this-server-knows'\n"
            "else:\n"
            f"    token = subprocess.run({token_command!r}, check=True, capture_output=True, text=True)"
            ".stdout.strip()\n"
            "expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=10)\n"
            "status = {'token': token, 'expirationTimestamp': expires.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
            f"print(json.dumps({{'apiVersion': {EXEC_API!r}, 'kind': 'ExecCredential', 'status': status}}))\n"
        )
        script.chmod(0o755)
        admin = yaml.safe_load(cluster.kubeconfig.read_text())
        current = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])["context"]
        server = next(c for c in admin["clusters"] if c["name"] == current["cluster"])["cluster"]
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "e2e", "cluster": server}],
            "users": [
                {
                    "name": "plugin-user",
                    "user": {
                        "exec": {"apiVersion": EXEC_API, "command": str(script), "interactiveMode": "Never"}
                    },
                }
            ],
            "contexts": [
                {"name": "e2e", "context": {"cluster": "e2e", "user": "plugin-user", "namespace": namespace}}
            ],
            "current-context": "e2e",
        }
        path = tmp_path / "kubeconfig-exec"
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        return path, count

    return make


async def test_api_client_reads_and_watches_through_an_exec_plugin(
    cluster: E2ECluster, namespace: str, plugin_kubeconfig: PluginKubeconfig
) -> None:
    cluster.kubectl("create", "configmap", "settings", "-n", namespace, "--from-literal=a=b")
    kubeconfig, count = plugin_kubeconfig()
    config = ClusterConfig.from_kubeconfig(kubeconfig)
    assert config.namespace == namespace
    assert config.credentials().expiration is not None
    async with ApiClient(config) as client:
        cm = await get_json(client, f"/api/v1/namespaces/{namespace}/configmaps/settings")
        assert cm["data"] == {"a": "b"}
        lines = await client.stream(
            Request(f"/api/v1/namespaces/{namespace}/configmaps", {"watch": 1, "timeoutSeconds": 1})
        )
        watched = [json.loads(line) async for line in lines]
        assert "settings" in {e["object"]["metadata"]["name"] for e in watched if e["type"] == "ADDED"}
        with pytest.raises(ApiError) as info:  # the plugin's identity, not the admin's
            await get_json(client, f"/api/v1/namespaces/{namespace}/secrets")
        assert info.value.status == 403
        assert "plugin-user" in info.value.message
    assert count.read_text() == "1"


async def test_a_refused_token_runs_the_plugin_again_and_the_request_succeeds(
    cluster: E2ECluster, namespace: str, plugin_kubeconfig: PluginKubeconfig
) -> None:
    cluster.kubectl("create", "configmap", "settings", "-n", namespace)
    kubeconfig, count = plugin_kubeconfig(bad_first=True)
    async with ApiClient(ClusterConfig.from_kubeconfig(kubeconfig)) as client:
        cm = await get_json(client, f"/api/v1/namespaces/{namespace}/configmaps/settings")
    assert cm["metadata"]["name"] == "settings"
    assert count.read_text() == "2"


def test_status_command_through_an_exec_plugin(
    cluster: E2ECluster, namespace: str, plugin_kubeconfig: PluginKubeconfig
) -> None:
    cluster.kubectl("create", "configmap", "settings", "-n", namespace)
    kubeconfig, count = plugin_kubeconfig()
    result = subprocess.run(
        [
            str(STATUSWATCH),
            "status",
            "configmap/settings",
            "--until",
            "current",
            "--timeout",
            "60s",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KUBECONFIG": str(kubeconfig), "NO_COLOR": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    statuses = [r for r in records if r["type"] == "status"]
    assert statuses[-1]["namespace"] == namespace  # the kubeconfig context's namespace
    assert (statuses[-1]["name"], statuses[-1]["status"]) == ("settings", "Current")
    assert int(count.read_text()) >= 1


async def test_merged_kubeconfigs_with_relative_files_and_a_rotating_token_file(
    namespace: str,
    service_account_kubeconfig: ServiceAccountKubeconfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """$KUBECONFIG lists a cluster file (its CA in a file next to it), a missing file and a user file (its
    token in a file next to it); the token file is read again on every request."""
    issued = yaml.safe_load(service_account_kubeconfig(READ_CONFIGMAPS, name="file-user").read_text())
    token = issued["users"][0]["user"]["token"]
    server = issued["clusters"][0]["cluster"]
    clusters, users = tmp_path / "clusters", tmp_path / "users"
    clusters.mkdir()
    users.mkdir()
    (clusters / "ca.crt").write_bytes(base64.b64decode(server["certificate-authority-data"]))
    cluster_file = clusters / "config"
    cluster_file.write_text(
        yaml.safe_dump(
            {
                "clusters": [
                    {
                        "name": "e2e",
                        "cluster": {"server": server["server"], "certificate-authority": "ca.crt"},
                    }
                ],
                "contexts": [
                    {
                        "name": "e2e",
                        "context": {"cluster": "e2e", "user": "file-user", "namespace": namespace},
                    }
                ],
                "current-context": "e2e",
            }
        )
    )
    user_file = users / "config"
    user_file.write_text(yaml.safe_dump({"users": [{"name": "file-user", "user": {"tokenFile": "token"}}]}))
    (users / "token").write_text(token)
    monkeypatch.setenv(
        "KUBECONFIG", os.pathsep.join([str(cluster_file), str(tmp_path / "absent"), str(user_file)])
    )
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    async with ApiClient(ClusterConfig.load()) as client:
        await get_json(client, path)
        with pytest.raises(ApiError) as info:  # the file's token, not the admin's
            await get_json(client, f"/api/v1/namespaces/{namespace}/secrets")
        assert (info.value.status, "file-user" in info.value.message) == (403, True)
        (users / "token").write_text("not-a-token-this-server-knows")
        with pytest.raises(ApiError) as info:
            await get_json(client, path)
        assert info.value.status == 401
        (users / "token").write_text(token)
        await get_json(client, path)
