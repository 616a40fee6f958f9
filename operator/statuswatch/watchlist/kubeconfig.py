"""Kubeconfig files and in-cluster service accounts, read by our own code.

Why not the official ``kubernetes`` client's loader: importing it costs about 35 MiB of resident memory (it
loads every generated model class), and kopf imports it, and pykube-ng, whenever they are installed. The
operator only needs the loader's rules, which are small and stable, so they live here, as kubectl applies
them:

- ``$KUBECONFIG`` lists files (``os.pathsep``); for clusters, users and contexts the first file naming one
  wins, and so does the first ``current-context``; files that do not exist are skipped.
- File references (``certificate-authority``, ``client-certificate``, ``client-key``, ``tokenFile`` and an
  exec plugin ``command`` with a path separator) are relative to the file that names them.
- Users authenticate with a bearer token (inline or ``tokenFile``), a client certificate, an exec plugin
  (``client.authentication.k8s.io/v1`` and ``v1beta1``), or an ``oidc`` auth-provider's ``id-token``. Other
  auth-providers were removed from kubectl too; basic auth is refused.

Everything a user can get wrong is a :class:`ConfigError` with a message naming what and where. The results
are plain data; :mod:`.connection` turns them into requests.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DEFAULT_KUBECONFIG",
    "EXEC_API_VERSIONS",
    "EXEC_TIMEOUT",
    "ConfigError",
    "Endpoint",
    "ExecPlugin",
    "InCluster",
    "Kubeconfig",
    "Selected",
    "UserCredentials",
    "in_cluster",
]

DEFAULT_KUBECONFIG = "~/.kube/config"
#: The ExecCredential versions kubectl still speaks (v1alpha1 was removed in 1.24).
EXEC_API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
#: How long an exec plugin may run; it is never interactive here, so a longer run is a hung plugin.
EXEC_TIMEOUT = 120.0
#: The cluster extension whose value a plugin gets as ``spec.cluster.config`` (``provideClusterInfo``).
_EXEC_EXTENSION = "client.authentication.k8s.io/exec"


class ConfigError(Exception):
    """No usable cluster configuration was found, or it is malformed, or its credentials cannot be had."""


@dataclass(frozen=True)
class Endpoint:
    """Where the API server is and how to trust it (a kubeconfig cluster, or the pod's service)."""

    server: str
    ca_data: bytes | None = field(default=None, repr=False)
    insecure: bool = False
    tls_server_name: str | None = None
    #: May carry a password, so not in ``repr``.
    proxy_url: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class UserCredentials:
    """What a user presents: a bearer token (or a file holding one), a client certificate, or both."""

    token: str | None = field(default=None, repr=False)
    #: Read again on every request (rotated tokens); absolute.
    token_file: str | None = None
    client_cert_data: bytes | None = field(default=None, repr=False)
    client_key_data: bytes | None = field(default=None, repr=False)
    #: When an exec plugin said these stop working.
    expiration: datetime.datetime | None = None


@dataclass(frozen=True)
class ExecPlugin:
    """A user's ``exec`` section: a command that prints an ExecCredential."""

    user: str
    api_version: str
    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    install_hint: str | None = None
    provide_cluster_info: bool = False

    def run(self, endpoint: Endpoint, cluster_extension: Any = None) -> UserCredentials:
        """Run the plugin once (blocking) and read its ExecCredential."""
        spec: dict[str, Any] = {"interactive": False}
        if self.provide_cluster_info:
            spec["cluster"] = _cluster_info(endpoint, cluster_extension)
        exec_info = {"apiVersion": self.api_version, "kind": "ExecCredential", "spec": spec}
        env = {**os.environ, **dict(self.env), "KUBERNETES_EXEC_INFO": json.dumps(exec_info)}
        what = f"exec plugin of user {self.user!r} ({self.command})"
        try:
            done = subprocess.run(
                [self.command, *self.args],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=EXEC_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            hint = f": {self.install_hint.strip()}" if self.install_hint else ""
            raise ConfigError(f"{what}: command not found{hint}") from None
        except subprocess.TimeoutExpired:
            raise ConfigError(f"{what}: no answer within {EXEC_TIMEOUT:g}s") from None
        except OSError as exc:
            raise ConfigError(f"{what}: cannot run it: {exc.strerror or exc}") from None
        if done.returncode != 0:
            stderr = done.stderr.decode(errors="replace").strip()[-2000:]
            detail = f": {stderr}" if stderr else ""
            raise ConfigError(f"{what} failed with exit status {done.returncode}{detail}")
        return self._parse(done.stdout, what)

    def _parse(self, stdout: bytes, what: str) -> UserCredentials:
        try:
            doc = json.loads(stdout)
        except ValueError:
            raise ConfigError(f"{what} printed no ExecCredential JSON") from None
        if not isinstance(doc, Mapping) or doc.get("kind") != "ExecCredential":
            raise ConfigError(f"{what} printed no ExecCredential")
        if doc.get("apiVersion") != self.api_version:
            raise ConfigError(
                f"{what} answered in {doc.get('apiVersion')!r}, the kubeconfig asks for {self.api_version!r}"
            )
        status = doc.get("status")
        if not isinstance(status, Mapping):
            raise ConfigError(f"{what} printed an ExecCredential without a status")
        token = _optional_str(status.get("token"))
        cert = _optional_str(status.get("clientCertificateData"))
        key = _optional_str(status.get("clientKeyData"))
        if bool(cert) != bool(key):
            raise ConfigError(f"{what} gave clientCertificateData and clientKeyData only together")
        if not token and not cert:
            raise ConfigError(f"{what} gave neither a token nor a client certificate")
        expiration = None
        if status.get("expirationTimestamp"):
            expiration = _timestamp(status["expirationTimestamp"], f"{what}: expirationTimestamp")
        return UserCredentials(
            token=token,
            client_cert_data=cert.encode() if cert else None,
            client_key_data=key.encode() if key else None,
            expiration=expiration,
        )


@dataclass(frozen=True)
class Selected:
    """One context of a kubeconfig, resolved: its cluster's endpoint and its user's way to authenticate."""

    context: str
    namespace: str
    endpoint: Endpoint
    user: str
    #: The user's static credentials (certificate files are read; a token file is only named).
    static: UserCredentials
    exec_plugin: ExecPlugin | None = None
    #: The cluster's ``client.authentication.k8s.io/exec`` extension, for ``provideClusterInfo``.
    cluster_extension: Any = field(default=None, repr=False)

    def credentials(self) -> UserCredentials:
        """The user's credentials now: the static ones, or (blocking) what the exec plugin hands out."""
        if self.exec_plugin is None:
            return self.static
        got = self.exec_plugin.run(self.endpoint, self.cluster_extension)
        if got.client_cert_data is None:
            got = UserCredentials(
                token=got.token,
                client_cert_data=self.static.client_cert_data,
                client_key_data=self.static.client_key_data,
                expiration=got.expiration,
            )
        return got


@dataclass(frozen=True)
class _Entry:
    """A named cluster, user or context, with the directory its relative file references start from."""

    body: Mapping[str, Any]
    base_dir: Path


@dataclass(frozen=True)
class Kubeconfig:
    """One kubeconfig, or several merged, as kubectl merges them."""

    clusters: Mapping[str, _Entry]
    users: Mapping[str, _Entry]
    contexts: Mapping[str, _Entry]
    current_context: str | None

    @classmethod
    def from_files(cls, paths: str | None = None) -> Kubeconfig:
        """``paths`` (default ``$KUBECONFIG``, else ``~/.kube/config``): one file or several joined by
        ``os.pathsep``; files that do not exist are skipped, but not all of them."""
        spec = paths if paths is not None else (os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG)
        docs: list[tuple[Mapping[str, Any], Path]] = []
        seen: set[Path] = set()
        for part in spec.split(os.pathsep):
            if not part.strip():
                continue
            path = Path(part).expanduser().absolute()
            if path in seen:
                continue
            seen.add(path)
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read kubeconfig {path}: {exc}") from None
            try:
                doc = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise ConfigError(f"cannot read kubeconfig {path}: not YAML: {exc}") from None
            if doc is None:  # an empty file is an empty kubeconfig
                doc = {}
            if not isinstance(doc, Mapping):
                raise ConfigError(f"cannot read kubeconfig {path}: not a mapping")
            docs.append((doc, path.parent))
        if not docs:
            raise ConfigError(f"cannot read kubeconfig {spec}: no such file")
        return cls._merge(docs)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], base_dir: Path = Path(".")) -> Kubeconfig:
        """A kubeconfig already parsed; relative file references start from ``base_dir``."""
        if not isinstance(doc, Mapping):
            raise ConfigError("kubeconfig is not a mapping")
        return cls._merge([(doc, base_dir.expanduser().absolute())])

    @classmethod
    def _merge(cls, docs: Sequence[tuple[Mapping[str, Any], Path]]) -> Kubeconfig:
        named: dict[str, dict[str, _Entry]] = {"clusters": {}, "users": {}, "contexts": {}}
        current: str | None = None
        for doc, base_dir in docs:
            for list_key, entries in named.items():
                item_key = list_key[:-1]
                for entry in _list(doc.get(list_key), list_key):
                    name = entry.get("name")
                    if not isinstance(name, str) or not name:
                        raise ConfigError(f"kubeconfig: an entry of {list_key} has no name")
                    body = entry.get(item_key)
                    if body is not None and not isinstance(body, Mapping):
                        raise ConfigError(f"kubeconfig: {item_key} {name!r} is not a mapping")
                    entries.setdefault(name, _Entry(body or {}, base_dir))
            if current is None and doc.get("current-context"):
                current = str(doc["current-context"])
        return cls(named["clusters"], named["users"], named["contexts"], current)

    def select(self, context: str | None = None) -> Selected:
        """The named context (default: the current one), its cluster and its user, checked."""
        name = context or self.current_context
        if not name:
            raise ConfigError("kubeconfig has no current-context")
        ctx = self._get(self.contexts, name, "context").body
        cluster_name = ctx.get("cluster")
        if not cluster_name:
            raise ConfigError(f"context {name!r} names no cluster")
        cluster = self._get(self.clusters, cluster_name, "cluster")
        user_name = str(ctx.get("user") or "")
        user = self._get(self.users, user_name, "user") if user_name else _Entry({}, Path.cwd())
        extensions = _named_values(cluster.body.get("extensions"))
        return Selected(
            context=name,
            namespace=str(ctx.get("namespace") or "default"),
            endpoint=_endpoint(cluster, name),
            user=user_name,
            static=_static_user(user, user_name),
            exec_plugin=_exec_plugin(user, user_name),
            cluster_extension=extensions.get(_EXEC_EXTENSION),
        )

    @staticmethod
    def _get(entries: Mapping[str, _Entry], name: Any, what: str) -> _Entry:
        entry = entries.get(str(name))
        if entry is None:
            raise ConfigError(f"kubeconfig has no {what} named {name!r}")
        return entry


@dataclass(frozen=True)
class InCluster:
    """The pod's service account: the API server's service, its CA, a token file and the namespace."""

    endpoint: Endpoint
    token_file: str
    namespace: str


def in_cluster(sa_dir: Path, environ: Mapping[str, str]) -> InCluster:
    """What a pod is given to reach its API server; :class:`ConfigError` ("not in a cluster") elsewhere."""
    host = environ.get("KUBERNETES_SERVICE_HOST", "").strip()
    port = environ.get("KUBERNETES_SERVICE_PORT", "").strip() or "443"
    if not host:
        raise ConfigError("not in a cluster: KUBERNETES_SERVICE_HOST is not set")
    token, ca = sa_dir / "token", sa_dir / "ca.crt"
    if not token.is_file():
        raise ConfigError(f"not in a cluster: no service account token at {token}")
    try:
        ca_data = ca.read_bytes()
    except OSError as exc:
        raise ConfigError(f"not in a cluster: cannot read {ca}: {exc.strerror or exc}") from None
    if ":" in host and not host.startswith("["):  # an IPv6 address
        host = f"[{host}]"
    namespace_file = sa_dir / "namespace"
    try:
        namespace = namespace_file.read_text().strip() or "default"
    except OSError:
        namespace = "default"
    return InCluster(Endpoint(f"https://{host}:{port}", ca_data=ca_data), str(token), namespace)


def _endpoint(cluster: _Entry, context: str) -> Endpoint:
    body = cluster.body
    server = _optional_str(body.get("server"))
    if not server:
        raise ConfigError(f"cluster of context {context!r} has no server")
    proxy = _optional_str(body.get("proxy-url"))
    if proxy and not proxy.startswith(("http://", "https://")):
        raise ConfigError(f"proxy-url {proxy!r}: only http:// and https:// proxies are supported")
    return Endpoint(
        server=server.rstrip("/"),
        ca_data=_data_or_file(body, "certificate-authority", cluster.base_dir, f"cluster of {context!r}"),
        insecure=body.get("insecure-skip-tls-verify") is True,
        tls_server_name=_optional_str(body.get("tls-server-name")),
        proxy_url=proxy,
    )


def _static_user(user: _Entry, name: str) -> UserCredentials:
    body = user.body
    where = f"user {name!r}"
    cert = _data_or_file(body, "client-certificate", user.base_dir, where)
    key = _data_or_file(body, "client-key", user.base_dir, where)
    if bool(cert) != bool(key):
        raise ConfigError(f"{where}: a client certificate needs its key and the other way round")
    token = _optional_str(body.get("token"))
    token_file = None
    if not token and body.get("tokenFile"):
        path = _resolve(str(body["tokenFile"]), user.base_dir)
        try:
            Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read tokenFile {path}: {exc.strerror or exc}") from None
        token_file = path
    provider = body.get("auth-provider")
    if provider is not None:
        token = token or _auth_provider_token(provider, where)
    has_exec = body.get("exec") is not None
    if (body.get("username") or body.get("password")) and not (token or token_file or cert or has_exec):
        raise ConfigError(
            f"{where}: basic auth (username/password) is not supported; "
            "only bearer tokens and client certificates are supported"
        )
    return UserCredentials(token=token, token_file=token_file, client_cert_data=cert, client_key_data=key)


def _auth_provider_token(provider: Any, where: str) -> str:
    if not isinstance(provider, Mapping):
        raise ConfigError(f"{where}: auth-provider is not a mapping")
    name = provider.get("name")
    config = provider.get("config")
    if name == "oidc":
        token = config.get("id-token") if isinstance(config, Mapping) else None
        if not token:
            raise ConfigError(
                f"{where}: the oidc auth-provider has no id-token (statuswatch does not run the OIDC "
                "refresh flow); use an exec plugin such as kubelogin (kubectl oidc-login)"
            )
        return str(token)
    raise ConfigError(
        f"{where}: auth-provider {name!r} is not supported (kubectl removed the built-in gcp and azure "
        "providers too); use the provider's exec plugin instead, such as gke-gcloud-auth-plugin for GKE "
        "or kubelogin for AKS and OIDC"
    )


def _exec_plugin(user: _Entry, name: str) -> ExecPlugin | None:
    section = user.body.get("exec")
    if section is None:
        return None
    where = f"exec plugin of user {name!r}"
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where} is not a mapping")
    api_version = section.get("apiVersion")
    if not api_version:
        raise ConfigError(f"{where} has no apiVersion (use one of {', '.join(EXEC_API_VERSIONS)})")
    if api_version not in EXEC_API_VERSIONS:
        raise ConfigError(
            f"{where}: apiVersion {api_version!r} is not supported "
            f"(use one of {', '.join(EXEC_API_VERSIONS)})"
        )
    command = _optional_str(section.get("command"))
    if not command:
        raise ConfigError(f"{where} has no command")
    if os.sep in command or (os.altsep and os.altsep in command):
        command = _resolve(command, user.base_dir)
    if section.get("interactiveMode") == "Always":
        raise ConfigError(f"{where} needs a terminal (interactiveMode: Always); the operator has none")
    args = section.get("args") or []
    if not isinstance(args, list):
        raise ConfigError(f"{where}: args is not a list")
    env: list[tuple[str, str]] = []
    for item in _list(section.get("env"), f"{where}: env"):
        if not item.get("name"):
            raise ConfigError(f"{where}: an env entry has no name")
        env.append((str(item["name"]), str(item.get("value") or "")))
    return ExecPlugin(
        user=name,
        api_version=str(api_version),
        command=command,
        args=tuple(str(a) for a in args),
        env=tuple(env),
        install_hint=_optional_str(section.get("installHint")),
        provide_cluster_info=section.get("provideClusterInfo") is True,
    )


def _cluster_info(endpoint: Endpoint, extension: Any) -> dict[str, Any]:
    """``spec.cluster`` of the ExecCredential handed to a plugin that asks for it."""
    info: dict[str, Any] = {"server": endpoint.server}
    if endpoint.tls_server_name:
        info["tls-server-name"] = endpoint.tls_server_name
    if endpoint.insecure:
        info["insecure-skip-tls-verify"] = True
    if endpoint.ca_data:
        info["certificate-authority-data"] = base64.b64encode(endpoint.ca_data).decode()
    if endpoint.proxy_url:
        info["proxy-url"] = endpoint.proxy_url
    if extension is not None:
        info["config"] = extension
    return info


def _data_or_file(body: Mapping[str, Any], key: str, base_dir: Path, where: str) -> bytes | None:
    """``<key>-data`` (base64, preferred, as kubectl does) or the file ``<key>`` names."""
    data = body.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(str(data), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"{where}: {key}-data is not base64") from None
    name = body.get(key)
    if not name:
        return None
    path = _resolve(str(name), base_dir)
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read {key} {path}: {exc.strerror or exc}") from None


def _resolve(path: str, base_dir: Path) -> str:
    return os.path.normpath(os.path.join(base_dir, os.path.expanduser(path)))


def _list(value: Any, what: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ConfigError(f"kubeconfig: {what} is not a list of mappings")
    return value


def _named_values(value: Any) -> dict[str, Any]:
    """A kubeconfig ``extensions`` list as ``{name: extension}``; anything malformed is ignored."""
    if not isinstance(value, list):
        return {}
    return {str(e["name"]): e.get("extension") for e in value if isinstance(e, Mapping) and e.get("name")}


def _optional_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _timestamp(value: Any, what: str) -> datetime.datetime:
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{what} {value!r} is not an RFC 3339 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
