"""Certificates for the local control plane, made with the ``openssl`` command.

One CA signs the API server's serving certificate and a client certificate per identity: the admin
(group ``system:masters``), and the controller manager and scheduler under the user names that the
bootstrap RBAC policy already grants what they need, so RBAC is exercised for real. A separate key signs
ServiceAccount tokens. ECDSA P-256 keys keep generation fast. The ``openssl`` CLI is used rather than a
Python library because no crypto package is among the project's dependencies.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from statuswatch.cluster.errors import ClusterError

__all__ = [
    "ADMIN",
    "CONTROLLER_MANAGER",
    "FRONT_PROXY",
    "IDENTITIES",
    "NODE",
    "SCHEDULER",
    "Identity",
    "ensure_pki",
]

_SERVER_NAMES = (
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
    "IP:127.0.0.1",
    "IP:::1",
    "IP:10.96.0.1",  # first address of the service range: the in-cluster `kubernetes` Service
)


@dataclass(frozen=True)
class Identity:
    name: str  # file stem under pki/
    user: str  # certificate CN, the Kubernetes user name
    group: str | None = None  # certificate O, a Kubernetes group


ADMIN = Identity("admin", "statuswatch-admin", "system:masters")
CONTROLLER_MANAGER = Identity("kube-controller-manager", "system:kube-controller-manager")
SCHEDULER = Identity("kube-scheduler", "system:kube-scheduler")
# The API server's identity towards aggregated API servers (and what makes the request-header CA known
# to the controller manager and scheduler, which otherwise log errors about it).
FRONT_PROXY = Identity("front-proxy-client", "front-proxy-client")
# The real node's kubelet: the Node authorizer grants system:node:<name> in system:nodes what it needs.
NODE = Identity("statuswatch-real-node", "system:node:statuswatch-real-node", "system:nodes")
IDENTITIES = (ADMIN, CONTROLLER_MANAGER, SCHEDULER, FRONT_PROXY, NODE)


def _openssl(*args: str, cwd: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ClusterError("the `openssl` command is needed to create the cluster's certificates")
    result = subprocess.run([openssl, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"openssl {args[0]} failed in {cwd}: {result.stderr.strip()}")


def _key(path: Path) -> None:
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path.name, cwd=path.parent)
    path.chmod(0o600)


def _signed(pki: Path, stem: str, subject: str, extensions: str) -> None:
    _key(pki / f"{stem}.key")
    (pki / f"{stem}.ext").write_text(extensions)
    _openssl("req", "-new", "-key", f"{stem}.key", "-subj", subject, "-out", f"{stem}.csr", cwd=pki)
    _openssl(
        "x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "3650", "-sha256", "-extfile", f"{stem}.ext", "-out", f"{stem}.crt",
        cwd=pki,
    )  # fmt: skip
    (pki / f"{stem}.csr").unlink()
    (pki / f"{stem}.ext").unlink()


def ensure_pki(pki: Path) -> None:
    """Create whatever is missing of the CA, serving, client and ServiceAccount keys; reuse the rest."""
    pki.mkdir(parents=True, exist_ok=True)
    if not (pki / "ca.crt").is_file():
        _key(pki / "ca.key")
        _openssl(
            "req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=statuswatch-local-ca", "-days", "3650",
            "-sha256", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature", "-out", "ca.crt",
            cwd=pki,
        )  # fmt: skip
    if not (pki / "apiserver.crt").is_file():
        _signed(
            pki,
            "apiserver",
            "/CN=kube-apiserver",
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            f"extendedKeyUsage=serverAuth\nsubjectAltName={','.join(_SERVER_NAMES)}\n",
        )
    for identity in IDENTITIES:
        if (pki / f"{identity.name}.crt").is_file():
            continue
        subject = f"/CN={identity.user}" + (f"/O={identity.group}" if identity.group else "")
        _signed(
            pki,
            identity.name,
            subject,
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=clientAuth\n",
        )
    if not (pki / "sa.pub").is_file():
        _key(pki / "sa.key")
        _openssl("ec", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)
