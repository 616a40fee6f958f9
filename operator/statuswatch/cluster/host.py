"""What the real node changes on the host, recorded before and undone after: the one place that touches it.

A kubelet, containerd and the CNI plugins change the machine they run on: the kubelet writes six kernel
sysctls (``protectKernelDefaults: false``) and may add iptables chains, bind-mounts its root directory onto
itself, creates cgroups and ``/var/log/containers``; containerd mounts overlay root filesystems and network
namespaces; the CNI plugins add veth pairs and keep files under ``/var/lib/cni``. The node's own interfaces
(one for the node address, a bridge for the pods) are made here. :func:`prepare` records
the host as it was (``/run/statuswatch-node/host.json``) and :func:`restore` puts it back from that record,
idempotently, even when the processes have crashed or the cluster directory is gone.

Everything the real node owns carries a ``statuswatch`` prefix; fixed system paths that the components
create on their own are removed only if they did not exist before. :func:`snapshot` is the observable
host state that tests compare before ``up`` and after ``down``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from statuswatch.cluster.errors import ClusterError

__all__ = [
    "BRIDGE",
    "BRIDGE_ADDRESS",
    "CGROUP_PARENT",
    "DUMMY",
    "FIXED_PATHS",
    "NODE_ADDRESS",
    "POD_SUBNET",
    "RUN_DIR",
    "SYSCTLS",
    "cgroup_controllers",
    "owner",
    "prepare",
    "restore",
    "snapshot",
]

# Host-wide: one real node per machine, whatever cluster directory it belongs to.
RUN_DIR = Path("/run/statuswatch-node")
_RECORD = RUN_DIR / "host.json"
DUMMY = "statuswatch-n0"  # carries the node's address (a bridge without ports: see prepare)
BRIDGE = "statuswatch-br0"  # the pods' network
NODE_ADDRESS = "10.213.0.1"
POD_SUBNET = "10.213.1.0/24"
BRIDGE_ADDRESS = "10.213.1.1"
_PREFIX = 24
CGROUP_PARENT = "statuswatch"  # the kubelet's cgroupRoot: /sys/fs/cgroup/<controller>/statuswatch
_CGROUP_ROOT = Path("/sys/fs/cgroup")

# What the kubelet sets when it may (setupKernelTunables), and the forwarding switches CNI plugins flip.
SYSCTLS = (
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.forwarding",
    "net.ipv6.conf.all.forwarding",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
)
# Fixed paths a kubelet, containerd or the CNI plugins may create whatever they are configured with.
FIXED_PATHS = (
    "/var/log/containers",
    "/var/log/pods",
    "/var/lib/cni",
    "/var/lib/kubelet",
    "/var/lib/containerd",
    "/var/run/netns",
    "/run/netns",
    "/run/containerd",
    "/var/run/nri",
    "/var/run/cdi",
    "/etc/cdi",
    "/etc/cni",
    "/opt/cni",
    "/opt/containerd",
    "/etc/kubernetes",
    "/run/runc",
)
_TABLES = ("filter", "nat", "mangle")


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise ClusterError(f"`{' '.join(argv)}` failed ({result.returncode}): {result.stderr.strip()}")
    return result


def _ip() -> str:
    ip = shutil.which("ip") or ("/usr/sbin/ip" if Path("/usr/sbin/ip").is_file() else None)
    if ip is None:
        raise ClusterError("the `ip` command (iproute2) is needed for the real node's interfaces")
    return ip


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def _read_sysctls() -> dict[str, str]:
    values = {}
    for name in SYSCTLS:
        with contextlib.suppress(OSError):
            values[name] = _sysctl_path(name).read_text().strip()
    return values


def cgroup_controllers() -> list[Path]:
    """The cgroup v1 hierarchies (one directory per mounted controller set), or the v2 root."""
    if (_CGROUP_ROOT / "cgroup.controllers").is_file():
        return [_CGROUP_ROOT]
    return sorted(
        path
        for path in _CGROUP_ROOT.iterdir()
        if path.is_dir() and not path.is_symlink() and (path / "cgroup.procs").is_file()
    )


def _iptables_chains() -> dict[str, list[str]]:
    """``{"iptables:filter": [chains...], ...}`` for the iptables commands present (none: empty)."""
    chains: dict[str, list[str]] = {}
    for command in ("iptables", "ip6tables"):
        binary = shutil.which(command)
        if binary is None:
            continue
        for table in _TABLES:
            result = _run(binary, "-w", "-t", table, "-S", check=False)
            if result.returncode == 0:
                chains[f"{command}:{table}"] = sorted(
                    line.split()[1] for line in result.stdout.splitlines() if line.startswith(("-N ", "-P "))
                )
    return chains


def _mounts() -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if len(fields) > 4:
            points.append(fields[4].replace("\\040", " "))
    return points


def snapshot() -> dict[str, Any]:
    """The host state the real node may touch, for a before/after comparison."""
    ip = _ip()
    cgroups = {}
    for hierarchy in cgroup_controllers():
        with contextlib.suppress(OSError):
            cgroups[hierarchy.name] = sorted(p.name for p in hierarchy.iterdir() if p.is_dir())
    processes = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                name = (proc / "comm").read_text().strip()
                exited = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
                ours = name in {"kubelet", "containerd", "pause"} or name.startswith("containerd-shim")
                if ours and not exited:
                    processes.append(name)
    return {
        "links": sorted(_run(ip, "-o", "link", "show").stdout.split("\n"), key=str),
        "addresses": sorted(_run(ip, "-o", "addr", "show").stdout.splitlines()),
        "routes": sorted(_run(ip, "route", "show", "table", "all").stdout.splitlines()),
        "netns": sorted(_run(ip, "netns", "list", check=False).stdout.splitlines()),
        "mounts": sorted(_mounts()),
        "sysctls": _read_sysctls(),
        "iptables": _iptables_chains(),
        "cgroups": cgroups,
        "paths": {path: os.path.lexists(path) for path in (*FIXED_PATHS, str(RUN_DIR))},
        "processes": sorted(processes),
    }


def owner() -> str | None:
    """The cluster directory whose real node holds this host, if one does."""
    try:
        record = json.loads(_RECORD.read_text())
    except (OSError, ValueError):
        return None
    value = record.get("owner") if isinstance(record, dict) else None
    return value if isinstance(value, str) else None


def _link_exists(name: str) -> bool:
    return _run(_ip(), "link", "show", "dev", name, check=False).returncode == 0


def _overlapping_route() -> str | None:
    """A route of this machine (not ours) into 10.213.0.0/16, which the node's addresses would shadow."""
    for line in _run(_ip(), "route", "show").stdout.splitlines():
        if line.startswith("10.213.") and DUMMY not in line and BRIDGE not in line:
            return line
    return None


def prepare(cluster_dir: Path) -> None:
    """Record the host as it is (once), then create the node's interfaces, cgroup parent and /run dir."""
    current = owner()
    if current is not None and current != str(cluster_dir):
        raise ClusterError(
            f"this machine's real node belongs to the cluster in {current}; stop it first "
            f"(`statuswatch cluster down --dir {current}`)"
        )
    if current is None:
        clash = _overlapping_route()
        if clash:
            raise ClusterError(
                f"the real node's network 10.213.0.0/16 overlaps this machine's route {clash!r}"
            )
        RUN_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        record = {
            "owner": str(cluster_dir),
            "sysctls": _read_sysctls(),
            "iptables": _iptables_chains(),
            "paths": {path: os.path.lexists(path) for path in FIXED_PATHS},
            "cgroups": [
                str(h / CGROUP_PARENT) for h in cgroup_controllers() if not (h / CGROUP_PARENT).exists()
            ],
        }
        tmp = _RECORD.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        tmp.replace(_RECORD)
    ip = _ip()
    if not _link_exists(DUMMY):
        # A bridge without ports stands in for a dummy interface: kernels without the dummy driver (this
        # machine's) still have bridges, and a local address needs no carrier.
        _run(ip, "link", "add", DUMMY, "type", "bridge")
    _run(ip, "addr", "replace", f"{NODE_ADDRESS}/32", "dev", DUMMY)
    _run(ip, "link", "set", DUMMY, "up")
    if not _link_exists(BRIDGE):
        _run(ip, "link", "add", BRIDGE, "type", "bridge")
    _run(ip, "addr", "replace", f"{BRIDGE_ADDRESS}/{_PREFIX}", "dev", BRIDGE)
    _run(ip, "link", "set", BRIDGE, "up")
    _make_cgroup_parent()


def _make_cgroup_parent() -> None:
    """The kubelet refuses a cgroupRoot that does not exist; a new v1 cpuset needs its cpus and mems."""
    for hierarchy in cgroup_controllers():
        parent = hierarchy / CGROUP_PARENT
        parent.mkdir(exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):
            if (parent / name).is_file() and not (parent / name).read_text().strip():
                (parent / name).write_text((hierarchy / name).read_text())


def _pids_under(directory: Path) -> set[int]:
    pids: set[int] = set()
    for procs in directory.rglob("cgroup.procs"):
        with contextlib.suppress(OSError, ValueError):
            pids |= {int(line) for line in procs.read_text().split()}
    return pids


def _kill_cgroup_processes(timeout: float = 10.0) -> None:
    """SIGKILL every process left in the node's cgroups (containers whose shim is gone) until none are."""
    deadline = time.monotonic() + timeout
    while True:
        pids = set().union(
            *(_pids_under(h / CGROUP_PARENT) for h in cgroup_controllers() if (h / CGROUP_PARENT).is_dir())
        )
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise ClusterError(f"processes {sorted(pids)} in the real node's cgroups survived SIGKILL")
        time.sleep(0.1)


def _unmount_under(*roots: Path) -> None:
    """Detach every mount at or below ``roots``, deepest first (overlays, netns, tmpfs, the rshared bind)."""
    prefixes = [str(root.absolute()).rstrip("/") for root in roots]
    for _ in range(5):
        points = [
            point for point in _mounts() if any(point == p or point.startswith(p + "/") for p in prefixes)
        ]
        if not points:
            return
        for point in sorted(set(points), key=len, reverse=True):
            _run("umount", "-l", point, check=False)
    raise ClusterError(f"could not unmount {points}")


def _remove_cgroups() -> None:
    for hierarchy in cgroup_controllers():
        parent = hierarchy / CGROUP_PARENT
        if not parent.is_dir():
            continue
        directories = sorted((p for p in parent.rglob("*") if p.is_dir()), key=lambda p: len(p.parts))
        for directory in [*reversed(directories), parent]:
            for _ in range(50):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY while the kernel finishes tearing a killed task down
                    time.sleep(0.1)


def _remove_links() -> None:
    ip = _ip()
    if _link_exists(BRIDGE):
        ports = _run(ip, "-o", "link", "show", "master", BRIDGE, check=False).stdout.splitlines()
        for line in ports:
            name = line.split(":", 2)[1].strip().split("@", 1)[0]
            _run(ip, "link", "delete", name, check=False)
    for name in (BRIDGE, DUMMY):
        if _link_exists(name):
            _run(ip, "link", "delete", name)


def _restore_iptables(before: dict[str, list[str]]) -> None:
    for key, chains in _iptables_chains().items():
        command, table = key.split(":")
        binary = shutil.which(command)
        if binary is None:
            continue
        added = [chain for chain in chains if chain not in set(before.get(key, []))]
        for chain in added:  # flush all first: chains may jump to each other
            _run(binary, "-w", "-t", table, "-F", chain, check=False)
        for chain in added:
            rules = _run(binary, "-w", "-t", table, "-S", check=False).stdout.splitlines()
            for rule in rules:
                if rule.startswith("-A ") and f" -j {chain}" in rule:
                    _run(binary, "-w", "-t", table, "-D", *rule.split()[1:], check=False)
            _run(binary, "-w", "-t", table, "-X", chain, check=False)


def restore() -> list[str]:
    """Undo what :func:`prepare` recorded and the components changed; returns what was left over.

    The caller stops the kubelet, the containers, the shims and containerd first. Safe to call again,
    and without a record (then only the node's own interfaces, cgroups, mounts and /run dir go).
    """
    try:
        record = json.loads(_RECORD.read_text())
    except (OSError, ValueError):
        record = {}
    _kill_cgroup_processes()
    _unmount_under(RUN_DIR)
    _remove_cgroups()
    _remove_links()
    for name, value in (record.get("sysctls") or {}).items():
        path = _sysctl_path(name)
        with contextlib.suppress(OSError):
            if path.read_text().strip() != value:
                path.write_text(value)
    _restore_iptables(record.get("iptables") or {})
    containers = Path("/var/log/containers")  # the kubelet's links to the pod logs, a fixed path
    if containers.is_dir():
        for link in containers.iterdir():
            if link.is_symlink() and os.readlink(link).startswith(str(RUN_DIR) + "/"):
                link.unlink()
    for path, existed in (record.get("paths") or {}).items():
        if not existed and os.path.lexists(path):
            if os.path.isdir(path) and not os.path.islink(path):
                _unmount_under(Path(path))
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    left = []
    if RUN_DIR.exists():
        left.append(str(RUN_DIR))
    left += [name for name in (BRIDGE, DUMMY) if _link_exists(name)]
    left += [str(h / CGROUP_PARENT) for h in cgroup_controllers() if (h / CGROUP_PARENT).exists()]
    return left
