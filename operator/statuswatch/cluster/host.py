"""What the real node changes on the host, recorded before and undone after: the one place that touches it.

A kubelet, containerd and the CNI plugins change the machine they run on: the kubelet writes six kernel
sysctls (``protectKernelDefaults: false``) and may add iptables chains, bind-mounts its root directory onto
itself, creates cgroups and ``/var/log/containers``; containerd mounts overlay root filesystems and network
namespaces; the CNI plugins add veth pairs and keep files under ``/var/lib/cni``. The node's own interfaces
(one for the node address, a bridge for the pods) are made here.

Each cluster's node gets a :class:`Slot` (its own interfaces, 10.213.2i.1 and 10.213.(2i+1).0/24, cgroup
parent and ``/run/statuswatch-nodes/<i>``), so test sessions of several worktrees can run real nodes side by
side. :func:`acquire` takes a slot; the first holder records the state all nodes share (sysctls, iptables
chains, which fixed paths existed) in ``/run/statuswatch-nodes/host.json``. :func:`release` undoes the slot
and, for the last holder, the shared state; idempotent, and a slot whose holder died without ``down`` is
reclaimed (cleaned up) by the next ``acquire``.

Everything the real node owns carries a ``statuswatch`` prefix; fixed system paths that the components
create on their own are removed only if they did not exist before. :func:`snapshot` is the observable
host state that tests compare before ``up`` and after ``down``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from statuswatch.cluster.errors import ClusterError
from statuswatch.cluster.process import pid_runs

__all__ = [
    "BASE_DIR",
    "FIXED_PATHS",
    "MAX_SLOTS",
    "SYSCTLS",
    "Slot",
    "acquire",
    "cgroup_controllers",
    "holders",
    "record_processes",
    "release",
    "slot_of",
    "snapshot",
]

# Host-wide state of all real nodes on this machine; each node has a slot of its own (one per cluster).
BASE_DIR = Path("/run/statuswatch-nodes")
_RECORD = BASE_DIR / "host.json"
MAX_SLOTS = 8  # slots 1..8 (the first version used the names of a slot 0 alone)
_PREFIX = 24  # of each pod subnet
_STARTING_GRACE = 600.0  # a holder that has recorded no process yet counts as starting for this long
_CGROUP_ROOT = Path("/sys/fs/cgroup")
_RUNC = ("/usr/sbin/runc", "/usr/bin/runc")


@dataclass(frozen=True)
class Slot:
    """One real node's share of the host: its interfaces, addresses, cgroup parent and /run directory."""

    index: int

    @property
    def dummy(self) -> str:
        """Carries the node's address (a bridge without ports: see :func:`acquire`)."""
        return f"statuswatch-n{self.index}"

    @property
    def bridge(self) -> str:
        return f"statuswatch-br{self.index}"

    @property
    def node_address(self) -> str:
        return f"10.213.{2 * self.index}.1"

    @property
    def pod_subnet(self) -> str:
        return f"10.213.{2 * self.index + 1}.0/24"

    @property
    def bridge_address(self) -> str:
        return f"10.213.{2 * self.index + 1}.1"

    @property
    def run_dir(self) -> Path:
        return BASE_DIR / str(self.index)

    @property
    def cgroup_parent(self) -> str:
        """The kubelet's cgroupRoot: /sys/fs/cgroup/<controller>/statuswatch-<index>."""
        return f"statuswatch-{self.index}"

    @property
    def containerd_socket(self) -> Path:
        return self.run_dir / "containerd.sock"

    @property
    def runc_root(self) -> Path:
        return self.run_dir / "runc"


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
        "paths": {path: os.path.lexists(path) for path in (*FIXED_PATHS, str(BASE_DIR))},
        "processes": sorted(processes),
    }


def _link_exists(name: str) -> bool:
    return _run(_ip(), "link", "show", "dev", name, check=False).returncode == 0


def _read_record() -> dict[str, Any]:
    try:
        record = json.loads(_RECORD.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _write_record(record: dict[str, Any]) -> None:
    tmp = _RECORD.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(_RECORD)


@contextlib.contextmanager
def _locked() -> Iterator[dict[str, Any]]:
    """The host record, under an exclusive lock (other processes' nodes start and stop meanwhile)."""
    BASE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle = os.open(BASE_DIR, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield _read_record()
    finally:
        os.close(handle)


def holders() -> dict[int, str]:
    """Each held slot and the cluster directory that holds it."""
    return {int(i): str(h.get("owner")) for i, h in (_read_record().get("holders") or {}).items()}


def slot_of(cluster_dir: Path) -> Slot | None:
    """The slot this cluster's real node holds, if it holds one."""
    for index, holder in (_read_record().get("holders") or {}).items():
        if holder.get("owner") == str(cluster_dir):
            return Slot(int(index))
    return None


def _alive(holder: dict[str, Any]) -> bool:
    """A holder counts while one of its recorded processes runs, or while it is still starting."""
    pids = holder.get("pids") or {}
    if not pids:
        return bool(time.time() - float(holder.get("since", 0)) < _STARTING_GRACE)
    return any(pid_runs(int(pid), str(binary)) for pid, binary in pids.values())


def record_processes(slot: Slot, pids: dict[str, tuple[int, str]]) -> None:
    """Note the node's processes (name -> (pid, binary)): a slot whose processes are all gone is stale."""
    with _locked() as record:
        holder = (record.get("holders") or {}).get(str(slot.index))
        if holder is not None:
            holder["pids"] = pids
            _write_record(record)


def _overlapping_route() -> str | None:
    """A route of this machine (not a real node's) into 10.213.0.0/16, which the nodes' addresses shadow."""
    for line in _run(_ip(), "route", "show").stdout.splitlines():
        if line.startswith("10.213.") and " dev statuswatch-" not in line:
            return line
    return None


def acquire(cluster_dir: Path) -> Slot:
    """The slot for ``cluster_dir``'s node (its own, a free one, or one whose holder died, reclaimed),
    with its interfaces, cgroup parent and /run directory made. The first holder records the host's
    shared state (sysctls, iptables chains, fixed paths) that the last one to leave restores."""
    with _locked() as record:
        holders: dict[str, Any] = record.setdefault("holders", {})
        mine = next((int(i) for i, h in holders.items() if h.get("owner") == str(cluster_dir)), None)
        if mine is None:
            for index, holder in list(holders.items()):
                if not _alive(holder):  # its cluster died without `down`: clean up after it
                    _restore_slot(Slot(int(index)))
                    del holders[index]
            free = [i for i in range(1, MAX_SLOTS + 1) if str(i) not in holders]
            if not free:
                raise ClusterError(f"all {MAX_SLOTS} real-node slots of this machine are in use: {holders}")
            if not holders:
                clash = _overlapping_route()
                if clash:
                    raise ClusterError(
                        f"the real node's network 10.213.0.0/16 overlaps this machine's route {clash!r}"
                    )
                record["shared"] = {
                    "sysctls": _read_sysctls(),
                    "iptables": _iptables_chains(),
                    "paths": {path: os.path.lexists(path) for path in FIXED_PATHS},
                }
            mine = free[0]
            holders[str(mine)] = {"owner": str(cluster_dir), "since": time.time(), "pids": {}}
            _write_record(record)
        slot = Slot(mine)
        _make_slot(slot)
        return slot


def _make_slot(slot: Slot) -> None:
    slot.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    ip = _ip()
    if not _link_exists(slot.dummy):
        # A bridge without ports stands in for a dummy interface: kernels without the dummy driver (this
        # machine's) still have bridges, and a local address needs no carrier.
        _run(ip, "link", "add", slot.dummy, "type", "bridge")
    _run(ip, "addr", "replace", f"{slot.node_address}/32", "dev", slot.dummy)
    _run(ip, "link", "set", slot.dummy, "up")
    if not _link_exists(slot.bridge):
        _run(ip, "link", "add", slot.bridge, "type", "bridge")
    _run(ip, "addr", "replace", f"{slot.bridge_address}/{_PREFIX}", "dev", slot.bridge)
    _run(ip, "link", "set", slot.bridge, "up")
    # The kubelet refuses a cgroupRoot that does not exist; a new v1 cpuset needs its cpus and mems.
    for hierarchy in cgroup_controllers():
        parent = hierarchy / slot.cgroup_parent
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


def _kill_cgroup_processes(slot: Slot, timeout: float = 10.0) -> None:
    """SIGKILL every process left in the node's cgroups (containers whose shim is gone) until none are."""
    deadline = time.monotonic() + timeout
    while True:
        parents = [h / slot.cgroup_parent for h in cgroup_controllers()]
        pids = set().union(*(_pids_under(parent) for parent in parents if parent.is_dir()))
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


def _remove_cgroups(slot: Slot) -> None:
    for hierarchy in cgroup_controllers():
        parent = hierarchy / slot.cgroup_parent
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


def _remove_links(slot: Slot) -> None:
    ip = _ip()
    if _link_exists(slot.bridge):
        ports = _run(ip, "-o", "link", "show", "master", slot.bridge, check=False).stdout.splitlines()
        for line in ports:
            name = line.split(":", 2)[1].strip().split("@", 1)[0]
            _run(ip, "link", "delete", name, check=False)
    for name in (slot.bridge, slot.dummy):
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


def _remove_containers(slot: Slot) -> None:
    """Kill and delete every container runc knows under the slot (containerd may be gone already)."""
    runc = next((path for path in _RUNC if Path(path).is_file()), None)
    if runc is None or not slot.runc_root.is_dir():
        return
    for root in slot.runc_root.iterdir():  # one runc root per containerd namespace
        listed = _run(runc, "--root", str(root), "list", "-q", check=False).stdout.split()
        for container in listed:
            _run(runc, "--root", str(root), "delete", "--force", container, check=False)


def _kill_shims(slot: Slot) -> None:
    """The runc shims of the slot's containerd (they outlive it by design), found by its socket."""
    marker = str(slot.containerd_socket).encode() + b"\0"
    killed = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes()
            if b"containerd-shim" in cmdline.split(b"\0", 1)[0] and marker in cmdline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(proc.name), signal.SIGKILL)
                    killed.append((int(proc.name), cmdline.split(b"\0", 1)[0].decode()))
    deadline = time.monotonic() + 10
    while killed and time.monotonic() < deadline:  # SIGKILL is asynchronous: wait until they are gone
        killed = [(pid, binary) for pid, binary in killed if _present(pid)]
        time.sleep(0.05)


def _present(pid: int) -> bool:
    """Still there and not a zombie (a killed process's command line reads empty while it exits)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _restore_slot(slot: Slot) -> None:
    """Undo one node's own share: containers, shims, processes, mounts, cgroups, interfaces, /run dir.
    Its kubelet and containerd must be stopped first."""
    _remove_containers(slot)
    _kill_shims(slot)
    _kill_cgroup_processes(slot)
    _unmount_under(slot.run_dir)
    _remove_cgroups(slot)
    _remove_links(slot)
    containers = Path("/var/log/containers")  # the kubelet's links to the pod logs, a fixed path
    if containers.is_dir():
        for link in containers.iterdir():
            if link.is_symlink() and os.readlink(link).startswith(str(slot.run_dir) + "/"):
                link.unlink()
    shutil.rmtree(slot.run_dir, ignore_errors=True)


def _restore_shared(shared: dict[str, Any]) -> None:
    """What all nodes share, as it was before the first one came: sysctls, iptables, fixed paths."""
    for name, value in (shared.get("sysctls") or {}).items():
        path = _sysctl_path(name)
        with contextlib.suppress(OSError):
            if path.read_text().strip() != value:
                path.write_text(value)
    _restore_iptables(shared.get("iptables") or {})
    for path, existed in (shared.get("paths") or {}).items():
        if not existed and os.path.lexists(path):
            if os.path.isdir(path) and not os.path.islink(path):
                _unmount_under(Path(path))
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)


def release(cluster_dir: Path) -> list[str]:
    """Undo what ``cluster_dir``'s node changed (the shared state too if it is the last node); returns
    what was left over. Idempotent; its kubelet and containerd must be stopped first."""
    with _locked() as record:
        holders: dict[str, Any] = record.get("holders") or {}
        mine = [Slot(int(i)) for i, h in holders.items() if h.get("owner") == str(cluster_dir)]
        for slot in mine:
            _restore_slot(slot)
            del holders[str(slot.index)]
        if not holders:
            _restore_shared(record.get("shared") or {})
            left = [str(path) for path in BASE_DIR.iterdir() if path.name not in {"host.json", "host.tmp"}]
            if left:
                return [*left, *_leftovers(mine)]
            shutil.rmtree(BASE_DIR, ignore_errors=True)
        else:
            _write_record(record)
        return _leftovers(mine)


def _leftovers(slots: list[Slot]) -> list[str]:
    left = []
    for slot in slots:
        if slot.run_dir.exists():
            left.append(str(slot.run_dir))
        left += [name for name in (slot.bridge, slot.dummy) if _link_exists(name)]
        left += [
            str(h / slot.cgroup_parent) for h in cgroup_controllers() if (h / slot.cgroup_parent).exists()
        ]
    return left
