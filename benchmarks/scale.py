"""statuswatch at scale, side by side with what people use today (issue 11), in one run on one scenario.

    python -m benchmarks.scale --size small|large|medium|xlarge [--dir DIR] [--out DIR] [--docs]
                               [--soak MINUTES]

Starts (or reuses) the local control plane in ``--dir`` and restarts its API server with an audit policy
that logs the requests of four ServiceAccounts, one per peer, so that every count comes from the API
server and each peer is counted apart:

- ``sw-shared``: the operator, ``statuswatch run --all-namespaces`` (the shared streaming view);
- ``sw-direct``: statuswatch's polling engine with direct GETs (``benchmarks.peers.direct_poller``);
- ``kstatus-go``: the real Go kstatus poller of ``sigs.k8s.io/cli-utils`` at Flux's 5 s
  (``benchmarks/kstatus-go``);
- ``kubectl``: ``kubectl rollout status`` / ``kubectl wait`` per object, as scripts do it.

The scenario (``scale_figures.plan``): N objects (Deployments with KWOK pods, Jobs, Services, ConfigMaps)
over several namespaces, M StatusWatches each listing its share. The three pollers watch the same
identifiers. Measured: initial sync; a steady window where nothing changes; the same ConfigMap changes timed
on every peer (change→status, from outside); a rollout wave (every Deployment's template changed); RSS and
CPU of each process. ``--soak`` then creates and deletes StatusWatches in a loop and checks that memory,
streams and workers return to their baseline. Writes ``result.json``, PNG plots and ``table.md`` into
``--out``; ``--docs`` also puts the table into docs/benchmarks.md. Nothing asserts on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from benchmarks.bench_operator import (
    CRD_FILE,
    LABEL,
    OPERATOR_ROLE,
    SW_PATH,
    Api,
    ClusterWideOperator,
    Observer,
    create_all,
    delete_statuswatches,
    is_current,
    measure_latency,
    shows,
    statuswatch,
)
from benchmarks.bench_operator import manifest as simple_manifest
from benchmarks.operator_figures import (
    AuditRecord,
    BenchObject,
    parse_audit,
    render_table,
    vmrss_bytes,
)
from benchmarks.peers import kstatus_go
from benchmarks.scale_figures import (
    PEERS,
    SIZES,
    PeerLine,
    Size,
    floor_status,
    kubectl_check,
    parse_peer_line,
    peer_counts,
    plan,
    soak_verdict,
    table_rows,
)
from statuswatch.cluster.operator_testing import operator_rules
from statuswatch.cluster.testing import E2ECluster, write_token_kubeconfig

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
SYSTEM_NAMESPACE = "bench-scale-system"
FLOOR_NAMESPACE = "bench-scale-floor"  # the initial sync's floor: StatusWatches no peer lists
BULK_CONCURRENCY = 64  # requests in flight while the harness creates objects (admin, not audited)
POLL_INTERVAL = 5.0
WAIT_LIMIT = 30.0
BEGIN, END = "<!-- scale:{size}:begin -->", "<!-- scale:{size}:end -->"


def _say(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


def user_of(account: str) -> str:
    return f"system:serviceaccount:{SYSTEM_NAMESPACE}:{account}"


def audit_policy() -> dict[str, Any]:
    return {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "rules": [
            {"level": "Metadata", "users": [user_of(p.account) for p in PEERS]},
            {"level": "None"},
        ],
    }


# -- objects ---------------------------------------------------------------------------------------------


def object_path(obj: BenchObject, *, collection: bool = False) -> str:
    plural = {"ConfigMap": "configmaps", "Service": "services", "Deployment": "deployments", "Job": "jobs"}
    base = f"/apis/{obj.group}/v1" if obj.group else "/api/v1"
    path = f"{base}/namespaces/{obj.namespace}/{plural[obj.kind]}"
    return path if collection else f"{path}/{obj.name}"


def manifest(obj: BenchObject) -> dict[str, Any]:
    if obj.kind != "Job":
        return simple_manifest(obj)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": obj.name, "namespace": obj.namespace, "labels": {LABEL[0]: LABEL[1]}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "job", "image": "busybox:1.36"}]}
            },
        },
    }


# -- peers as processes ----------------------------------------------------------------------------------


@dataclass
class PollerProcess:
    """A polling peer's process and the JSON lines it printed (``scale_figures.PeerLine``)."""

    name: str
    argv: list[str]
    log: Path
    lines: list[PeerLine] = field(default_factory=list)
    process: asyncio.subprocess.Process | None = None
    started: float = 0.0
    _reader: asyncio.Task[None] | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        self.started = time.time()
        with self.log.open("wb") as err:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, stdout=asyncio.subprocess.PIPE, stderr=err
            )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = parse_peer_line(raw.decode(errors="replace"))
            if line is not None:
                self.lines.append(line)
                self.changed.set()

    async def first(self, kind: str, since: float, limit: float, **match: str) -> PeerLine | None:
        """The first line of type ``kind`` at or after ``since`` matching ``match``; None after ``limit``."""
        deadline = time.monotonic() + limit
        index = 0
        while True:
            while index < len(self.lines):
                line = self.lines[index]
                index += 1
                if (
                    line.type == kind
                    and line.time >= since
                    and all(getattr(line, k) == v for k, v in match.items())
                ):
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.process is not None and self.process.returncode is not None):
                return None
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 1.0))

    def rss(self) -> int:
        assert self.process is not None
        return vmrss_bytes(Path(f"/proc/{self.process.pid}/status").read_text())

    def cpu_seconds(self) -> float:
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, 5)


# -- setup -----------------------------------------------------------------------------------------------


def start_cluster(directory: Path) -> tuple[E2ECluster, Path]:
    """The local control plane, its API server auditing the four peers' users (restarted only if needed)."""
    from statuswatch.cluster.testing import LocalE2ECluster

    cluster = LocalE2ECluster(directory, keep=True)
    policy = directory / "bench-scale-audit-policy.yaml"
    policy.write_text(yaml.safe_dump(audit_policy()))
    flag = f"--audit-policy-file={policy}"
    apiserver = cluster.local.running().get("kube-apiserver")
    if apiserver is not None and flag in apiserver.argv:
        path = next(a.partition("=")[2] for a in apiserver.argv if a.startswith("--audit-log-path="))
        return cluster, Path(path)
    audit_log = directory / "logs" / f"audit-bench-scale-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    _say(f"restarting the API server with auditing of the peers' users into {audit_log}")
    # Controllers keep running: restarted with it, KWOK was seen to ignore new pods
    # (docs/operator-benchmarks.md).
    cluster.restart_apiserver([flag, f"--audit-log-path={audit_log}"], restart_controllers=False)
    return cluster, audit_log


def peer_kubeconfigs(cluster: E2ECluster, directory: Path, namespaces: list[str]) -> dict[str, Path]:
    """Namespaces, the CRD, and per peer a ServiceAccount bound to the operator's shipped ClusterRole."""
    cluster.kubectl("apply", "-f", str(CRD_FILE))
    cluster.kubectl(
        "wait", "--for=condition=Established", "crd/statuswatches.statuswatch.io", "--timeout=60s"
    )
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
        for n in [SYSTEM_NAMESPACE, FLOOR_NAMESPACE, *namespaces]
    ]
    role = "statuswatch-bench-scale"
    docs.append(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": role},
            "rules": operator_rules(OPERATOR_ROLE),
        }
    )
    for peer in PEERS:
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": peer.account, "namespace": SYSTEM_NAMESPACE},
            }
        )
        docs.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": f"{role}-{peer.account}"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": peer.account, "namespace": SYSTEM_NAMESPACE}],
            }
        )
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs))
    configs = {}
    for peer in PEERS:
        token = cluster.kubectl(
            "create", "token", peer.account, "-n", SYSTEM_NAMESPACE, "--duration=6h"
        ).stdout
        configs[peer.key] = write_token_kubeconfig(
            directory / f"kubeconfig-{peer.account}", cluster, token.strip(), SYSTEM_NAMESPACE
        )
    return configs


async def wait_serving(api: Api, limit: float = 120) -> None:
    """Until the API server answers a list of StatusWatches (after a restart it says 429 for a while)."""
    deadline = time.monotonic() + limit
    while True:
        with contextlib.suppress(aiohttp.ClientError):
            status, _ = await api.call("GET", f"{SW_PATH}/statuswatches", limit="1")
            if status == 200:
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the API server does not serve StatusWatches after {limit:g}s")
        await asyncio.sleep(1)


async def wait_rolled_out(api: Api, namespaces: list[str], limit: float) -> None:
    """Every benchmark Deployment rolled out and every Job complete (read by the harness, not audited)."""
    deadline = time.monotonic() + limit
    while True:
        pending = 0
        for namespace in namespaces:
            _, deployments = await api.call("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments")
            for d in deployments["items"]:
                st = d.get("status") or {}
                done = st.get("observedGeneration") == d["metadata"]["generation"] and (
                    st.get("updatedReplicas") == st.get("availableReplicas") == st.get("replicas") == 1
                )
                pending += not done
            _, jobs = await api.call("GET", f"/apis/batch/v1/namespaces/{namespace}/jobs")
            for j in jobs["items"]:
                conditions = (j.get("status") or {}).get("conditions") or []
                pending += not any(c["type"] == "Complete" and c["status"] == "True" for c in conditions)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{pending} Deployments/Jobs not done after {limit:g}s")
        await asyncio.sleep(1)


def limit_for(size: Size) -> float:
    """How long a wait for the whole scenario may take: 900 s at the large size, more in proportion."""
    return max(900.0, size.objects / 10_000 * 300)


def audit_files(audit_log: Path) -> list[Path]:
    """The audit log and its rotated parts (``<stem>-<time>.log``, 100 MB each), oldest first."""
    rotated = sorted(audit_log.parent.glob(f"{audit_log.stem}-*{audit_log.suffix}"))
    return [*rotated, audit_log]


def read_audit(audit_log: Path) -> list[AuditRecord]:
    records: list[AuditRecord] = []
    for path in audit_files(audit_log):
        with path.open() as lines:
            records.extend(parse_audit(lines))
    return records


# -- measurements ----------------------------------------------------------------------------------------


async def kubectl_pass(cluster: E2ECluster, kubeconfig: Path, objects: list[BenchObject]) -> dict[str, Any]:
    """One check of each object, one kubectl process per object, in sequence as a script loop does."""
    kubectl = cluster.kubectl_binary
    started, t0 = datetime.now(UTC), time.monotonic()
    with tempfile.TemporaryDirectory() as cache:  # discovery cached across the loop, as in a user's shell
        failures = 0
        for obj in objects:
            process = await asyncio.create_subprocess_exec(
                kubectl,
                f"--kubeconfig={kubeconfig}",
                f"--cache-dir={cache}",
                *kubectl_check(obj),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            failures += (await process.wait()) != 0
    return {
        "start": started,
        "end": datetime.now(UTC),
        "seconds": round(time.monotonic() - t0, 2),
        "objects": len(objects),
        "failures": failures,
    }


async def peers_latency(
    api: Api,
    observer: Observer,
    pollers: Mapping[str, PollerProcess],
    targets: list[tuple[tuple[str, str], BenchObject]],
) -> dict[str, list[float]]:
    """The same ConfigMap changes (delete, recreate) timed on the operator's status and on every poller."""
    samples: dict[str, list[float]] = {"shared": [], **{k: [] for k in pollers}}
    missed: dict[str, int] = dict.fromkeys(samples, 0)
    for key, obj in targets:
        for step, wanted in (("DELETE", "NotFound"), ("POST", "Current")):
            arrival = observer.expect(key, shows(obj.kind, obj.name, wanted))
            wall, mono = time.time(), time.monotonic()
            if step == "DELETE":
                status, body = await api.call("DELETE", object_path(obj))
            else:
                status, body = await api.call("POST", object_path(obj, collection=True), manifest(obj))
            if status not in (200, 201, 202):
                raise RuntimeError(f"{step} {obj.name}: {status} {body}")
            waits = {
                k: p.first("update", wall, WAIT_LIMIT, namespace=obj.namespace, name=obj.name, status=wanted)
                for k, p in pollers.items()
            }
            try:
                samples["shared"].append(await asyncio.wait_for(arrival, WAIT_LIMIT) - mono)
            except TimeoutError:
                observer.forget(arrival)
                missed["shared"] += 1
            for k, line in zip(waits, await asyncio.gather(*waits.values()), strict=True):
                if line is None:
                    missed[k] += 1
                else:
                    samples[k].append(line.time - wall)
    return {**samples, **{f"{k}_missed": [float(v)] for k, v in missed.items()}}


async def status_floor(api: Api, scenario: Any, concurrency: int = BULK_CONCURRENCY) -> dict[str, Any]:
    """The floor of the initial sync: how long the API server takes to accept one status patch per
    StatusWatch (the same count and shape the operator writes) from a plain aiohttp client with
    ``concurrency`` requests in flight. On StatusWatches of their own namespace, created before and
    deleted after (before the operator starts, so it never sees them)."""
    collection = f"{SW_PATH}/namespaces/{FLOOR_NAMESPACE}/statuswatches"
    watches = [(f"floor-{i:05d}", listed) for i, (_, _, listed) in enumerate(scenario.watches)]
    await delete_floor(api)
    await create_all(
        api,
        [
            (collection, {**statuswatch(FLOOR_NAMESPACE, n, listed, "5s"), "metadata": {"name": n}})
            for n, listed in watches
        ],
        concurrency,
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    pending = iter(watches)
    headers = {**api.headers, "Content-Type": "application/merge-patch+json"}

    async def worker() -> None:
        for name, listed in pending:
            body = json.dumps(floor_status(listed, stamp))
            url = f"{api.server}{collection}/{name}/status"
            async with api.session.patch(url, data=body, headers=headers, ssl=api.ssl) as response:
                if response.status != 200:
                    raise RuntimeError(f"floor patch {name}: {response.status} {await response.text()}")

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.monotonic() - t0
    await delete_floor(api)
    return {"count": len(watches), "seconds": round(seconds, 2), "concurrency": concurrency}


async def delete_floor(api: Api) -> None:
    collection = f"{SW_PATH}/namespaces/{FLOOR_NAMESPACE}/statuswatches"
    status, body = await api.call("DELETE", collection)
    if status not in (200, 404):
        raise RuntimeError(f"deleting the floor's StatusWatches: {status} {body}")
    for _ in range(300):
        _, listing = await api.call("GET", collection, limit="1")
        if not (isinstance(listing, dict) and listing.get("items")):
            return
        await asyncio.sleep(1)
    raise TimeoutError("the floor's StatusWatches are not gone after 300 s")


async def create_missing(api: Api, objects: Sequence[BenchObject]) -> int:
    """Create the objects the cluster does not hold yet (one LIST per kind and namespace first, so a rerun
    on 100,000 existing objects makes no POST for them); returns how many were created."""
    wanted: dict[str, list[BenchObject]] = {}
    for obj in objects:
        wanted.setdefault(object_path(obj, collection=True), []).append(obj)
    missing: list[BenchObject] = []
    for collection, objs in wanted.items():
        status, body = await api.call("GET", collection)
        have = {item["metadata"]["name"] for item in body["items"]} if status == 200 else set()
        missing.extend(o for o in objs if o.name not in have)
    await create_all(api, [(object_path(o, collection=True), manifest(o)) for o in missing], BULK_CONCURRENCY)
    return len(missing)


def tracker(observer: Observer, keys: list[tuple[str, str]]) -> Any:
    """``all_current`` for a first sync, in amortised O(1) per check: keys found current are not looked at
    again (a first sync only ever turns them current), so 10,000 StatusWatches do not cost 10,000 checks
    per event."""
    pending = list(reversed(keys))
    empty: dict[str, Any] = {"metadata": {}}

    def done() -> bool:
        while pending:
            if not is_current(observer.objects.get(pending[-1], empty)):
                return False
            pending.pop()
        return all(is_current(observer.objects.get(k, empty)) for k in keys)

    return done


async def patch_deployments(api: Api, deployments: list[BenchObject], stamp: str) -> None:
    gate = asyncio.Semaphore(16)
    body = {"spec": {"template": {"metadata": {"annotations": {"statuswatch.io/bench-wave": stamp}}}}}

    async def one(obj: BenchObject) -> None:
        async with (
            gate,
            api.session.patch(
                api.server + object_path(obj),
                data=json.dumps(body),
                headers={**api.headers, "Content-Type": "application/merge-patch+json"},
                ssl=api.ssl,
            ) as response,
        ):
            if response.status != 200:
                raise RuntimeError(f"patch {obj.name}: {response.status} {await response.text()}")

    await asyncio.gather(*(one(d) for d in deployments))


async def soak(
    api: Api, observer: Observer, operator: ClusterWideOperator, namespaces: list[str], minutes: float
) -> dict[str, Any]:
    """StatusWatches created and deleted in a loop over the existing objects; measures before and after."""

    def measures() -> dict[str, float]:
        metrics = operator.metrics()
        threads = next(
            int(line.split()[1])
            for line in Path(f"/proc/{operator.pid}/status").read_text().splitlines()
            if line.startswith("Threads:")
        )
        return {
            "rss_mib": round(operator.rss() / 2**20, 1),
            "watch_streams": sum(v for k, v in metrics.items() if k.startswith("statuswatch_watch_streams")),
            "active_workers": sum(
                v for k, v in metrics.items() if k.startswith("controller_runtime_active_workers")
            ),
            "threads": float(threads),
        }

    baseline = measures()
    samples: list[dict[str, float]] = []
    deadline = time.monotonic() + minutes * 60
    rounds = 0
    t0 = time.monotonic()
    while time.monotonic() < deadline:
        rounds += 1
        batch = []
        for i, namespace in enumerate(namespaces):
            listed = (BenchObject("", "ConfigMap", namespace, "scale-cm-00001"),)
            batch.append(
                (
                    f"{SW_PATH}/namespaces/{namespace}/statuswatches",
                    statuswatch(namespace, f"soak-{rounds}-{i}", listed, "5s"),
                )
            )
        await create_all(api, batch)
        keys = [(namespace, f"soak-{rounds}-{i}") for i, namespace in enumerate(namespaces)]
        # Each StatusWatch reports its (existing) ConfigMap, then it is deleted.

        def reported(keys: list[tuple[str, str]] = keys) -> bool:
            return all(is_current(observer.objects.get(k, {"metadata": {}})) for k in keys)

        await observer.until(
            reported,
            60,
            "soak StatusWatches reporting",
        )
        for namespace, name in keys:
            await api.call("DELETE", f"{SW_PATH}/namespaces/{namespace}/statuswatches/{name}")
        samples.append({"t_s": round(time.monotonic() - t0, 1), **measures()})
    await asyncio.sleep(15)  # workers end and streams idle out after their deletion
    end = measures()
    return {
        "minutes": minutes,
        "rounds": rounds,
        "statuswatches_created": rounds * len(namespaces),
        "baseline": baseline,
        "end": end,
        "samples": samples,
        "verdict": soak_verdict(
            baseline, end, {"rss_mib": 10.0, "watch_streams": 0.0, "active_workers": 0.0, "threads": 2.0}
        ),
    }


# -- the run ---------------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, size: Size) -> dict[str, Any]:
    namespaces = [f"bench-scale-{i}" for i in range(size.namespaces)]
    scenario = plan(size, namespaces)
    cluster, audit_log = await asyncio.to_thread(start_cluster, args.dir)
    configs = await asyncio.to_thread(peer_kubeconfigs, cluster, args.dir, namespaces)
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "size": args.size,
        "sizes": {
            "objects": size.objects,
            "statuswatches": size.statuswatches,
            "identifiers_per_statuswatch": size.objects // size.statuswatches,
            "namespaces": size.namespaces,
            "kinds": sorted({o.kind for o in scenario.objects}),
            "by_kind": {
                k: sum(o.kind == k for o in scenario.objects)
                for k in sorted({o.kind for o in scenario.objects})
            },
            "poll_interval_s": POLL_INTERVAL,
            "steady_s": size.steady_s,
        },
        "started": datetime.now(UTC).isoformat(),
        "audit_log": str(audit_log),
        "peers": {},
    }
    peers: dict[str, dict[str, Any]] = result["peers"]
    ids_file = args.out / "identifiers.json"
    ids_file.write_text(
        json.dumps(
            [
                {"group": o.group, "kind": o.kind, "namespace": o.namespace, "name": o.name}
                for o in scenario.objects
            ]
        )
    )
    go_binary: Path | None = None
    try:
        go_binary = await asyncio.to_thread(kstatus_go.binary, _say)
    except Exception as error:  # no Go and no network: the run goes on without this peer, and says so
        peers["kstatus_go"] = {"skipped": f"build failed: {str(error)[-300:]}"}
        _say(f"the Go kstatus poller is not available: {error}")

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        api = Api(cluster, session)
        await wait_serving(api)
        for attempt in range(60):  # a CRD just updated answers 429 "storage is (re)initializing" a while
            try:
                await delete_statuswatches(api, namespaces)
                break
            except RuntimeError as error:
                if "429" not in str(error) or attempt == 59:
                    raise
                await asyncio.sleep(1)
        _say(
            f"creating {len(scenario.objects)} objects in {len(namespaces)} namespaces (existing ones kept)…"
        )
        t0 = time.monotonic()
        result["created"] = await create_missing(api, scenario.objects)
        result["create_s"] = round(time.monotonic() - t0, 1)
        _say(f"created in {result['create_s']} s; waiting for Deployments and Jobs to be done…")
        await wait_rolled_out(api, namespaces, limit_for(size))
        result["setup_s"] = round(time.monotonic() - t0, 1)
        _say(f"the initial sync's floor: {len(scenario.watches)} status patches from a plain client…")
        result["floor"] = await status_floor(api, scenario)
        _say(f"floor: {result['floor']['seconds']} s")

        observer = Observer(api)
        await observer.start()
        operator = ClusterWideOperator(configs["shared"], "", args.out)
        pollers: dict[str, PollerProcess] = {
            "direct": PollerProcess(
                "direct",
                [
                    sys.executable,
                    "-m",
                    "benchmarks.peers.direct_poller",
                    "--kubeconfig",
                    str(configs["direct"]),
                    "--ids",
                    str(ids_file),
                    "--interval",
                    str(POLL_INTERVAL),
                ],
                args.out / "direct-poller.log",
            )
        }
        if go_binary is not None:
            pollers["kstatus_go"] = PollerProcess(
                "kstatus_go",
                [
                    str(go_binary),
                    "-kubeconfig",
                    str(configs["kstatus_go"]),
                    "-ids",
                    str(ids_file),
                    "-interval",
                    f"{POLL_INTERVAL:g}s",
                ],
                args.out / "kstatus-go.log",
            )
        try:
            await _measure(
                args,
                size,
                cluster,
                api,
                observer,
                operator,
                pollers,
                scenario,
                configs,
                result,
                audit_log,
                namespaces,
            )
        finally:
            await observer.stop()
            for poller in pollers.values():
                await poller.stop()
            with contextlib.suppress(AssertionError):
                operator.stop()
            result["operator_log"] = str(operator.log_file)
    return result


async def _measure(
    args: argparse.Namespace,
    size: Size,
    cluster: E2ECluster,
    api: Api,
    observer: Observer,
    operator: ClusterWideOperator,
    pollers: dict[str, PollerProcess],
    scenario: Any,
    configs: Mapping[str, Path],
    result: dict[str, Any],
    audit_log: Path,
    namespaces: list[str],
) -> None:
    peers: dict[str, dict[str, Any]] = result["peers"]
    await asyncio.to_thread(operator.start)
    posts = [
        (f"{SW_PATH}/namespaces/{ns}/statuswatches", statuswatch(ns, name, listed, f"{POLL_INTERVAL:g}s"))
        for ns, name, listed in scenario.watches
    ]
    keys = [(ns, name) for ns, name, _ in scenario.watches]

    def all_current() -> bool:
        return all(is_current(observer.objects.get(k, {"metadata": {}})) for k in keys)

    _say(f"operator up; creating {len(posts)} StatusWatches…")
    t0 = time.monotonic()
    await create_all(api, posts, BULK_CONCURRENCY)
    created_s = round(time.monotonic() - t0, 2)  # the creation is inside the sync: said apart
    await observer.until(tracker(observer, keys), limit_for(size), f"{len(keys)} StatusWatches AllCurrent")
    peers["shared"] = {"sync_s": round(time.monotonic() - t0, 2), "statuswatches_created_s": created_s}
    _say(f"all AllCurrent in {peers['shared']['sync_s']} s; starting the pollers…")

    for poller in pollers.values():
        await poller.start()
    for key, poller in pollers.items():
        synced = await poller.first("synced", 0, limit_for(size))
        current = await poller.first("aggregate", 0, 300, status="Current")
        peers[key] = {
            "sync_s": round(synced.time - poller.started, 2) if synced else None,
            "aggregate_current": current is not None,
            "errors": [line.message for line in poller.lines if line.type == "error"][:5],
        }
        _say(f"{key}: synced in {peers[key]['sync_s']} s, aggregate Current: {current is not None}")

    await asyncio.sleep(2 * POLL_INTERVAL)  # the pollers' first cycles and the operator's writes settle
    procs: dict[str, Any] = {"shared": operator, **pollers}
    cpu0 = {k: p.cpu_seconds() for k, p in procs.items()}
    steady_start = datetime.now(UTC)
    _say(f"steady window: {size.steady_s:g} s with nothing changing…")
    await asyncio.sleep(size.steady_s)
    steady_end = datetime.now(UTC)
    for k, p in procs.items():
        peers[k]["steady_cpu_s"] = round(p.cpu_seconds() - cpu0[k], 2)
        peers[k]["rss_bytes"] = p.rss()
    peers["shared"]["operator_metrics"] = {
        k: v
        for k, v in operator.metrics().items()
        if k.startswith(("statuswatch_watch_streams", "statuswatch_watched"))
    }

    # kubectl: a sample of objects of every kind, one process each (its cost is per object).
    by_kind: dict[str, list[BenchObject]] = {}
    for obj in scenario.objects:
        by_kind.setdefault(obj.kind, []).append(obj)
    share = max(1, size.kubectl_objects // len(by_kind))
    sample = [o for objs in by_kind.values() for o in objs[:share]]
    _say(f"kubectl: checking {len(sample)} objects one process each…")
    kubectl_run = await kubectl_pass(cluster, configs["kubectl"], sample)

    # The same changes timed on every peer, then many on the operator alone.
    watches = list(scenario.watches)
    step = max(1, len(watches) // max(1, size.peer_samples))
    targets = [
        ((ns, name), next(o for o in listed if o.kind == "ConfigMap")) for ns, name, listed in watches[::step]
    ][: size.peer_samples]
    _say(f"change→status on every peer: {len(targets) * 2} changes…")
    lat = await peers_latency(api, observer, pollers, targets)
    for key in ("shared", *pollers):
        peers[key]["latency_s"] = lat[key]
        peers[key]["latency_missed"] = int(lat[f"{key}_missed"][0])
    await observer.until(all_current, 120, "AllCurrent again")
    many_targets = [
        ((ns, name), next(o for o in listed if o.kind == "ConfigMap")) for ns, name, listed in watches
    ]
    _say(f"change→status on the operator alone: {size.latency_samples} changes…")
    many = await measure_latency(api, observer, many_targets, size.latency_samples)
    peers["shared"]["latency_operator_only"] = many.summary()

    # The rollout wave.
    await observer.until(all_current, 120, "AllCurrent again")
    await asyncio.sleep(POLL_INTERVAL)
    deployments = [o for o in scenario.objects if o.kind == "Deployment"]
    _say(f"rollout wave: {len(deployments)} Deployments changed…")
    wave_start = datetime.now(UTC)
    t0 = time.monotonic()
    await patch_deployments(api, deployments, wave_start.isoformat())
    kubectl_wave = await kubectl_pass(cluster, configs["kubectl"], deployments[: max(1, share)])
    await wait_rolled_out(api, namespaces, limit_for(size))
    rolled = time.monotonic() - t0
    await observer.until(all_current, limit_for(size), "AllCurrent after the wave")
    result["wave"] = {
        "deployments": len(deployments),
        "rolled_out_s": round(rolled, 2),
        "operator_all_current_s": round(time.monotonic() - t0, 2),
    }
    await asyncio.sleep(2 * POLL_INTERVAL)  # the pollers' next cycles see the end of the wave
    wave_end = datetime.now(UTC)

    if args.soak:
        _say(f"soak: {args.soak:g} minutes of StatusWatches created and deleted…")
        result["soak"] = await soak(api, observer, operator, namespaces, args.soak)

    await asyncio.sleep(1)
    result["windows"] = {
        "steady": [steady_start.isoformat(), steady_end.isoformat()],
        "wave": [wave_start.isoformat(), wave_end.isoformat()],
    }
    records = await asyncio.to_thread(read_audit, audit_log)
    n = len(scenario.objects)
    for peer in PEERS:
        if peer.key == "kubectl":
            continue
        if peer.key not in peers or peers[peer.key].get("skipped"):
            continue
        peers[peer.key]["steady"] = peer_counts(records, user_of(peer.account), steady_start, steady_end)
        peers[peer.key]["wave"] = peer_counts(records, user_of(peer.account), wave_start, wave_end)
    user = user_of("kubectl")
    check = peer_counts(records, user, kubectl_run["start"], kubectl_run["end"])
    reads_per_object = check["reads"] / max(1, kubectl_run["objects"])
    per_pass_s = kubectl_run["seconds"] / max(1, kubectl_run["objects"]) * n
    wave_counts = peer_counts(records, user, kubectl_wave["start"], kubectl_wave["end"])
    peers["kubectl"] = {
        "note": f"measured on {kubectl_run['objects']} objects, one kubectl each; per minute extrapolated "
        f"to all {n} objects re-checked every {POLL_INTERVAL:g} s "
        f"(a pass takes {per_pass_s:.0f} s sequentially)",
        "check": {
            **check,
            "objects": kubectl_run["objects"],
            "failures": kubectl_run["failures"],
            "seconds": kubectl_run["seconds"],
        },
        "reads_per_object_check": round(reads_per_object, 2),
        "steady": {
            "reads_per_min": round(reads_per_object * n * 60 / max(POLL_INTERVAL, per_pass_s), 1),
            "open_watches_at_end": 0,
            "watches_started": check["watches_started"],
            "status_patches_per_min": 0,
        },
        "wave": {
            "reads_per_min": round(
                wave_counts["reads"]
                / max(1, kubectl_wave["objects"])
                * len(deployments)
                * 60
                / max(1.0, kubectl_wave["seconds"] / max(1, kubectl_wave["objects"]) * len(deployments)),
                1,
            ),
            "per_deployment": {**wave_counts, "objects": kubectl_wave["objects"]},
        },
        "sync_s": per_pass_s,  # one sequential pass over every object
        "rss_bytes": None,  # a process per object: nothing stays resident
        "steady_cpu_s": None,
        "latency_s": None,  # a one-shot wait, not a watcher of changes
    }
    result["ended"] = datetime.now(UTC).isoformat()


# -- outputs ---------------------------------------------------------------------------------------------


def table_markdown(result: Mapping[str, Any]) -> str:
    header = "| figure | " + " | ".join(p.label for p in PEERS) + " | goal |"
    lines = [header, "|" + "---|" * (len(PEERS) + 2)]
    for row in table_rows(result):
        lines.append("| " + " | ".join(row) + " |")
    sizes = result["sizes"]
    lines.append("")
    kinds = ", ".join(f"{n} {k}" for k, n in sizes["by_kind"].items())
    lines.append(
        f"Size `{result['size']}`: {sizes['objects']} objects ({kinds}) "
        f"in {sizes['namespaces']} namespaces, {sizes['statuswatches']} StatusWatches x "
        f"{sizes['identifiers_per_statuswatch']} identifiers, poll interval {sizes['poll_interval_s']:g} s, "
        f"steady window {sizes['steady_s']:g} s; run of {result['started'][:16]} UTC."
    )
    op = result["peers"]["shared"].get("latency_operator_only", {}).get("from_request", {})
    if op.get("samples"):
        lines.append(
            f"Operator alone, {op['samples']} changes: change→status p50 {op['p50_s'] * 1000:.0f} ms, "
            f"p99 {op['p99_s'] * 1000:.0f} ms, max {op['max_s'] * 1000:.0f} ms."
        )
    if "soak" in result:
        s = result["soak"]
        back = ", ".join(
            f"{k} {v['baseline']:g}→{v['end']:g} ({'back' if v['back'] else 'NOT back'})"
            for k, v in s["verdict"].items()
        )
        lines.append(
            f"Soak {s['minutes']:g} min, {s['statuswatches_created']} StatusWatches created and deleted: "
            f"{back}."
        )
    lines.append(f"kubectl: {result['peers']['kubectl']['note']}.")
    return "\n".join(lines) + "\n"


def plots(result: Mapping[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    peers = result["peers"]
    shown = [p for p in PEERS if "steady" in peers.get(p.key, {})]
    files = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, window in zip(axes, ("steady", "wave"), strict=True):
        values = [peers[p.key].get(window, {}).get("reads_per_min", 0) for p in shown]
        ax.bar([p.account for p in shown], values, color=["#2a7", "#e83", "#37c", "#999"][: len(shown)])
        ax.set_title(f"API reads per minute, {window}")
        ax.set_yscale("symlog")
        for i, v in enumerate(values):
            ax.text(i, v, f"{v:g}", ha="center", va="bottom")
    fig.tight_layout()
    files.append(out / "reads-per-minute.png")
    fig.savefig(files[-1])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    lat = [(p, peers[p.key].get("latency_s") or []) for p in PEERS if peers.get(p.key, {}).get("latency_s")]
    if lat:
        ax.boxplot([[v * 1000 for v in values] for _, values in lat], tick_labels=[p.account for p, _ in lat])
        ax.set_ylabel("change→status, ms")
        ax.set_yscale("log")
        ax.set_title("the same ConfigMap changes, timed from outside")
    fig.tight_layout()
    files.append(out / "latency.png")
    fig.savefig(files[-1])
    plt.close(fig)

    if "soak" in result and result["soak"]["samples"]:
        samples = result["soak"]["samples"]
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot([s["t_s"] for s in samples], [s["rss_mib"] for s in samples], label="RSS MiB")
        ax.plot([s["t_s"] for s in samples], [s["watch_streams"] for s in samples], label="watch streams")
        ax.axhline(result["soak"]["baseline"]["rss_mib"], ls=":", color="gray", label="RSS baseline")
        ax.set_xlabel("s")
        ax.legend()
        fig.tight_layout()
        files.append(out / "soak.png")
        fig.savefig(files[-1])
        plt.close(fig)
    return files


def update_docs(size: str, table: str, plots: list[str]) -> None:
    """Replace this size's section of docs/benchmarks.md (between its markers) with the new table."""
    text = DOCS.read_text()
    begin, end = BEGIN.format(size=size), END.format(size=size)
    if begin not in text or end not in text:
        raise RuntimeError(f"{DOCS} has no {begin} … {end} section")
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    images = " ".join(f"![{name}](benchmarks/{size}-{name})" for name in plots)
    DOCS.write_text(f"{head}{begin}\n{table}\n{images}\n{end}{tail}")


def check_complete(result: Mapping[str, Any]) -> list[str]:
    """What a finished run's JSON lacks (the CI smoke run fails on any)."""
    problems = []
    for peer in PEERS:
        data = result["peers"].get(peer.key)
        if data is None:
            problems.append(f"{peer.key}: missing")
        elif not data.get("skipped"):
            for key in ("steady", "wave", "sync_s"):
                if data.get(key) is None:
                    problems.append(f"{peer.key}: no {key}")
    for key in ("shared", "direct", "kstatus_go"):
        data = result["peers"].get(key, {})
        if not data.get("skipped") and not data.get("latency_s"):
            problems.append(f"{key}: no change→status samples")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument(
        "--dir", type=Path, default=Path("/tmp/cp-bench-scale"), help="local control plane dir"
    )
    parser.add_argument("--out", type=Path, default=Path("build/bench-scale"), help="JSON, plots, table")
    parser.add_argument("--docs", action="store_true", help="also write the table into docs/benchmarks.md")
    parser.add_argument(
        "--soak", type=float, default=0.0, metavar="MINUTES", help="soak this long at the end"
    )
    parser.add_argument("--render", type=Path, metavar="RESULT_JSON", help="only redo table, plots, docs")
    parser.add_argument("--require-go", action="store_true", help="fail when the Go peer cannot be built")
    args = parser.parse_args(argv)
    args.dir = args.dir.absolute()
    args.out = args.out.absolute()
    args.dir.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.render is not None:  # a finished run's figures again, e.g. after the table changed
        result = json.loads(args.render.read_text())
        args.size = result["size"]
    else:
        started = time.monotonic()
        result = asyncio.run(run(args, SIZES[args.size]))
        result["total_s"] = round(time.monotonic() - started, 1)
        (args.out / "result.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    table = table_markdown(result)
    (args.out / "table.md").write_text(table)
    files = plots(result, args.out)
    if args.docs:
        update_docs(args.size, table, [path.name for path in files])
        for path in files:  # the plots the page shows, next to it
            shutil.copyfile(path, DOCS.parent / "benchmarks" / f"{args.size}-{path.name}")
    print()
    print(render_table([(r[0], " | ".join(r[1:5]), r[5]) for r in table_rows(result)]))
    print(
        f"\n{args.out / 'result.json'}; plots: {', '.join(f.name for f in files)}; {result.get('total_s')} s"
    )
    problems = check_complete(result)
    if args.require_go and result["peers"]["kstatus_go"].get("skipped"):
        problems.append("kstatus_go: skipped")
    if problems:
        print("INCOMPLETE: " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
