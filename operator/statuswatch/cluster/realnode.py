"""``RealNode``: a kubelet and containerd joined to the local control plane, so containers really run.

KWOK nodes only pretend: their pods' reasons (ImagePullBackOff, CrashLoopBackOff, ...) are what its
stages were told to say. The real node is a kubelet (built from the same Kubernetes release as the
control plane) on containerd v2 with Debian's runc and CNI plugins, on this machine's cgroups. One per
cluster, each in a slot of the host (its runtime state under ``/run/statuswatch-nodes/<slot>``; see
:mod:`.host`, which records and undoes what the nodes change on the host); configuration and logs stay in
the cluster directory.

Choices that this machine dictates, each checked by running it here:
- cgroup v1: the kubelet needs ``failCgroupV1: false``;
- root lacks CAP_SYS_RESOURCE, so containerd clamps oom_score_adj (``restrict_oom_score_adj``) and the
  kubelet keeps its own at 0 (it cannot lower it to -999);
- no registry is reachable: the images are built here (:mod:`.images`) and imported with ``ctr``; the
  sandbox image is pinned so neither containerd nor the kubelet's image GC touch it;
- no traffic may leave the machine: the node's address sits on an interface of its own, the pods on a
  bridge without a default route or masquerading, and ip forwarding stays as it was.

The node is labelled ``statuswatch.io/real-node=true`` and tainted ``statuswatch.io/real-node=true:
NoSchedule``, so only workloads that ask for it (node selector plus toleration, :func:`pod_placement`)
land there; KWOK manages only nodes annotated ``kwok.x-k8s.io/node=fake`` and leaves it alone.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from statuswatch.cluster import host, images, pins
from statuswatch.cluster.errors import ClusterError
from statuswatch.cluster.pki import NODE
from statuswatch.cluster.process import Proc, failure, start, stop

if TYPE_CHECKING:
    from statuswatch.cluster.local import LocalCluster

__all__ = [
    "NODE_LABEL",
    "NODE_NAME",
    "NODE_TAINT",
    "RealNode",
    "host_missing",
    "on_real_node",
    "pod_placement",
]

NODE_NAME = "statuswatch-real-node"
NODE_LABEL = "statuswatch.io/real-node"
NODE_TAINT = {"key": NODE_LABEL, "value": "true", "effect": "NoSchedule"}
_RUNC = ("/usr/sbin/runc", "/usr/bin/runc")
_CNI_BIN = Path("/usr/lib/cni")
_BUSYBOX = Path("/bin/busybox")
_NAMESPACE = "k8s.io"  # the containerd namespace the CRI plugin works in


def pod_placement() -> dict[str, Any]:
    """The pod spec fields that put a pod on the real node (and only there)."""
    return {
        "nodeSelector": {NODE_LABEL: "true"},
        "tolerations": [{"key": NODE_LABEL, "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
    }


# What each sample container does on the real node instead (the samples name public images and servers).
_STAND_INS = {
    "web": 'mkdir -p /www && echo "$GREETING" > /www/index.html && exec httpd -f -p 80 -h /www',
    "postgres": "exec sleep 2147483647",
}


def on_real_node(document: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a workload manifest that runs on the real node: the local busybox image, each container's
    command a stand-in with the same ports (``httpd`` for a web server, ``sleep`` for others), placed there.
    Other documents come back unchanged."""
    copy: dict[str, Any] = json.loads(json.dumps(document))
    template = (copy.get("spec") or {}).get("template")
    if copy.get("kind") not in {"Deployment", "StatefulSet", "DaemonSet", "Job"} or not template:
        return copy
    spec = template.setdefault("spec", {})
    spec.update(pod_placement())
    spec.setdefault("terminationGracePeriodSeconds", 2)
    for entry in spec.get("containers") or []:
        entry["image"] = images.BUSYBOX_IMAGE
        if "command" not in entry:
            entry["command"] = ["sh", "-c", _STAND_INS.get(entry.get("name", ""), "exec sleep 2147483647")]
    return copy


def _runc() -> str | None:
    return next((path for path in _RUNC if Path(path).is_file()), None)


def host_missing() -> list[str]:
    """What this machine lacks for a real node (empty when it has everything), with how to get it."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (the kubelet and containerd manage cgroups, mounts and interfaces)")
    if _runc() is None:
        missing.append("runc (apt-get install runc)")
    for plugin in ("bridge", "host-local", "loopback"):
        if not (_CNI_BIN / plugin).is_file():
            missing.append(f"{_CNI_BIN / plugin} (apt-get install containernetworking-plugins)")
    if not _BUSYBOX.is_file():
        missing.append(f"{_BUSYBOX} (apt-get install busybox-static)")
    if shutil.which("ip") is None and not Path("/usr/sbin/ip").is_file():
        missing.append("ip (apt-get install iproute2)")
    if shutil.which("mount") is None:
        missing.append("mount/umount (apt-get install mount)")
    if "overlay" not in Path("/proc/filesystems").read_text():
        missing.append("the overlay filesystem (containerd's overlayfs snapshotter)")
    return missing


class RealNode:
    """The real node of ``cluster``: ``up()`` (idempotent, returns once the Node is Ready), ``down()``."""

    def __init__(self, cluster: LocalCluster, *, node_bin_dir: Path | None = None) -> None:
        self.cluster = cluster
        self.bin_dir = Path(node_bin_dir or pins.node_bin_dir()).absolute()
        self.directory = cluster.directory / "node"  # configuration; runtime state is in its slot's run_dir
        self.logs = cluster.logs
        self._state_file = self.directory / "state.json"
        self._slot = host.slot_of(cluster.directory)

    # -- recorded processes ---------------------------------------------------------------------

    def _procs(self) -> dict[str, Proc]:
        try:
            raw = json.loads(self._state_file.read_text())
        except (OSError, ValueError):
            return {}
        return {name: Proc(**value) for name, value in raw.items()} if isinstance(raw, dict) else {}

    def _save(self, procs: dict[str, Proc]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({name: vars(proc) for name, proc in procs.items()}, indent=2) + "\n")
        tmp.replace(self._state_file)

    def running(self) -> dict[str, Proc]:
        return {name: proc for name, proc in self._procs().items() if proc.alive()}

    def is_up(self) -> bool:
        """containerd and the kubelet run, this cluster owns the host's node, and the Node is Ready."""
        if set(self.running()) != {"containerd", "kubelet"} or host.slot_of(self.cluster.directory) is None:
            return False
        try:
            return self._ready()
        except ClusterError:
            return False

    # -- lifecycle ------------------------------------------------------------------------------

    def up(self, timeout: float = 180, say: Any = None) -> None:
        """Start containerd and the kubelet (the control plane must be up); idempotent."""
        tell = say or (lambda _: None)
        if self.is_up():
            tell(f"real node {NODE_NAME} already Ready")
            return
        missing = host_missing()
        if missing:
            raise ClusterError("this machine cannot run the real node; it lacks: " + "; ".join(missing))
        absent = [name for name in pins.NODE_BINARIES if not (self.bin_dir / name).is_file()]
        if absent:
            raise ClusterError(
                f"missing {absent} in {self.bin_dir}; run `statuswatch cluster build --real-node`"
            )
        deadline = time.monotonic() + timeout
        self.down()  # a half-started node (something crashed) starts over
        try:
            self.slot = host.acquire(self.cluster.directory)
            self._write_files()
            tell(f"starting containerd ({self.slot.containerd_socket})")
            self._start_containerd(deadline)
            tell(f"importing {images.PAUSE_IMAGE}, {images.BUSYBOX_IMAGE} and {images.BUSYBOX_IMAGE_V2}")
            self._import_images()
            tell(f"starting the kubelet of node {NODE_NAME} ({self.slot.node_address})")
            self._start_kubelet()
            self._wait_ready(deadline)
        except BaseException:
            self.down()
            raise
        tell(f"real node {NODE_NAME} Ready (label {NODE_LABEL}=true, pods on {self.slot.pod_subnet})")

    def down(self) -> None:
        """Stop the kubelet and containerd, remove the containers, and restore the host; idempotent."""
        procs = self._procs()
        # containerd before the containers: once it is gone, nothing starts a shim (or a container) again
        for name in ("kubelet", "containerd"):
            if name in procs:
                stop(procs[name])
        if procs:
            self._save({})
        if host.slot_of(self.cluster.directory) is None and not procs:
            return  # no real node here (the usual case): nothing on the host to undo
        left = host.release(self.cluster.directory)
        if left:
            raise ClusterError(f"the real node's teardown left {left} behind")

    # -- configuration --------------------------------------------------------------------------

    @property
    def slot(self) -> host.Slot:
        if self._slot is None:
            raise ClusterError(f"the real node of {self.cluster.directory} holds no slot on this machine")
        return self._slot

    @slot.setter
    def slot(self, value: host.Slot) -> None:
        self._slot = value

    def _write_files(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "containerd.toml").write_text(self._containerd_config())
        cni = self.directory / "cni"
        cni.mkdir(exist_ok=True)
        (cni / "10-statuswatch.conflist").write_text(json.dumps(self._cni_config(), indent=2) + "\n")
        (self.directory / "kubelet.yaml").write_text(yaml.safe_dump(self._kubelet_config(), sort_keys=False))
        (self.directory / "resolv.conf").write_text(f"nameserver {self.slot.bridge_address}\n")
        self._write_kubeconfig(self.directory / "kubelet.kubeconfig")

    def _containerd_config(self) -> str:
        run = self.slot.run_dir
        socket = self.slot.containerd_socket
        runc = _runc()
        return f"""\
# Written by statuswatch (cluster/realnode.py) for the real node; regenerated at every `up`.
version = 4
root = "{run}/containerd/root"
state = "{run}/containerd/state"
imports = []
disabled_plugins = [
  "io.containerd.nri.v1.nri",
  "io.containerd.image-verifier.v1.bindir",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs",
]

[debug]
  level = "info"

[plugins]
  [plugins.'io.containerd.server.v1.grpc']
    address = "{socket}"

  [plugins.'io.containerd.server.v1.ttrpc']
    address = "{socket}.ttrpc"

  [plugins.'io.containerd.internal.v1.opt']
    path = "{run}/containerd/opt"

  [plugins.'io.containerd.grpc.v1.cri']
    disable_tcp_service = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"

  [plugins.'io.containerd.cri.v1.images']
    snapshotter = "overlayfs"

    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = "{images.PAUSE_IMAGE}"

  [plugins.'io.containerd.cri.v1.runtime']
    cdi_spec_dirs = []
    # root here lacks CAP_SYS_RESOURCE: never ask runc for an oom_score_adj below containerd's own
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true

    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ["{_CNI_BIN}"]
      conf_dir = "{self.directory / "cni"}"
      max_conf_num = 1

    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = "runc"

      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"

        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = "{runc}"
          Root = "{self.slot.runc_root}"
          SystemdCgroup = false
"""

    def _cni_config(self) -> dict[str, Any]:
        """A bridge without default route, masquerading or forwarding: pods reach the host and each other."""
        return {
            "cniVersion": "1.0.0",
            "name": "statuswatch",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": self.slot.bridge,
                    "isGateway": False,
                    "isDefaultGateway": False,
                    "ipMasq": False,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": self.slot.pod_subnet, "gateway": self.slot.bridge_address}]],
                        "dataDir": str(self.slot.run_dir / "cni" / "ipam"),
                    },
                }
            ],
        }

    def _kubelet_config(self) -> dict[str, Any]:
        return {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            # this machine has cgroup v1, which kubelet 1.35+ refuses unless told otherwise
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": f"/{self.slot.cgroup_parent}",
            "containerRuntimeEndpoint": f"unix://{self.slot.containerd_socket}",
            "imageServiceEndpoint": f"unix://{self.slot.containerd_socket}",
            "address": self.slot.node_address,
            "port": 10250,
            "readOnlyPort": 0,
            "healthzPort": 0,
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": False},
                "x509": {"clientCAFile": str(self.cluster.ca_file)},
            },
            "authorization": {"mode": "AlwaysAllow"},
            "registerNode": True,
            "registerWithTaints": [NODE_TAINT],
            "podLogsDir": str(self.slot.run_dir / "pod-logs"),
            "resolvConf": str(self.directory / "resolv.conf"),
            "clusterDomain": "cluster.local",
            # no DNS server runs: the bridge's host address answers nothing, and nothing leaves the machine
            # (without it the kubelet warns MissingClusterDNS on every pod)
            "clusterDNS": [self.slot.bridge_address],
            "oomScoreAdj": 0,  # the default -999 needs CAP_SYS_RESOURCE
            "protectKernelDefaults": False,
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "evictionHard": {
                "memory.available": "100Mi",
                "nodefs.available": "1%",
                "imagefs.available": "1%",
            },
            "maxPods": 50,
            "serializeImagePulls": False,
            "shutdownGracePeriod": "0s",
            "nodeStatusUpdateFrequency": "5s",
            "staticPodPath": "",
            "rotateCertificates": False,
            "serverTLSBootstrap": False,
        }

    def _write_kubeconfig(self, path: Path) -> None:
        def data(file: Path) -> str:
            return base64.b64encode(file.read_bytes()).decode()

        pki = self.cluster.pki
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "statuswatch-local",
                    "cluster": {
                        "server": self.cluster.server,
                        "certificate-authority-data": data(pki / "ca.crt"),
                    },
                }
            ],
            "users": [
                {
                    "name": NODE.user,
                    "user": {
                        "client-certificate-data": data(pki / f"{NODE.name}.crt"),
                        "client-key-data": data(pki / f"{NODE.name}.key"),
                    },
                }
            ],
            "contexts": [{"name": "node", "context": {"cluster": "statuswatch-local", "user": NODE.user}}],
            "current-context": "node",
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)

    # -- processes ------------------------------------------------------------------------------

    def _launch(self, name: str, argv: list[str]) -> Proc:
        proc = start(name, argv, self.logs / f"{name}.log", self.directory)
        procs = self._procs()
        procs[name] = proc
        self._save(procs)
        host.record_processes(self.slot, {n: (p.pid, p.argv[0]) for n, p in procs.items()})
        return proc

    def _ctr(
        self, *args: str, input: bytes | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[bytes]:
        socket = str(self.slot.containerd_socket)
        argv = [str(self.bin_dir / "ctr"), "--address", socket, "--namespace", _NAMESPACE, *args]
        result = subprocess.run(argv, input=input, capture_output=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise ClusterError(
                f"ctr {' '.join(args)} failed: {result.stderr.decode(errors='replace').strip()}"
            )
        return result

    def _start_containerd(self, deadline: float) -> None:
        proc = self._launch(
            "containerd",
            [str(self.bin_dir / "containerd"), "--config", str(self.directory / "containerd.toml")],
        )
        while True:
            if not proc.alive():
                raise failure(proc, "exited during start-up")
            if self.slot.containerd_socket.exists():
                with contextlib.suppress(ClusterError, subprocess.TimeoutExpired):
                    self._ctr("version", timeout=5)
                    return
            if time.monotonic() > deadline:
                raise failure(proc, f"timed out waiting for {self.slot.containerd_socket}")
            time.sleep(0.2)

    def _import_images(self) -> None:
        pause = pins.node_bin_dir() / "pause"
        archive = images.oci_archive([images.pause_image(pause), *images.busybox_images(_BUSYBOX)])
        path = self.slot.run_dir / "images.tar"
        path.write_bytes(archive)
        try:
            self._ctr("images", "import", "--snapshotter", "overlayfs", str(path), timeout=120)
        finally:
            path.unlink(missing_ok=True)
        listed = self._ctr("images", "list", "-q").stdout.decode().split()
        wanted = [images.PAUSE_IMAGE, images.BUSYBOX_IMAGE, images.BUSYBOX_IMAGE_V2]
        absent = [name for name in wanted if name not in listed]
        if absent:
            raise ClusterError(f"containerd does not list {absent} after the import (it lists {listed})")

    def _start_kubelet(self) -> None:
        self._launch(
            "kubelet",
            [
                str(self.bin_dir / "kubelet"),
                f"--config={self.directory / 'kubelet.yaml'}",
                f"--kubeconfig={self.directory / 'kubelet.kubeconfig'}",
                f"--root-dir={self.slot.run_dir / 'kubelet'}",
                f"--cert-dir={self.slot.run_dir / 'kubelet' / 'pki'}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={self.slot.node_address}",
                f"--node-labels={NODE_LABEL}=true",
                "--v=2",
            ],
        )

    def _ready(self) -> bool:
        status, body = self.cluster.api("GET", f"/api/v1/nodes/{NODE_NAME}")
        if status != 200:
            return False
        conditions = {c["type"]: c["status"] for c in body.get("status", {}).get("conditions", [])}
        taints = {t["key"] for t in body.get("spec", {}).get("taints") or []}
        return conditions.get("Ready") == "True" and "node.kubernetes.io/not-ready" not in taints

    def _wait_ready(self, deadline: float) -> None:
        while True:
            for proc in self._procs().values():
                if not proc.alive():
                    raise failure(proc, f"exited before node {NODE_NAME} became Ready")
            with contextlib.suppress(ClusterError):
                if self._ready():
                    return
            if time.monotonic() > deadline:
                raise failure(self._procs()["kubelet"], f"timed out waiting for node {NODE_NAME} to be Ready")
            time.sleep(0.5)
