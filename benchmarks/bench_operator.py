"""The operator's figures (issue 10), measured from outside the operator.

    python -m benchmarks.bench_operator [--statuswatches 500] [--objects 5000] [--idle 60] [--kubeconfig F]

Starts (or reuses) the local control plane in ``--dir``, restarts its API server (unless it already runs so)
with an audit policy that logs every request of the operator's ServiceAccount, creates ``--objects`` objects
(ConfigMaps, Services, Deployments with KWOK pods) in ``--namespaces`` namespaces, and runs the real
``statuswatch run --all-namespaces`` under the shipped ClusterRole. Then, in one run:

1. change→status latency with 1 StatusWatch and with ``--statuswatches``: a ConfigMap listed by a watch is
   deleted (or created again) through the API, and the clock stops when this harness's own watch on
   statuswatches receives the MODIFIED event whose status shows it (NotFound, or Current again). Samples are
   taken one after another, never overlapping.
2. the operator's RSS (``/proc/PID/status``) with 1 StatusWatch, with one per namespace (every object cached,
   few StatusWatches), after all are synced, after the latency runs and around the idle window;
3. the operator's API requests in ``--idle`` seconds where nothing changes, counted from the audit log by
   verb and resource (reads, writes, status patches, watches started);
4. the watch connections the operator holds open, from the audit log (watch requests received and not
   completed).

The operator's own metrics are recorded next to these, for comparison only. Results: a table on stdout and
JSON at ``--json``. Timings depend on the machine (the figures in docs/operator-benchmarks.md come from a
2-core machine shared with other jobs); nothing here asserts on them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from benchmarks.operator_figures import (
    BenchObject,
    Scenario,
    count_window,
    open_watches,
    parse_audit,
    plan_scenario,
    render_table,
    summarize_latencies,
    vmrss_bytes,
    watch_sessions,
)
from statuswatch.aiokit import stop_tasks
from statuswatch.cluster.operator_testing import OperatorProcess, operator_rules
from statuswatch.cluster.testing import E2ECluster, write_token_kubeconfig

ROOT = Path(__file__).resolve().parents[1]
CRD_FILE = ROOT / "crds" / "statuswatches.statuswatch.io.yaml"
OPERATOR_ROLE = ROOT / "config" / "rbac" / "role.yaml"
SW_PATH = "/apis/statuswatch.io/v1alpha1"
LABEL = ("statuswatch.io/bench", "operator")
SYSTEM_NAMESPACE = "bench-op-system"
SERVICE_ACCOUNT = "statuswatch"
OPERATOR_USER = f"system:serviceaccount:{SYSTEM_NAMESPACE}:{SERVICE_ACCOUNT}"
WAIT_LIMIT = 30.0  # a change not shown within this long counts as missed (reported, not retried)

AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "rules": [
        {"level": "Metadata", "users": [OPERATOR_USER]},
        {"level": "None"},
    ],
}


def _say(text: str) -> None:
    print(text, flush=True)


# -- the operator --------------------------------------------------------------------------------------


class ClusterWideOperator(OperatorProcess):
    """``statuswatch run --all-namespaces``, with its memory and CPU time read from /proc.

    ``module`` runs another entry point with the same arguments (``benchmarks.peers.traced_operator``);
    ``env`` adds to the environment (both are OperatorProcess's)."""

    def __init__(self, kubeconfig: Path, namespace: str, log_dir: Path, *extra_args: str) -> None:
        super().__init__(kubeconfig, namespace, log_dir, *extra_args, all_namespaces=True, ready_timeout=120)

    def rss(self) -> int:
        return vmrss_bytes(Path(f"/proc/{self.pid}/status").read_text())

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def _operator_view(operator: OperatorProcess) -> dict[str, float]:
    """The operator's own counters that overlap with what is measured here (for comparison only)."""
    wanted = (
        "statuswatch_status_writes_total",
        "statuswatch_watch_streams",
        "statuswatch_watched_objects",
        "rest_client_requests_total",
        "statuswatch_change_to_status_seconds_count",
        "statuswatch_change_to_status_seconds_sum",
    )
    return {key: value for key, value in operator.metrics().items() if key.partition("{")[0] in wanted}


# -- the API, as the harness sees it -------------------------------------------------------------------


class Api:
    """Admin requests and the harness's own watch, over plain aiohttp (nothing from the operator's code)."""

    def __init__(self, cluster: E2ECluster, session: aiohttp.ClientSession) -> None:
        self.server = cluster.server
        self.ssl = cluster.ssl_context()
        self.headers = cluster.auth_headers()
        self.session = session

    async def call(self, method: str, path: str, body: Any = None, **params: str) -> tuple[int, Any]:
        async with self.session.request(
            method, self.server + path, json=body, params=params, ssl=self.ssl, headers=self.headers
        ) as response:
            data = await response.read()
            try:
                return response.status, json.loads(data)
            except ValueError:
                return response.status, data.decode(errors="replace")


def object_path(obj: BenchObject, *, collection: bool = False) -> str:
    plural = {"ConfigMap": "configmaps", "Service": "services", "Deployment": "deployments"}[obj.kind]
    base = f"/apis/{obj.group}/v1" if obj.group else "/api/v1"
    path = f"{base}/namespaces/{obj.namespace}/{plural}"
    return path if collection else f"{path}/{obj.name}"


def manifest(obj: BenchObject) -> dict[str, Any]:
    metadata = {"name": obj.name, "namespace": obj.namespace, "labels": {LABEL[0]: LABEL[1]}}
    if obj.kind == "ConfigMap":
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"key": obj.name}}
    if obj.kind == "Service":
        spec = {"selector": {"app": obj.name}, "ports": [{"port": 80, "targetPort": 8080}]}
        return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}
    labels = {"app": obj.name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
        },
    }


def statuswatch(namespace: str, name: str, listed: tuple[BenchObject, ...], poll: str) -> dict[str, Any]:
    return {
        "apiVersion": "statuswatch.io/v1alpha1",
        "kind": "StatusWatch",
        "metadata": {"name": name, "namespace": namespace, "labels": {LABEL[0]: LABEL[1]}},
        "spec": {
            "pollInterval": poll,
            "identifiers": [{"group": o.group, "kind": o.kind, "name": o.name} for o in listed],
        },
    }


Check = Callable[[Mapping[str, Any]], bool]


@dataclass
class _Waiter:
    key: tuple[str, str]
    check: Check
    done: asyncio.Future[float]


@dataclass
class Observer:
    """The harness's own watch on the benchmark's StatusWatches: latest objects and event arrival times."""

    api: Api
    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    waiters: list[_Waiter] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    reconnects: int = 0
    failure: Exception | None = None
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        resource_version = await self._list()
        self._task = asyncio.create_task(self._watch_or_fail(resource_version))

    async def _watch_or_fail(self, resource_version: str) -> None:
        """The watch; if it fails, every waiter fails with it rather than counting as a missed change."""
        try:
            await self._watch(resource_version)
        except Exception as error:
            self.failure = error
            for waiter in self.waiters:
                if not waiter.done.done():
                    waiter.done.set_exception(error)
            self.changed.set()
            raise

    async def stop(self) -> None:
        # a failure of the watch has already been passed to the waiters (see _watch_or_fail)
        await stop_tasks([self._task])

    async def _list(self) -> str:
        status, body = await self.api.call("GET", f"{SW_PATH}/statuswatches", labelSelector="=".join(LABEL))
        if status != 200:
            raise RuntimeError(f"listing statuswatches: {status} {body}")
        self.objects = {_key(item): item for item in body["items"]}
        version: str = body["metadata"]["resourceVersion"]
        return version

    async def _watch(self, resource_version: str) -> None:
        params = {
            "watch": "1",
            "allowWatchBookmarks": "true",
            "labelSelector": "=".join(LABEL),
            "timeoutSeconds": "1800",
        }
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        while True:
            params["resourceVersion"] = resource_version
            async with self.api.session.get(
                self.api.server + f"{SW_PATH}/statuswatches",
                params=params,
                ssl=self.api.ssl,
                headers=self.api.headers,
                timeout=timeout,
            ) as response:
                if response.status != 200:
                    raise RuntimeError(f"watching statuswatches: {response.status} {await response.text()}")
                async for line in response.content:
                    arrived = time.monotonic()
                    event = json.loads(line)
                    if event["type"] == "ERROR":
                        resource_version = await self._list()  # 410: start over from a fresh list
                        break
                    obj = event["object"]
                    resource_version = obj["metadata"]["resourceVersion"]
                    if event["type"] == "BOOKMARK":
                        continue
                    if event["type"] == "DELETED":
                        self.objects.pop(_key(obj), None)
                    else:
                        self.objects[_key(obj)] = obj
                        self._notify(_key(obj), obj, arrived)
                    self.changed.set()
            self.reconnects += 1

    def _notify(self, key: tuple[str, str], obj: Mapping[str, Any], arrived: float) -> None:
        for waiter in list(self.waiters):
            if waiter.key == key and not waiter.done.done() and waiter.check(obj):
                waiter.done.set_result(arrived)
                self.waiters.remove(waiter)

    def expect(self, key: tuple[str, str], check: Check) -> asyncio.Future[float]:
        """A future for the arrival time of the first event, from now on, of ``key`` that passes ``check``."""
        if self.failure is not None:
            raise RuntimeError("the harness's watch on statuswatches failed") from self.failure
        waiter = _Waiter(key, check, asyncio.get_running_loop().create_future())
        self.waiters.append(waiter)
        return waiter.done

    def forget(self, future: asyncio.Future[float]) -> None:
        self.waiters = [w for w in self.waiters if w.done is not future]

    async def until(self, predicate: Callable[[], bool], limit: float, what: str) -> None:
        """Until ``predicate()`` holds, re-checked after each event; TimeoutError after ``limit`` seconds."""
        deadline = time.monotonic() + limit
        while not predicate():
            if self.failure is not None:
                raise RuntimeError("the harness's watch on statuswatches failed") from self.failure
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {limit:g}s waiting for {what}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 1.0))


def _key(obj: Mapping[str, Any]) -> tuple[str, str]:
    return obj["metadata"]["namespace"], obj["metadata"]["name"]


def is_current(obj: Mapping[str, Any]) -> bool:
    """The StatusWatch's status is for its current spec and reads AllCurrent."""
    status = obj.get("status") or {}
    return (
        status.get("observedGeneration") == obj["metadata"].get("generation")
        and status.get("aggregateStatus") == "Current"
    )


def shows(kind: str, name: str, wanted: str) -> Check:
    def check(obj: Mapping[str, Any]) -> bool:
        for resource in (obj.get("status") or {}).get("resources") or []:
            if resource.get("kind") == kind and resource.get("name") == name:
                return bool(resource.get("status") == wanted)
        return False

    return check


# -- measurements --------------------------------------------------------------------------------------


@dataclass
class LatencyRun:
    """Samples in seconds: from the request leaving the harness, and from its response (a lower bound)."""

    from_request: list[float] = field(default_factory=list)
    from_response: list[float] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "from_request": summarize_latencies(self.from_request),
            "from_response": summarize_latencies(self.from_response),
            "missed": self.missed,
        }


async def measure_latency(
    api: Api, observer: Observer, targets: list[tuple[tuple[str, str], BenchObject]], samples: int
) -> LatencyRun:
    """Delete, then recreate, ConfigMaps listed by the targets; each step is one sample."""
    run = LatencyRun()
    index = 0
    while len(run.from_request) + len(run.missed) < samples:
        key, obj = targets[index % len(targets)]
        index += 1
        for step, wanted in (("DELETE", "NotFound"), ("POST", "Current")):
            arrival = observer.expect(key, shows(obj.kind, obj.name, wanted))
            sent = time.monotonic()
            if step == "DELETE":
                status, body = await api.call("DELETE", object_path(obj))
            else:
                status, body = await api.call("POST", object_path(obj, collection=True), manifest(obj))
            answered = time.monotonic()
            if status not in (200, 201, 202):
                raise RuntimeError(f"{step} {obj.name}: {status} {body}")
            try:
                arrived = await asyncio.wait_for(arrival, WAIT_LIMIT)
            except TimeoutError:
                observer.forget(arrival)
                run.missed.append(f"{step} {obj.namespace}/{obj.name}: not shown within {WAIT_LIMIT:g}s")
                continue
            run.from_request.append(arrived - sent)
            run.from_response.append(arrived - answered)
            await asyncio.sleep(0.05)  # let the operator's follow-up work (events) settle: no overlap
    return run


async def create_all(
    api: Api, paths_and_bodies: list[tuple[str, dict[str, Any]]], concurrency: int = 16
) -> None:
    """POST each object; one that already exists (409) is kept, so a rerun reuses the cluster's objects.

    ``concurrency`` workers share one queue of requests (no task per object: 100,000 of them cost more
    than the requests); a 429 (the API server's max-in-flight) is retried after a second.
    """
    pending = iter(paths_and_bodies)

    async def worker() -> None:
        for path, body in pending:
            for _attempt in range(30):
                status, answer = await api.call("POST", path, body)
                if status != 429:
                    break
                await asyncio.sleep(1)
            if status not in (201, 409):
                raise RuntimeError(f"POST {path}: {status} {answer}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))


# -- setup ---------------------------------------------------------------------------------------------


def start_cluster(args: argparse.Namespace) -> tuple[E2ECluster, Path | None]:
    """The cluster, and the audit log path when the local control plane was restarted with auditing."""
    if args.kubeconfig is not None:
        from statuswatch.cluster.testing import ExistingE2ECluster

        _say(f"using the cluster of {args.kubeconfig}; API requests are not counted (no audit log access)")
        return ExistingE2ECluster(args.kubeconfig), None
    from statuswatch.cluster.testing import LocalE2ECluster

    cluster = LocalE2ECluster(args.dir, keep=True)
    policy = args.dir / "bench-operator-audit-policy.yaml"
    policy.write_text(yaml.safe_dump(AUDIT_POLICY))
    policy_flag = f"--audit-policy-file={policy}"
    apiserver = cluster.local.running().get("kube-apiserver")
    if apiserver is not None and policy_flag in apiserver.argv:
        path = next(a.partition("=")[2] for a in apiserver.argv if a.startswith("--audit-log-path="))
        _say(f"the API server already audits {OPERATOR_USER} into {path}")
        return cluster, Path(path)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    audit_log = args.dir / "logs" / f"audit-bench-operator-{stamp}.log"
    _say(f"restarting the API server with auditing of {OPERATOR_USER} into {audit_log}")
    # The controllers are left running: restarted along with the API server, KWOK was seen not to act on
    # pods created afterwards for minutes (until its watches were cut again).
    cluster.restart_apiserver([policy_flag, f"--audit-log-path={audit_log}"], restart_controllers=False)
    return cluster, audit_log


def operator_kubeconfig(cluster: E2ECluster, directory: Path) -> Path:
    """A token kubeconfig for ServiceAccount statuswatch, bound to the shipped ClusterRole's rules."""
    name = "statuswatch-bench-operator"
    subject = {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": SYSTEM_NAMESPACE}
    documents = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": SERVICE_ACCOUNT, "namespace": SYSTEM_NAMESPACE},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": operator_rules(OPERATOR_ROLE),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [subject],
        },
    ]
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(documents))
    token = cluster.kubectl(
        "create", "token", SERVICE_ACCOUNT, "-n", SYSTEM_NAMESPACE, "--duration=4h"
    ).stdout.strip()
    return write_token_kubeconfig(directory / "operator-kubeconfig", cluster, token, SYSTEM_NAMESPACE)


def prepare(cluster: E2ECluster, namespaces: list[str]) -> None:
    cluster.kubectl("apply", "-f", str(CRD_FILE))
    cluster.kubectl(
        "wait", "--for=condition=Established", "crd/statuswatches.statuswatch.io", "--timeout=60s"
    )
    documents = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        for name in [SYSTEM_NAMESPACE, *namespaces]
    ]
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(documents))


async def delete_statuswatches(api: Api, namespaces: list[str]) -> None:
    """Every run starts from no StatusWatches: one delete-collection per namespace (no finalizers)."""
    selector = "=".join(LABEL)
    for namespace in namespaces:
        path = f"{SW_PATH}/namespaces/{namespace}/statuswatches"
        status, body = await api.call("DELETE", path, labelSelector=selector)
        if status != 200:
            raise RuntimeError(f"deleting the StatusWatches of {namespace}: {status} {body}")
    deadline = time.monotonic() + 120
    while True:
        status, body = await api.call("GET", f"{SW_PATH}/statuswatches", labelSelector=selector, limit="1")
        if status == 200 and not body["items"]:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"StatusWatches of an earlier run still there after 120s: {status}")
        await asyncio.sleep(0.5)


# -- the run -------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    namespaces = [f"bench-op-{i}" for i in range(args.namespaces)]
    scenario = plan_scenario(args.objects, args.statuswatches, namespaces)
    cluster, audit_log = start_cluster(args)
    prepare(cluster, namespaces)
    kubeconfig = operator_kubeconfig(cluster, args.dir)
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "sizes": {
            "objects": args.objects,
            "statuswatches": args.statuswatches,
            "identifiers_per_statuswatch": args.objects // args.statuswatches,
            "namespaces": args.namespaces,
            "kinds": sorted({o.kind for o in scenario.objects}),
            "poll_interval": args.poll_interval,
            "samples": args.samples,
            "idle_s": args.idle,
        },
        "started": _now().isoformat(),
    }
    session_timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=session_timeout) as session:
        api = Api(cluster, session)
        await delete_statuswatches(api, namespaces)
        _say(
            f"creating {len(scenario.objects)} objects in {len(namespaces)} namespaces (existing ones kept)…"
        )
        started = time.monotonic()
        await create_all(api, [(object_path(o, collection=True), manifest(o)) for o in scenario.objects])
        for namespace in namespaces:
            await asyncio.to_thread(
                cluster.kubectl,
                "wait",
                "--for=condition=Available",
                "deployment",
                "--all",
                "-n",
                namespace,
                "--timeout=600s",
                timeout=660,
            )
        result["setup_s"] = round(time.monotonic() - started, 1)

        observer = Observer(api)
        await observer.start()
        operator = ClusterWideOperator(kubeconfig, "", args.dir)
        try:
            await _phases(args, api, observer, operator, scenario, result, audit_log)
        finally:
            await observer.stop()
            with contextlib.suppress(AssertionError):
                operator.stop()
            result["operator_log"] = str(operator.log_file)
    return result


async def _phases(
    args: argparse.Namespace,
    api: Api,
    observer: Observer,
    operator: ClusterWideOperator,
    scenario: Scenario,
    result: dict[str, Any],
    audit_log: Path | None,
) -> None:
    watches = list(scenario.watches)
    first_ns, first_name, first_listed = watches[0]
    first_key = (first_ns, first_name)

    # Phase 1: one StatusWatch.
    await create_all(
        api,
        [(f"{SW_PATH}/namespaces/{first_ns}/statuswatches", statuswatch(*watches[0], args.poll_interval))],
    )
    await asyncio.to_thread(operator.start)
    result["operator_pid"] = operator.pid
    await observer.until(lambda: is_current(observer.objects.get(first_key, {"metadata": {}})), 120, "1 sw")
    _say("1 StatusWatch is AllCurrent; measuring change→status latency…")
    targets = [(first_key, o) for o in first_listed if o.kind == "ConfigMap"]
    one = await measure_latency(api, observer, targets, args.samples)
    result["latency_1"] = one.summary()
    result["rss_1_bytes"] = operator.rss()
    _say(f"  {_latency_line(one)}")

    # Phase 2a: one StatusWatch per namespace, so that every object of every kind is in the shared view
    # (cluster-wide streams) while there are still few StatusWatches: memory for the objects alone.
    def post(selection: list[tuple[str, str, tuple[BenchObject, ...]]]) -> list[tuple[str, dict[str, Any]]]:
        return [
            (f"{SW_PATH}/namespaces/{ns}/statuswatches", statuswatch(ns, n, o, args.poll_interval))
            for ns, n, o in selection
        ]

    seen_namespaces = {first_ns}
    per_namespace = watches[:1]
    for watch in watches[1:]:
        if watch[0] not in seen_namespaces:
            seen_namespaces.add(watch[0])
            per_namespace.append(watch)
    await create_all(api, post(per_namespace[1:]))
    few = [(ns, name) for ns, name, _ in per_namespace]
    await observer.until(
        lambda: all(is_current(observer.objects.get(k, {"metadata": {}})) for k in few), 300, "few"
    )
    await asyncio.sleep(5)
    result["rss_objects_only_bytes"] = operator.rss()
    result["rss_objects_only_statuswatches"] = len(few)
    _say(f"{len(few)} StatusWatches (one per namespace) AllCurrent; RSS {operator.rss() / 2**20:.0f} MiB")

    # Phase 2b: all StatusWatches.
    rest = [w for w in watches if (w[0], w[1]) not in set(few)]
    _say(f"creating {len(rest)} more StatusWatches…")
    started = time.monotonic()
    await create_all(api, post(rest))
    keys = [(ns, name) for ns, name, _ in watches]

    def all_current() -> bool:
        return all(is_current(observer.objects.get(k, {"metadata": {}})) for k in keys)

    await observer.until(all_current, 900, f"{len(keys)} StatusWatches AllCurrent")
    result["sync_s"] = round(time.monotonic() - started, 2)
    result["sync_statuswatches"] = len(rest)
    await asyncio.sleep(5)  # let the garbage of the sync go before reading memory
    result["rss_after_sync_bytes"] = operator.rss()
    result["cpu_after_sync_s"] = operator.cpu_seconds()
    result["operator_metrics_after_sync"] = _operator_view(operator)
    watch_check_at = _now()
    _say(f"{len(keys)} StatusWatches AllCurrent, {result['sync_s']}s after creating {len(rest)}; latency…")

    # Spread the samples over many watches: each target is a different StatusWatch's first ConfigMap.
    targets = []
    for ns, name, listed in watches:
        configmaps = [o for o in listed if o.kind == "ConfigMap"]
        targets.append(((ns, name), configmaps[0]))
    many = await measure_latency(api, observer, targets, args.samples)
    result["latency_many"] = many.summary()
    await asyncio.sleep(5)
    result["rss_after_latency_bytes"] = operator.rss()
    _say(f"  {_latency_line(many)}")

    # Phase 3: idle.
    await observer.until(all_current, 120, "every StatusWatch AllCurrent again")
    await asyncio.sleep(args.settle)
    _say(f"idle window: {args.idle:g}s with nothing changing…")
    before = _operator_view(operator)
    rss_before, cpu_before = operator.rss(), operator.cpu_seconds()
    reconnects_before = observer.reconnects
    idle_start = _now()
    await asyncio.sleep(args.idle)
    idle_end = _now()
    result["idle"] = {
        "start": idle_start.isoformat(),
        "end": idle_end.isoformat(),
        "operator_metrics_before": before,
        "operator_metrics_after": _operator_view(operator),
        "rss_before_bytes": rss_before,
        "rss_after_bytes": operator.rss(),
        "operator_cpu_s": round(operator.cpu_seconds() - cpu_before, 2),
        "harness_watch_reconnects": observer.reconnects - reconnects_before,
    }
    result["cpu_end_s"] = operator.cpu_seconds()
    if audit_log is not None:
        await asyncio.sleep(1)  # the log backend writes as requests end; give the last lines a moment
        records = parse_audit((await asyncio.to_thread(audit_log.read_text)).splitlines())
        counts = count_window(records, OPERATOR_USER, idle_start, idle_end)
        result["idle"]["audit"] = {
            "log": str(audit_log),
            "requests": counts.as_dict(),
            "reads": counts.reads,
            "writes": counts.writes,
            "status_patches": counts.count("patch", "statuswatches/status"),
            "watches_started": counts.watches_started,
        }
        # Every watch that ended or began inside the window, to tell a reconnect from a new stream.
        result["idle"]["audit"]["watch_turnover"] = [
            {
                "resource": w.resource,
                "namespace": w.namespace,
                "received": w.received.isoformat(),
                "ended": w.ended.isoformat() if w.ended else None,
                "lasted_s": w.lasted_s,
                "uri": w.uri,
            }
            for w in watch_sessions(records, OPERATOR_USER)
            if idle_start <= w.received < idle_end or (w.ended and idle_start <= w.ended < idle_end)
        ]
        result["open_watches"] = {
            "after_sync": dict(open_watches(records, OPERATOR_USER, watch_check_at)),
            "idle_start": dict(open_watches(records, OPERATOR_USER, idle_start)),
            "idle_end": dict(open_watches(records, OPERATOR_USER, idle_end)),
        }
        started_at = datetime.fromisoformat(result["started"])
        result["requests_whole_run"] = count_window(records, OPERATOR_USER, started_at, idle_end).as_dict()


def _latency_line(run: LatencyRun) -> str:
    s = run.summary()["from_request"]
    if not s["samples"]:
        return f"no samples ({len(run.missed)} missed)"
    return (
        f"{s['samples']} samples: p50 {s['p50_s'] * 1000:.0f} ms, p99 {s['p99_s'] * 1000:.0f} ms, "
        f"max {s['max_s'] * 1000:.0f} ms, {len(run.missed)} missed"
    )


def table(result: Mapping[str, Any]) -> str:
    sizes = result["sizes"]
    m = sizes["statuswatches"]

    def ms(summary: Mapping[str, Any], key: str) -> str:
        return f"{summary[key] * 1000:.0f} ms" if summary.get("samples") else "n/a"

    def mib(value: int) -> str:
        return f"{value / 2**20:.0f} MiB"

    rows = []
    for label, key in (("1 StatusWatch", "latency_1"), (f"{m} StatusWatches", "latency_many")):
        s = result[key]["from_request"]
        missed = len(result[key]["missed"])
        rows.append(
            (
                f"change→status p50/p99, {label}",
                f"{ms(s, 'p50_s')} / {ms(s, 'p99_s')} ({s['samples']} samples, {missed} missed)",
                "one status write; p99 < 500 ms (issue 11)",
            )
        )
    rows.append((f"sync of {m} StatusWatches", f"{result['sync_s']:.1f} s", "(reported)"))
    rows.append(
        (
            f"operator RSS, {m} SW / {sizes['objects']} objects, after sync",
            mib(result["rss_after_sync_bytes"]),
            "< 150 MB at 2x size (issue 11)",
        )
    )
    rows.append(
        (
            f"operator RSS, {result['rss_objects_only_statuswatches']} SW (every object cached)",
            mib(result["rss_objects_only_bytes"]),
            "(baseline: objects only)",
        )
    )
    rows.append(("operator RSS after the latency runs", mib(result["rss_after_latency_bytes"]), "no growth"))
    audit = result.get("idle", {}).get("audit")
    idle = f"{sizes['idle_s']:g} s idle"
    if audit is not None:
        rows.append((f"API reads in {idle} (audit)", str(audit["reads"]), "0"))
        rows.append((f"API writes in {idle} (audit)", str(audit["writes"]), "0"))
        rows.append((f"status patches in {idle} (audit)", str(audit["status_patches"]), "0"))
        rows.append((f"watches started in {idle} (audit)", str(audit["watches_started"]), "0"))
        rows.append((f"operator CPU in {idle}", f"{result['idle']['operator_cpu_s']:.2f} s", "~0"))
        opened = result["open_watches"]["idle_end"]
        kinds = len(sizes["kinds"]) + 2  # the listed kinds, plus the ReplicaSets and Pods of Deployments
        rows.append(
            ("watch connections open (audit)", str(sum(opened.values())), f"<= {kinds} kinds + kopf's")
        )
    else:
        rows.append((f"API requests in {idle}", "not counted (no audit log)", "0"))
    text = render_table(rows)
    if audit is not None:
        opened = result["open_watches"]["idle_end"]
        text += "\nopen watches by resource: " + ", ".join(f"{r} {n}" for r, n in sorted(opened.items()))
        requests = json.dumps(audit["requests"]) if audit["requests"] else "none"
        text += f"\nrequests in the idle window: {requests}"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--statuswatches", type=int, default=500)
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--namespaces", type=int, default=5)
    parser.add_argument("--samples", type=int, default=200, help="latency samples per run (default 200)")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds of the idle window (default 60)")
    parser.add_argument("--settle", type=float, default=10.0, help="quiet seconds before the idle window")
    parser.add_argument("--poll-interval", default="5s", help="the StatusWatches' pollInterval (default 5s)")
    parser.add_argument(
        "--kubeconfig", type=Path, help="an existing cluster (default: the local control plane)"
    )
    parser.add_argument(
        "--dir", type=Path, default=Path("/tmp/cp-bench-operator"), help="local control plane dir"
    )
    parser.add_argument(
        "--json", type=Path, default=Path("bench-operator.json"), help="where to write the results"
    )
    args = parser.parse_args(argv)
    args.dir = args.dir.absolute()
    args.dir.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(run(args))
    args.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print()
    print(table(result))
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
