"""``LocalCluster``: etcd, kube-apiserver, controller manager, scheduler and KWOK as local processes.

The processes are orchestrated from Python rather than through kwokctl so that tests get the control
they need: restarting the API server alone on the same port (with other flags, e.g. a feature gate
off), compacting etcd, reading the etcd URL, and failure messages that name the component, its port
and its log. Everything lives in one directory (certificates, etcd data, logs, kubeconfigs and
``state.json``, which records ports and pids so that another process can stop the cluster).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from statuswatch.cluster import pins
from statuswatch.cluster.errors import ClusterError
from statuswatch.cluster.pki import ADMIN, CONTROLLER_MANAGER, FRONT_PROXY, SCHEDULER, Identity, ensure_pki
from statuswatch.cluster.process import Proc, failure, free_port, port_in_use, run_kubectl, start, stop

__all__ = [
    "COMPONENTS",
    "NODE_ANNOTATION",
    "NOT_READY_TAINT",
    "POD_CIDR",
    "PROJECT_STAGES",
    "SERVICE_CIDR",
    "LocalCluster",
    "Say",
]

Say = Callable[[str], None]

# Start order; `down` stops in reverse.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
_PORTS = ("etcd", "etcd-peer", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
NODE_ANNOTATION = "kwok.x-k8s.io/node"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
# statuswatch's own KWOK stages (e.g. a simulated crash loop), loaded after the stock ones.
PROJECT_STAGES = Path(__file__).parent / "stages"


def _quiet(_: str) -> None:
    pass


class LocalCluster:
    """A local Kubernetes control plane with KWOK nodes, kept in ``directory``.

    ``up()`` is idempotent and returns once the nodes are Ready (without the not-ready taint) and the
    ``default`` ServiceAccount exists; ``down()`` stops the processes and keeps the data.
    """

    def __init__(
        self,
        directory: Path | str | None = None,
        *,
        bin_dir: Path | str | None = None,
        nodes: int = 3,
    ) -> None:
        self.directory = Path(directory or pins.default_cluster_dir()).absolute()
        self.bin_dir = Path(bin_dir or pins.bin_dir()).absolute()
        self.nodes = nodes
        self.kubeconfig = self.directory / "kubeconfig"
        self.pki = self.directory / "pki"
        self.logs = self.directory / "logs"
        self._state_file = self.directory / "state.json"

    # -- recorded state -------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        try:
            data = json.loads(self._state_file.read_text())
        except (OSError, ValueError):
            return {"ports": {}, "procs": {}}
        return data if isinstance(data, dict) else {"ports": {}, "procs": {}}

    def _save(self, state: dict[str, Any]) -> None:
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self._state_file)

    def _procs(self) -> dict[str, Proc]:
        return {name: Proc(**raw) for name, raw in self._state().get("procs", {}).items()}

    def _record(self, proc: Proc) -> None:
        state = self._state()
        state.setdefault("procs", {})[proc.name] = vars(proc)
        self._save(state)

    def _forget(self, name: str) -> None:
        state = self._state()
        state.get("procs", {}).pop(name, None)
        self._save(state)

    def _port(self, name: str) -> int:
        port = self._state().get("ports", {}).get(name)
        if not isinstance(port, int):
            raise ClusterError(
                f"the cluster in {self.directory} has not been started (`statuswatch cluster up`)"
            )
        return port

    # -- addresses and credentials --------------------------------------------------------------

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self._port('kube-apiserver')}"

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self._port('etcd')}"

    @property
    def ca_file(self) -> Path:
        return self.pki / "ca.crt"

    @property
    def client_cert(self) -> Path:
        """The admin's client certificate (group system:masters); key in ``client_key``."""
        return self.pki / "admin.crt"

    @property
    def client_key(self) -> Path:
        return self.pki / "admin.key"

    def ssl_context(self) -> ssl.SSLContext:
        """A TLS context that trusts the cluster CA and authenticates as the admin."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.load_cert_chain(str(self.client_cert), str(self.client_key))
        return context

    def env(self) -> dict[str, str]:
        """KUBECONFIG and a PATH with the built kubectl first."""
        return {
            "KUBECONFIG": str(self.kubeconfig),
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl as the admin; with ``check`` a non-zero exit raises ClusterError."""
        return run_kubectl(
            self.bin_dir / "kubectl", self.kubeconfig, args, input=input, check=check, timeout=timeout
        )

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10) -> tuple[int, Any]:
        """One admin request to the API server; returns (status, decoded JSON body or text)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.server + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        return _send(request, self.ssl_context(), timeout)

    # -- status ---------------------------------------------------------------------------------

    def running(self) -> dict[str, Proc]:
        """The recorded components whose processes still run."""
        return {name: proc for name, proc in self._procs().items() if proc.alive()}

    def is_up(self) -> bool:
        """All components run and the API server answers /readyz."""
        if set(self.running()) != set(COMPONENTS):
            return False
        try:
            return self.api("GET", "/readyz", timeout=3)[0] == 200
        except (ClusterError, OSError):
            return False

    def rss_bytes(self) -> dict[str, int]:
        """Resident memory of each running component."""
        sizes = {}
        for name, proc in self.running().items():
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes[name] = int(line.split()[1]) * 1024
        return sizes

    # -- lifecycle ------------------------------------------------------------------------------

    def up(self, timeout: float = 180, say: Say = _quiet, *, real_node: bool = False) -> None:
        """Start everything that is not running yet; idempotent. Raises ClusterError on failure.

        With ``real_node`` the real node (:mod:`.realnode`: kubelet and containerd) joins too, Ready
        before this returns; without it a real node that runs already is left as it is.
        """
        if self.is_up():
            say(f"already running: {self.server} (kubeconfig {self.kubeconfig})")
        else:
            self._up_control_plane(timeout, say)
        if real_node:
            from statuswatch.cluster.realnode import RealNode

            RealNode(self).up(timeout=timeout, say=say)

    def _up_control_plane(self, timeout: float, say: Say) -> None:
        deadline = time.monotonic() + timeout
        self.down()  # a partial cluster (something crashed) is restarted as a whole
        missing = [name for name in pins.BINARIES if not (self.bin_dir / name).is_file()]
        if missing:
            raise ClusterError(
                f"missing binaries {missing} in {self.bin_dir}; run `statuswatch cluster build`"
            )
        if not pins.stages_file().is_file():
            raise ClusterError(f"missing {pins.stages_file()}; run `statuswatch cluster build`")
        self.directory.mkdir(parents=True, exist_ok=True)
        ensure_pki(self.pki)
        self._allocate_ports()
        self._write_kubeconfigs()
        try:
            self._start_all(deadline, say)
        except BaseException:
            self.down()
            raise
        say(f"ready: {self.server}, {self.nodes} KWOK nodes (kubeconfig {self.kubeconfig})")

    def down(self) -> None:
        """Stop the recorded processes (SIGTERM, then SIGKILL), newest first; data stays in the directory.

        A real node of this cluster goes first, and with it everything it changed on the host.
        """
        from statuswatch.cluster.realnode import RealNode

        RealNode(self).down()
        procs = self._procs()
        for name in reversed(COMPONENTS):
            if name in procs:
                stop(procs[name])
                self._forget(name)

    def restart_apiserver(
        self,
        extra_args: Sequence[str] | None = None,
        *,
        restart_controllers: bool = True,
        timeout: float = 120,
    ) -> None:
        """Stop the API server and start it again on the same port; returns once the cluster has settled.

        ``extra_args`` are appended to the usual flags (for example ``["--feature-gates=WatchList=false"]``)
        and stay in effect until the next restart. Watches open against the old process are cut, as in a
        real API server restart; its watch cache starts over from etcd's current revision.

        With ``restart_controllers`` (the default) the controller manager, scheduler and KWOK are
        restarted along with it. Left alone, they reconnect while the new API server's RBAC authorizer is
        still warming up, get 403s, and their informers back off for up to a minute, during which the
        cluster does not act (no ServiceAccounts in new namespaces, no pods for new Deployments), which
        would slow down or break the tests that come after.
        """
        procs = self._procs()
        if "kube-apiserver" not in procs:
            raise ClusterError("kube-apiserver is not running")
        stop(procs["kube-apiserver"])
        self._forget("kube-apiserver")
        if restart_controllers:
            for name in ("kwok", "kube-scheduler", "kube-controller-manager"):
                if name in procs:
                    stop(procs[name])
                    self._forget(name)
        port = self._port("kube-apiserver")
        deadline = time.monotonic() + timeout
        while port_in_use(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        self._start_apiserver(list(extra_args or ()), deadline)
        if restart_controllers:
            self._start_controllers(deadline, _quiet)
            self._wait_settled(deadline)
        else:
            self._revive_controllers(deadline)

    def _revive_controllers(self, deadline: float) -> None:
        """Controllers left running through an API server restart exit if it vanished while they were still
        starting (the controller manager builds its controllers for a while after /healthz answers, and
        gives up on "connection refused"): restart them all if any of them is gone."""
        time.sleep(1.0)  # one that lost the API server mid-start exits at once; give it the moment
        names = ("kwok", "kube-scheduler", "kube-controller-manager")
        procs = self._procs()
        if all(procs[name].alive() for name in names if name in procs):
            return
        for name in names:
            if name in procs:
                stop(procs[name])
                self._forget(name)
        self._start_controllers(deadline, _quiet)
        self._wait_settled(deadline)

    def compact_etcd(self) -> int:
        """Compact etcd up to its current revision (physically); returns that revision.

        Through etcd's v3 JSON gateway: a range request reads the header revision, then a compaction
        to it. Afterwards etcd answers any watch or read at an older revision with "required revision
        has been compacted". The API server only passes that on as ``410 Gone`` / "too old resource
        version" where it asks etcd: its watch cache keeps serving old resourceVersions it still holds
        in memory. So for a watch resumed from an old resourceVersion to get 410, follow this with
        ``restart_apiserver()``: the new watch cache starts at the compacted revision and refuses
        anything older with 410 (verified by tests/e2e/test_controlplane.py).
        """
        key = base64.b64encode(b"/registry/").decode()
        status, body = _send(self._etcd_request("/v3/kv/range", {"key": key, "limit": 1}), None, 10)
        if status != 200:
            raise ClusterError(f"etcd range at {self.etcd_url} failed: {status} {body}")
        revision = int(body["header"]["revision"])
        status, body = _send(
            self._etcd_request("/v3/kv/compaction", {"revision": revision, "physical": True}), None, 60
        )
        if status != 200:
            raise ClusterError(f"etcd compaction at {self.etcd_url} failed: {status} {body}")
        return revision

    # -- internals ------------------------------------------------------------------------------

    def _etcd_request(self, path: str, body: dict[str, Any]) -> urllib.request.Request:
        request = urllib.request.Request(self.etcd_url + path, data=json.dumps(body).encode(), method="POST")
        request.add_header("Content-Type", "application/json")
        return request

    def _allocate_ports(self) -> None:
        """Reuse recorded ports (etcd's data remembers its peer URL) unless one is taken; else pick new."""
        state = self._state()
        ports: dict[str, int] = dict(state.get("ports", {}))
        has_data = (self.directory / "etcd" / "member").is_dir()
        for name in _PORTS:
            port = ports.get(name)
            if port is not None and not port_in_use(port):
                continue
            if port is not None and has_data and name in {"etcd", "etcd-peer"}:
                raise ClusterError(
                    f"port {port} recorded for {name} in {self._state_file} is in use by another process; "
                    f"free it, or remove {self.directory} to start a new cluster"
                )
            ports[name] = free_port()
        state["ports"] = ports
        self._save(state)

    def _write_kubeconfig(self, path: Path, identity: Identity) -> None:
        def data(file: Path) -> str:
            return base64.b64encode(file.read_bytes()).decode()

        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "statuswatch-local",
                    "cluster": {"server": self.server, "certificate-authority-data": data(self.ca_file)},
                }
            ],
            "users": [
                {
                    "name": identity.user,
                    "user": {
                        "client-certificate-data": data(self.pki / f"{identity.name}.crt"),
                        "client-key-data": data(self.pki / f"{identity.name}.key"),
                    },
                }
            ],
            "contexts": [
                {
                    "name": "statuswatch-local",
                    "context": {"cluster": "statuswatch-local", "user": identity.user},
                }
            ],
            "current-context": "statuswatch-local",
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(config, sort_keys=False))
        tmp.chmod(0o600)
        tmp.replace(path)

    def _write_kubeconfigs(self) -> None:
        self._write_kubeconfig(self.kubeconfig, ADMIN)
        for identity in (CONTROLLER_MANAGER, SCHEDULER):
            self._write_kubeconfig(self.pki / f"{identity.name}.kubeconfig", identity)

    def _bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    def _launch(self, name: str, argv: list[str], port: int | None) -> Proc:
        if port is not None and port_in_use(port):
            raise ClusterError(f"{name}: port {port} is already in use by another process")
        proc = start(name, argv, self.logs / f"{name}.log", self.directory)
        self._record(proc)
        return proc

    def _start_all(self, deadline: float, say: Say) -> None:
        ports = self._state()["ports"]
        etcd_url = f"http://127.0.0.1:{ports['etcd']}"
        peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
        say(f"starting etcd on {etcd_url}")
        etcd = self._launch(
            "etcd",
            [
                self._bin("etcd"),
                "--name=statuswatch",
                f"--data-dir={self.directory / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=statuswatch={peer_url}",
                "--unsafe-no-fsync=true",
                "--quota-backend-bytes=8589934592",
                "--log-level=warn",
            ],
            ports["etcd"],
        )
        _wait(etcd, f"healthy at {etcd_url}/health", deadline, lambda: _etcd_healthy(etcd_url))

        say(f"starting kube-apiserver on {self.server}")
        self._start_apiserver([], deadline)
        self._start_controllers(deadline, say)

        say(f"creating {self.nodes} KWOK nodes and waiting until they are Ready")
        for index in range(self.nodes):
            status, body = self.api("POST", "/api/v1/nodes", _node(f"kwok-node-{index}"))
            if status not in (201, 409):
                raise ClusterError(f"creating node kwok-node-{index} failed: {status} {body}")
        self._wait_settled(deadline)

    def _start_controllers(self, deadline: float, say: Say) -> None:
        """Controller manager, scheduler and KWOK; returns once the first two answer /healthz."""
        ports = self._state()["ports"]
        for name, identity in (
            ("kube-controller-manager", CONTROLLER_MANAGER),
            ("kube-scheduler", SCHEDULER),
        ):
            kubeconfig = self.pki / f"{identity.name}.kubeconfig"
            argv = [
                self._bin(name),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={ports[name]}",
                f"--cert-dir={self.pki / name}",
                "--leader-elect=false",
            ]
            if name == "kube-controller-manager":
                argv += [
                    "--use-service-account-credentials=true",
                    f"--service-account-private-key-file={self.pki / 'sa.key'}",
                    f"--root-ca-file={self.ca_file}",
                    f"--cluster-signing-cert-file={self.ca_file}",
                    f"--cluster-signing-key-file={self.pki / 'ca.key'}",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                ]
            say(f"starting {name}")
            self._launch(name, argv, ports[name])

        say("starting kwok")
        self._launch(
            "kwok",
            [
                self._bin("kwok"),
                f"--kubeconfig={self.kubeconfig}",
                f"--config={pins.stages_file()}",
                *(f"--config={path}" for path in sorted(PROJECT_STAGES.glob("*.yaml"))),
                f"--manage-nodes-with-annotation-selector={NODE_ANNOTATION}=fake",
                "--node-lease-duration-seconds=40",
                f"--cidr={POD_CIDR}",
                "--node-ip=127.0.0.1",
            ],
            None,
        )
        procs = self._procs()
        for name in ("kube-controller-manager", "kube-scheduler"):
            url = f"https://127.0.0.1:{ports[name]}/healthz"
            _wait(procs[name], f"healthy at {url}", deadline, functools.partial(_healthz, url))

    def _wait_settled(self, deadline: float) -> None:
        """Nodes Ready without the not-ready taint, and ServiceAccount default/default present."""
        _wait(
            self._procs()["kwok"],
            "marking the nodes Ready (and KCM removing the not-ready taint)",
            deadline,
            self._nodes_ready,
        )
        controller_manager = self._procs()["kube-controller-manager"]
        _wait(
            controller_manager,
            "creating ServiceAccount default/default",
            deadline,
            lambda: self.api("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200,
        )
        for proc in self._procs().values():
            if not proc.alive():
                raise failure(proc, "exited during start-up")

    def _apiserver_argv(self, extra_args: list[str]) -> list[str]:
        port = self._port("kube-apiserver")
        return [
            self._bin("kube-apiserver"),
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={self.pki / 'kube-apiserver'}",
            f"--tls-cert-file={self.pki / 'apiserver.crt'}",
            f"--tls-private-key-file={self.pki / 'apiserver.key'}",
            f"--client-ca-file={self.ca_file}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={self.pki / 'sa.pub'}",
            f"--service-account-signing-key-file={self.pki / 'sa.key'}",
            "--authorization-mode=Node,RBAC",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true",
            f"--requestheader-client-ca-file={self.ca_file}",
            f"--requestheader-allowed-names={FRONT_PROXY.user}",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={self.pki / (FRONT_PROXY.name + '.crt')}",
            f"--proxy-client-key-file={self.pki / (FRONT_PROXY.name + '.key')}",
            # how `kubectl logs/exec` reach a real node's kubelet (which trusts this CA's client certificates)
            f"--kubelet-client-certificate={self.client_cert}",
            f"--kubelet-client-key={self.client_key}",
            "--kubelet-preferred-address-types=InternalIP",
            # the loopback advertise address would fail Endpoints validation of `kubernetes`
            "--endpoint-reconciler-type=none",
            *extra_args,
        ]

    def _start_apiserver(self, extra_args: list[str], deadline: float) -> None:
        proc = self._launch("kube-apiserver", self._apiserver_argv(extra_args), self._port("kube-apiserver"))
        _wait(
            proc,
            f"ready at {self.server}/readyz",
            deadline,
            lambda: self.api("GET", "/readyz", timeout=3)[0] == 200,
        )

    def _nodes_ready(self) -> bool:
        status, body = self.api("GET", "/api/v1/nodes")
        if status != 200:
            return False
        ready = 0
        for node in body.get("items", []):
            if node["metadata"].get("annotations", {}).get(NODE_ANNOTATION) != "fake":
                continue
            conditions = {c["type"]: c["status"] for c in node.get("status", {}).get("conditions", [])}
            taints = {t["key"] for t in node.get("spec", {}).get("taints", [])}
            if conditions.get("Ready") == "True" and NOT_READY_TAINT not in taints:
                ready += 1
        return ready >= self.nodes


def _node(name: str) -> dict[str, Any]:
    resources = {"cpu": "32", "memory": "256Gi", "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/os": "linux",
                "kubernetes.io/hostname": name,
                "node-role.kubernetes.io/agent": "",
                "type": "kwok",
            },
        },
        "status": {
            "allocatable": resources,
            "capacity": resources,
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": pins.K8S_VERSION,
                "kubeProxyVersion": pins.K8S_VERSION,
            },
            "phase": "Running",
        },
    }


def _send(request: urllib.request.Request, context: ssl.SSLContext | None, timeout: float) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
            status, raw = int(response.status), response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        raise ClusterError(f"{request.full_url}: {error}") from error
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def _etcd_healthy(url: str) -> bool:
    try:
        status, body = _send(urllib.request.Request(url + "/health"), None, 2)
    except ClusterError:
        return False
    return status == 200 and isinstance(body, dict) and body.get("health") == "true"


def _healthz(url: str) -> bool:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the component's self-signed serving cert; only liveness matters
    try:
        return _send(urllib.request.Request(url), context, 2)[0] == 200
    except ClusterError:
        return False


def _wait(proc: Proc, what: str, deadline: float, check: Callable[[], bool]) -> None:
    """Poll ``check`` until it holds; fail early, with the log, if the process exits."""
    while True:
        if not proc.alive():
            raise failure(proc, f"exited before {what}")
        try:
            if check():
                return
        except ClusterError:
            pass
        if time.monotonic() > deadline:
            raise failure(proc, f"timed out waiting until {what}")
        time.sleep(0.2)
