"""Where an API server is and how to authenticate to it, as plain data: a kubeconfig's context or the pod's.

Kubeconfigs in the field authenticate in many ways (exec plugins for EKS, GKE and AKS, token files, client
certificates, proxies, TLS server names, in-cluster service accounts). :mod:`.kubeconfig` reads them with
kubectl's rules (our own code: the official client costs ~35 MiB just to import), and
:class:`ClusterConfig` keeps what it found as plain data (:class:`Credentials`, also what the operator
hands to kopf). Credentials that expire (an exec plugin's ``expirationTimestamp``) are loaded again before
they are used past their expiry, and once more after a 401. No I/O beyond reading files and running a
plugin: the HTTP client is :mod:`.connection`.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import ssl
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from statuswatch.watchlist import kubeconfig
from statuswatch.watchlist.kubeconfig import ConfigError

__all__ = [
    "EXPIRY_LEEWAY",
    "SERVICE_ACCOUNT_DIR",
    "ClusterConfig",
    "ConfigError",
    "Credentials",
]

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
#: Credentials are loaded again this long before they expire (at most half their lifetime), so that a
#: request does not race the expiry on its way to the server.
EXPIRY_LEEWAY = datetime.timedelta(seconds=30)


@dataclass(frozen=True)
class Credentials:
    """What it takes to talk to one API server right now, as plain data (secrets stay out of ``repr``)."""

    #: The API server's base URL, without a trailing slash.
    server: str
    #: PEM bundle to verify the server with; None: the system's trust store.
    ca_data: bytes | None = field(default=None, repr=False)
    #: PEM client certificate and its key, when the user authenticates with one.
    client_cert_data: bytes | None = field(default=None, repr=False)
    client_key_data: bytes | None = field(default=None, repr=False)
    #: Bearer token (without the ``Bearer`` prefix).
    token: str | None = field(default=None, repr=False)
    #: Skip verifying the server's certificate (``insecure-skip-tls-verify``).
    insecure: bool = False
    #: Name to verify the server's certificate against (and send as SNI) instead of the URL's host.
    tls_server_name: str | None = None
    #: HTTP(S) proxy for every request (``proxy-url``); may carry a password, so not in ``repr``.
    proxy_url: str | None = field(default=None, repr=False)
    #: When the token or certificate stops working (an exec plugin's ``expirationTimestamp``), if known.
    expiration: datetime.datetime | None = None
    #: The context's namespace, for objects named without one.
    default_namespace: str = "default"

    def ssl_context(self) -> ssl.SSLContext | bool:
        """The TLS settings for this server; False for plain HTTP."""
        if not self.server.startswith("https:"):
            return False
        ctx = ssl.create_default_context()
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_data:
            ctx = ssl.create_default_context(cadata=self.ca_data.decode())
        if self.client_cert_data and self.client_key_data:
            # The ssl module only loads certificates from files; keep them on disk for as short as possible.
            with tempfile.TemporaryDirectory() as tmp:
                cert, key = Path(tmp, "tls.crt"), Path(tmp, "tls.key")
                cert.write_bytes(self.client_cert_data)
                key.touch(mode=0o600)
                key.write_bytes(self.client_key_data)
                ctx.load_cert_chain(cert, key)
        return ctx


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class _CredentialSource:
    """Credentials that expire, with the loader that makes them again (it may run an exec plugin).

    Thread-safe: the API client runs loads in a worker thread, kopf's login handler may call from another.
    """

    def __init__(
        self,
        load: Callable[[], Credentials],
        first: Credentials,
        clock: Callable[[], datetime.datetime] = _now,
    ) -> None:
        self._load = load
        self._clock = clock
        self._lock = threading.Lock()
        self._current = first
        self._loaded_at = clock()

    def due(self) -> bool:
        """Whether the current credentials expire within the leeway (a load would happen)."""
        expiration = self._current.expiration
        if expiration is None:
            return False
        leeway = min(EXPIRY_LEEWAY, max(expiration - self._loaded_at, datetime.timedelta(0)) / 2)
        return self._clock() >= expiration - leeway

    def get(self) -> Credentials:
        with self._lock:
            if self.due():
                self._reload()
            return self._current

    def refresh(self, stale: Credentials | None) -> Credentials:
        """Load again, unless another caller already replaced ``stale`` (one plugin run per 401 burst)."""
        with self._lock:
            if stale is None or stale is self._current:
                self._reload()
            return self._current

    def _reload(self) -> None:
        loaded_at = self._clock()
        self._current = self._load()
        self._loaded_at = loaded_at


@dataclass(frozen=True)
class ClusterConfig:
    """Everything needed to reach one API server. Secrets are held as bytes, never written to logs.

    The credential fields hold what was loaded first; :meth:`credentials` gives the ones to use now (an exec
    plugin's token is replaced when it expires, a token file is read again each time).
    """

    server: str
    ca_data: bytes | None = None
    client_cert_data: bytes | None = None
    client_key_data: bytes | None = None
    token: str | None = None
    token_file: str | None = None
    insecure_skip_tls_verify: bool = False
    namespace: str = "default"
    tls_server_name: str | None = None
    proxy_url: str | None = None
    #: Where fresh credentials come from when they expire (exec plugins); None: they don't.
    source: _CredentialSource | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:  # keep tokens and keys out of logs
        return f"ClusterConfig(server={self.server!r}, namespace={self.namespace!r})"

    @classmethod
    def load(
        cls, kubeconfig: str | os.PathLike[str] | None = None, context: str | None = None
    ) -> ClusterConfig:
        """In-cluster service account when running in a pod, else the kubeconfig (current context)."""
        if kubeconfig is None and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            with contextlib.suppress(ConfigError):
                return cls.in_cluster()
        return cls.from_kubeconfig(kubeconfig, context)

    @classmethod
    def in_cluster(cls, sa_dir: Path = SERVICE_ACCOUNT_DIR) -> ClusterConfig:
        """The pod's service account (``KUBERNETES_SERVICE_HOST`` and the files in ``sa_dir``)."""
        found = kubeconfig.in_cluster(sa_dir, os.environ)
        return cls(
            server=found.endpoint.server,
            ca_data=found.endpoint.ca_data,
            # Projected service account tokens rotate: read the file on every request.
            token_file=found.token_file,
            namespace=found.namespace,
        )

    @classmethod
    def from_kubeconfig(
        cls, path: str | os.PathLike[str] | None = None, context: str | None = None
    ) -> ClusterConfig:
        """A kubeconfig file (default: ``$KUBECONFIG``, several files merged as kubectl does, else
        ``~/.kube/config``); file references in it are relative to the file that names them."""
        paths = os.fspath(path) if path is not None else None
        return _from_selected(kubeconfig.Kubeconfig.from_files(paths).select(context))

    @classmethod
    def from_kubeconfig_dict(
        cls, doc: Mapping[str, Any], context: str | None = None, *, base_dir: Path = Path(".")
    ) -> ClusterConfig:
        """A kubeconfig already parsed; relative file references are taken from ``base_dir``."""
        return _from_selected(kubeconfig.Kubeconfig.from_dict(doc, base_dir).select(context))

    @property
    def refreshable(self) -> bool:
        """Whether loading the credentials again may give different ones (worth a retry after a 401)."""
        return self.source is not None or self.token_file is not None

    def credentials_due(self) -> bool:
        """Whether :meth:`credentials` would load them again first (and so may block on an exec plugin)."""
        return self.source is not None and self.source.due()

    def credentials(self) -> Credentials:
        """The credentials to use now, loaded again first if they expire soon.

        May block while an exec plugin runs; async callers use a worker thread when
        :meth:`credentials_due` says so. Raises :class:`ConfigError` when they cannot be had.
        """
        if self.source is not None:
            return self.source.get()
        return self._static_credentials()

    def refresh_credentials(self, stale: Credentials | None = None) -> Credentials:
        """Load the credentials again (after the server refused ``stale`` with a 401); may block."""
        if self.source is not None:
            return self.source.refresh(stale)
        return self._static_credentials()

    def _static_credentials(self) -> Credentials:
        return Credentials(
            server=self.server,
            ca_data=self.ca_data,
            client_cert_data=self.client_cert_data,
            client_key_data=self.client_key_data,
            token=self.bearer_token(),
            insecure=self.insecure_skip_tls_verify,
            tls_server_name=self.tls_server_name,
            proxy_url=self.proxy_url,
            default_namespace=self.namespace,
        )

    def ssl_context(self) -> ssl.SSLContext | bool:
        return self.credentials().ssl_context()

    def bearer_token(self) -> str | None:
        if self.source is not None:
            return self.source.get().token
        if self.token_file:
            # Projected service account tokens rotate; read the file on every request.
            with contextlib.suppress(OSError):
                return Path(self.token_file).read_text().strip()
        return self.token


def _from_selected(selected: kubeconfig.Selected) -> ClusterConfig:
    """A resolved kubeconfig context as a :class:`ClusterConfig`; an exec plugin runs once here."""
    endpoint = selected.endpoint

    def load() -> Credentials:
        user = selected.credentials()
        return Credentials(
            server=endpoint.server,
            ca_data=endpoint.ca_data,
            client_cert_data=user.client_cert_data,
            client_key_data=user.client_key_data,
            token=user.token,
            insecure=endpoint.insecure,
            tls_server_name=endpoint.tls_server_name,
            proxy_url=endpoint.proxy_url,
            expiration=user.expiration,
            default_namespace=selected.namespace,
        )

    first = load()
    return ClusterConfig(
        server=first.server,
        ca_data=first.ca_data,
        client_cert_data=first.client_cert_data,
        client_key_data=first.client_key_data,
        token=first.token,
        token_file=selected.static.token_file,
        insecure_skip_tls_verify=first.insecure,
        namespace=selected.namespace,
        tls_server_name=first.tls_server_name,
        proxy_url=first.proxy_url,
        source=_CredentialSource(load, first) if selected.exec_plugin is not None else None,
    )
