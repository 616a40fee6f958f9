"""Our kubeconfig reader on plain files: kubectl's merging and relative paths, every kind of user (token,
token file, certificates, exec plugins run as real tiny scripts, auth-providers), in-cluster settings, and the
message of every mistake a user can make."""

from __future__ import annotations

import base64
import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from statuswatch.watchlist.kubeconfig import ConfigError, Kubeconfig, in_cluster

pytestmark = pytest.mark.timeout(10)

V1 = "client.authentication.k8s.io/v1"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def config(
    user: dict[str, Any] | None = None, cluster: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "current-context": "dev",
        "contexts": [{"name": "dev", "context": {"cluster": "c", "user": "u", "namespace": "team"}}],
        "clusters": [{"name": "c", "cluster": cluster or {"server": "https://h:6443/"}}],
        "users": [{"name": "u", "user": user or {}}],
        **extra,
    }


def write(path: Path, doc: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))  # JSON is YAML
    return path


# -- merging and file references -----------------------------------------------------------------------------


def test_files_merge_as_kubectl_merges_them(tmp_path: Path) -> None:
    first = write(
        tmp_path / "a" / "config",
        {
            "current-context": "dev",
            "contexts": [{"name": "dev", "context": {"cluster": "c", "user": "u"}}],
            "clusters": [{"name": "c", "cluster": {"server": "https://first"}}],
        },
    )
    (tmp_path / "b" / "certs").mkdir(parents=True)
    (tmp_path / "b" / "certs" / "ca.crt").write_bytes(b"CA-B")
    (tmp_path / "b" / "tok").write_text("token-b\n")
    second = write(
        tmp_path / "b" / "config",
        {
            "current-context": "other",  # the first file's current-context wins
            "contexts": [{"name": "other", "context": {"cluster": "d", "user": "u"}}],
            "clusters": [
                {"name": "c", "cluster": {"server": "https://second"}},  # the first file's "c" wins
                {"name": "d", "cluster": {"server": "https://d", "certificate-authority": "certs/ca.crt"}},
            ],
            "users": [{"name": "u", "user": {"tokenFile": "tok"}}],
        },
    )
    missing = tmp_path / "missing" / "config"
    merged = Kubeconfig.from_files(os.pathsep.join([str(first), str(missing), "", str(second)]))
    dev = merged.select()
    assert (dev.context, dev.endpoint.server, dev.namespace) == ("dev", "https://first", "default")
    # File references are relative to the file that names them, whichever file the context came from.
    assert dev.static.token_file == str(tmp_path / "b" / "tok")
    other = merged.select("other")
    assert other.endpoint.ca_data == b"CA-B"


def test_kubeconfig_from_the_environment_or_the_home_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    write(home / ".kube" / "config", config({"token": "home"}))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    assert Kubeconfig.from_files().select().static.token == "home"
    env = write(tmp_path / "env", config({"token": "env"}))
    monkeypatch.setenv("KUBECONFIG", str(env))
    assert Kubeconfig.from_files().select().static.token == "env"


def test_unreadable_kubeconfigs(tmp_path: Path) -> None:
    absent = f"{tmp_path / 'x'}{os.pathsep}{tmp_path / 'y'}"
    with pytest.raises(ConfigError, match=r"cannot read kubeconfig .*x.*y: no such file"):
        Kubeconfig.from_files(absent)
    (tmp_path / "list").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match=r"cannot read kubeconfig .*list: not a mapping"):
        Kubeconfig.from_files(str(tmp_path / "list"))
    (tmp_path / "broken").write_text("clusters: [\n")
    with pytest.raises(ConfigError, match=r"cannot read kubeconfig .*broken: not YAML"):
        Kubeconfig.from_files(str(tmp_path / "broken"))
    (tmp_path / "empty").write_text("")
    with pytest.raises(ConfigError, match="kubeconfig has no current-context"):
        Kubeconfig.from_files(str(tmp_path / "empty")).select()
    write(tmp_path / "shape", {"clusters": {"name": "c"}})
    with pytest.raises(ConfigError, match="clusters is not a list of mappings"):
        Kubeconfig.from_files(str(tmp_path / "shape"))


def test_missing_names_and_servers() -> None:
    with pytest.raises(ConfigError, match="kubeconfig has no context named 'nope'"):
        Kubeconfig.from_dict(config()).select("nope")
    doc = config()
    doc["contexts"][0]["context"]["user"] = "ghost"
    with pytest.raises(ConfigError, match="kubeconfig has no user named 'ghost'"):
        Kubeconfig.from_dict(doc).select()
    with pytest.raises(ConfigError, match="cluster of context 'dev' has no server"):
        Kubeconfig.from_dict(config(cluster={"insecure-skip-tls-verify": True})).select()
    anonymous = config()
    del anonymous["contexts"][0]["context"]["user"]
    assert Kubeconfig.from_dict(anonymous).select().static.token is None


def test_cluster_settings(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(b"CA-FILE")
    cluster = {
        "server": "https://10.0.0.1:6443/",
        "certificate-authority": "ca.crt",
        "tls-server-name": "kubernetes.default",
        "proxy-url": "https://user:pw@proxy:3128",
        "insecure-skip-tls-verify": True,
    }
    endpoint = Kubeconfig.from_dict(config(cluster=cluster), tmp_path).select().endpoint
    assert (endpoint.server, endpoint.ca_data, endpoint.insecure) == (
        "https://10.0.0.1:6443",
        b"CA-FILE",
        True,
    )
    assert (endpoint.tls_server_name, endpoint.proxy_url) == (
        "kubernetes.default",
        "https://user:pw@proxy:3128",
    )
    assert "pw@" not in repr(endpoint)
    # Inline data wins over a file, as in kubectl (the file need not exist then).
    inline = {
        "server": "https://h",
        "certificate-authority-data": b64(b"CA-DATA"),
        "certificate-authority": "x",
    }
    assert Kubeconfig.from_dict(config(cluster=inline), tmp_path).select().endpoint.ca_data == b"CA-DATA"
    with pytest.raises(ConfigError, match=r"cluster of 'dev': cannot read certificate-authority .*absent"):
        Kubeconfig.from_dict(
            config(cluster={"server": "https://h", "certificate-authority": "absent"})
        ).select()
    with pytest.raises(ConfigError, match="certificate-authority-data is not base64"):
        Kubeconfig.from_dict(
            config(cluster={"server": "https://h", "certificate-authority-data": "!"})
        ).select()
    with pytest.raises(ConfigError, match="only http:// and https:// proxies"):
        Kubeconfig.from_dict(config(cluster={"server": "https://h", "proxy-url": "socks5://p:1080"})).select()


# -- users ---------------------------------------------------------------------------------------------------


def test_token_beats_token_file_and_a_token_file_must_be_readable(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text("x")
    both = Kubeconfig.from_dict(config({"token": "inline", "tokenFile": "tok"}), tmp_path).select().static
    assert (both.token, both.token_file) == ("inline", None)
    assert "inline" not in repr(both)
    with pytest.raises(ConfigError, match=r"user 'u': cannot read tokenFile .*absent"):
        Kubeconfig.from_dict(config({"tokenFile": "absent"}), tmp_path).select()


def test_client_certificates_from_files_or_data(tmp_path: Path) -> None:
    (tmp_path / "me.crt").write_bytes(b"CERT")
    (tmp_path / "me.key").write_bytes(b"KEY")
    files = Kubeconfig.from_dict(config({"client-certificate": "me.crt", "client-key": "me.key"}), tmp_path)
    assert (files.select().static.client_cert_data, files.select().static.client_key_data) == (
        b"CERT",
        b"KEY",
    )
    data = config({"client-certificate-data": b64(b"C2"), "client-key-data": b64(b"K2")})
    creds = Kubeconfig.from_dict(data).select().credentials()
    assert (creds.client_cert_data, creds.client_key_data, creds.token) == (b"C2", b"K2", None)
    with pytest.raises(ConfigError, match="user 'u': a client certificate needs its key"):
        Kubeconfig.from_dict(config({"client-certificate-data": b64(b"C")})).select()


def test_basic_auth_is_refused_unless_something_else_authenticates() -> None:
    with pytest.raises(ConfigError, match="only bearer tokens and client certificates are supported"):
        Kubeconfig.from_dict(config({"username": "admin", "password": "pw"})).select()
    both = config({"username": "admin", "password": "pw", "token": "t"})
    assert Kubeconfig.from_dict(both).select().static.token == "t"


def test_auth_providers() -> None:
    oidc = {"name": "oidc", "config": {"id-token": "jwt", "refresh-token": "r", "client-id": "x"}}
    assert Kubeconfig.from_dict(config({"auth-provider": oidc})).select().credentials().token == "jwt"
    with pytest.raises(ConfigError, match=r"oidc auth-provider has no id-token.*kubelogin"):
        Kubeconfig.from_dict(config({"auth-provider": {"name": "oidc", "config": {}}})).select()
    for name in ("gcp", "azure"):
        with pytest.raises(ConfigError) as info:
            Kubeconfig.from_dict(config({"auth-provider": {"name": name, "config": {}}})).select()
        message = str(info.value)
        assert f"auth-provider {name!r} is not supported" in message
        assert "kubectl removed" in message
        assert "gke-gcloud-auth-plugin" in message
        assert "kubelogin" in message


# -- exec plugins --------------------------------------------------------------------------------------------


def plugin(tmp_path: Path, answer: dict[str, Any], name: str = "plugin", exit_code: int = 0) -> Path:
    """A plugin that records its argv, environment and KUBERNETES_EXEC_INFO in ``<name>.seen`` and prints
    ``answer`` (to stdout, or to stderr with ``exit_code``)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    script = tmp_path / name
    seen = tmp_path / f"{name}.seen"
    stream = "sys.stderr" if exit_code else "sys.stdout"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, pathlib, sys\n"
        "run = {'argv': sys.argv[1:], 'env': dict(os.environ)}\n"
        f"pathlib.Path({str(seen)!r}).write_text(json.dumps(run))\n"
        f"print(json.dumps({answer!r}), file={stream})\n"
        f"sys.exit({exit_code})\n"
    )
    script.chmod(0o755)
    return script


def seen(tmp_path: Path, name: str = "plugin") -> dict[str, Any]:
    recorded: dict[str, Any] = json.loads((tmp_path / f"{name}.seen").read_text())
    return recorded


def credential(status: dict[str, Any], api_version: str = V1) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": "ExecCredential", "status": status}


def test_exec_plugin_gets_args_env_and_cluster_info(tmp_path: Path) -> None:
    plugin(tmp_path / "bin", credential({"token": "t1", "expirationTimestamp": "2030-01-01T01:00:00+01:00"}))
    cluster = {
        "server": "https://h:6443",
        "certificate-authority-data": b64(b"CA"),
        "tls-server-name": "api.internal",
        "extensions": [{"name": "client.authentication.k8s.io/exec", "extension": {"audience": "k8s"}}],
    }
    user = {
        "exec": {
            "apiVersion": V1,
            "command": "bin/plugin",  # has a path separator: relative to the kubeconfig's directory
            "args": ["token", "--cluster", "prod"],
            "env": [{"name": "PLUGIN_REGION", "value": "eu-west-1"}],
            "provideClusterInfo": True,
            "interactiveMode": "Never",
        }
    }
    selected = Kubeconfig.from_dict(config(user, cluster), tmp_path).select()
    creds = selected.credentials()
    assert creds.token == "t1"
    assert creds.expiration == datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    run = seen(tmp_path / "bin")
    assert run["argv"] == ["token", "--cluster", "prod"]
    assert run["env"]["PLUGIN_REGION"] == "eu-west-1"
    assert "PATH" in run["env"]  # the plugin inherits the environment
    info = json.loads(run["env"]["KUBERNETES_EXEC_INFO"])
    assert info == {
        "apiVersion": V1,
        "kind": "ExecCredential",
        "spec": {
            "interactive": False,
            "cluster": {
                "server": "https://h:6443",
                "certificate-authority-data": b64(b"CA"),
                "tls-server-name": "api.internal",
                "config": {"audience": "k8s"},
            },
        },
    }


def test_exec_plugin_v1beta1_with_a_client_certificate_and_no_cluster_info(tmp_path: Path) -> None:
    beta = "client.authentication.k8s.io/v1beta1"
    script = plugin(tmp_path, credential({"clientCertificateData": "PEM-C", "clientKeyData": "PEM-K"}, beta))
    creds = Kubeconfig.from_dict(config({"exec": {"apiVersion": beta, "command": str(script)}})).select()
    got = creds.credentials()
    assert (got.client_cert_data, got.client_key_data, got.token, got.expiration) == (
        b"PEM-C",
        b"PEM-K",
        None,
        None,
    )
    assert json.loads(seen(tmp_path)["env"]["KUBERNETES_EXEC_INFO"]) == {
        "apiVersion": beta,
        "kind": "ExecCredential",
        "spec": {"interactive": False},
    }


def test_exec_plugin_token_with_the_kubeconfigs_client_certificate(tmp_path: Path) -> None:
    script = plugin(tmp_path, credential({"token": "t"}))
    user = {
        "exec": {"apiVersion": V1, "command": str(script)},
        "client-certificate-data": b64(b"C"),
        "client-key-data": b64(b"K"),
    }
    got = Kubeconfig.from_dict(config(user)).select().credentials()
    assert (got.token, got.client_cert_data, got.client_key_data) == ("t", b"C", b"K")


def test_a_plugin_on_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin(tmp_path, credential({"token": "from-path"}), name="my-auth-plugin")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    user = {"exec": {"apiVersion": V1, "command": "my-auth-plugin"}}
    assert Kubeconfig.from_dict(config(user), Path("/elsewhere")).select().credentials().token == "from-path"


def exec_error(tmp_path: Path, exec_section: dict[str, Any]) -> str:
    selected = Kubeconfig.from_dict(config({"exec": exec_section}), tmp_path).select()
    with pytest.raises(ConfigError) as info:
        selected.credentials()
    return str(info.value)


def test_exec_plugin_failures_say_why(tmp_path: Path) -> None:
    missing = {"apiVersion": V1, "command": "no-such-plugin-here", "installHint": "brew install it\n"}
    assert exec_error(tmp_path, missing) == (
        "exec plugin of user 'u' (no-such-plugin-here): command not found: brew install it"
    )
    failing = plugin(tmp_path, {"error": "token expired, run login"}, name="failing", exit_code=3)
    assert exec_error(tmp_path, {"apiVersion": V1, "command": str(failing)}).endswith(
        'failed with exit status 3: {"error": "token expired, run login"}'
    )
    other = plugin(tmp_path, credential({"token": "t"}, "client.authentication.k8s.io/v1beta1"), name="other")
    assert "answered in 'client.authentication.k8s.io/v1beta1', the kubeconfig asks for" in exec_error(
        tmp_path, {"apiVersion": V1, "command": str(other)}
    )
    empty = plugin(tmp_path, credential({}), name="empty")
    assert exec_error(tmp_path, {"apiVersion": V1, "command": str(empty)}).endswith(
        "gave neither a token nor a client certificate"
    )
    half = plugin(tmp_path, credential({"clientCertificateData": "C"}), name="half")
    assert "only together" in exec_error(tmp_path, {"apiVersion": V1, "command": str(half)})
    when = plugin(tmp_path, credential({"token": "t", "expirationTimestamp": "soon"}), name="when")
    assert "expirationTimestamp 'soon' is not an RFC 3339 time" in exec_error(
        tmp_path, {"apiVersion": V1, "command": str(when)}
    )
    garbage = plugin(tmp_path, {"kind": "Pod"}, name="garbage")
    assert exec_error(tmp_path, {"apiVersion": V1, "command": str(garbage)}).endswith(
        "printed no ExecCredential"
    )


def test_exec_sections_that_cannot_work() -> None:
    def error(section: dict[str, Any]) -> str:
        with pytest.raises(ConfigError) as info:
            Kubeconfig.from_dict(config({"exec": section})).select()
        return str(info.value)

    assert "has no apiVersion" in error({"command": "aws"})
    alpha = error({"apiVersion": "client.authentication.k8s.io/v1alpha1", "command": "aws"})
    assert "apiVersion 'client.authentication.k8s.io/v1alpha1' is not supported" in alpha
    assert error({"apiVersion": V1}) == "exec plugin of user 'u' has no command"
    assert "needs a terminal" in error({"apiVersion": V1, "command": "aws", "interactiveMode": "Always"})
    assert "an env entry has no name" in error({"apiVersion": V1, "command": "aws", "env": [{"value": "v"}]})


# -- in a pod ------------------------------------------------------------------------------------------------


def service_account(tmp_path: Path, namespace: str | None = "ops") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "ca.crt").write_bytes(b"SACA")
    if namespace is not None:
        (tmp_path / "namespace").write_text(namespace + "\n")
    return tmp_path


def test_in_cluster(tmp_path: Path) -> None:
    sa = service_account(tmp_path)
    found = in_cluster(sa, {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "6443"})
    assert (found.endpoint.server, found.endpoint.ca_data) == ("https://10.96.0.1:6443", b"SACA")
    assert (found.token_file, found.namespace) == (str(sa / "token"), "ops")
    ipv6 = in_cluster(sa, {"KUBERNETES_SERVICE_HOST": "fd00::1"})
    assert ipv6.endpoint.server == "https://[fd00::1]:443"


def test_in_cluster_without_a_namespace_file(tmp_path: Path) -> None:
    sa = service_account(tmp_path, namespace=None)
    assert in_cluster(sa, {"KUBERNETES_SERVICE_HOST": "h"}).namespace == "default"


def test_not_in_a_cluster(tmp_path: Path) -> None:
    sa = service_account(tmp_path / "sa")
    with pytest.raises(ConfigError, match="not in a cluster: KUBERNETES_SERVICE_HOST is not set"):
        in_cluster(sa, {})
    with pytest.raises(ConfigError, match="not in a cluster: no service account token at"):
        in_cluster(tmp_path / "absent", {"KUBERNETES_SERVICE_HOST": "h"})
    (sa / "ca.crt").unlink()
    with pytest.raises(ConfigError, match=r"not in a cluster: cannot read .*ca\.crt"):
        in_cluster(sa, {"KUBERNETES_SERVICE_HOST": "h"})


def test_exec_plugin_env_entries_win_over_the_process_environment_and_exec_info_over_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pinned by the 2026-12 mutation audit: merging the environment the other way round went unnoticed.
    monkeypatch.setenv("PLUGIN_REGION", "us-east-1")
    monkeypatch.setenv("KUBERNETES_EXEC_INFO", "stale")
    monkeypatch.setenv("ONLY_IN_PROCESS", "kept")
    script = plugin(tmp_path, credential({"token": "t"}))
    user = {
        "exec": {
            "apiVersion": V1,
            "command": str(script),
            "env": [
                {"name": "PLUGIN_REGION", "value": "eu-west-1"},
                {"name": "KUBERNETES_EXEC_INFO", "value": "from the kubeconfig"},
            ],
        }
    }
    assert Kubeconfig.from_dict(config(user)).select().credentials().token == "t"
    env = seen(tmp_path)["env"]
    assert env["PLUGIN_REGION"] == "eu-west-1"
    assert env["ONLY_IN_PROCESS"] == "kept"
    assert json.loads(env["KUBERNETES_EXEC_INFO"])["kind"] == "ExecCredential"
