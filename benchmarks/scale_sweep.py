"""How the operator grows: RSS, idle CPU, change→status p99 and initial sync against the number of
StatusWatches at a fixed object count, and against the object count at fixed StatusWatches (issue 21),
with the Go kstatus poller on the same axes.

    python -m benchmarks.scale_sweep [--dir DIR] [--out DIR] [--statuswatches 100,1000,3000,10000]
                                     [--objects 10000,30000,100000] [--fixed 1000] [--trace M] [--docs]

The cluster is that of ``benchmarks.scale`` (same control plane, ServiceAccounts, audit policy and object
mix): namespaces of 1,000 objects each (the large mix), filled in order, so that N objects are the first
N / 1,000 namespaces. Each point starts a fresh operator, creates M StatusWatches of 10 identifiers (spread
over max(10, M / 100) namespaces), and measures: initial sync (creation to every one AllCurrent), RSS after
sync, CPU seconds in a 60 s window with nothing changing (per idle minute), and change→status over
delete/recreate changes of listed ConfigMaps (the operator alone, as in ``benchmarks.scale``). Then the
operator stops and the Go poller runs on the same M x 10 identifiers: its sync, RSS and idle CPU (its
change→status is bounded by its 5 s interval and is not measured here). The object sweep runs first, in
ascending order, since objects are only ever added.

``--trace M``: one more point with the operator under tracemalloc (``benchmarks.peers.traced_operator``),
snapshots after 100 and after M StatusWatches, so that the memory per StatusWatch is split by the part of
the program that holds it (kopf's share included). Writes ``sweep.json``, ``sweep.md`` and plots into
``--out``; ``--docs`` replaces the sweep's section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.bench_operator import (
    SW_PATH,
    Api,
    ClusterWideOperator,
    Observer,
    create_all,
    delete_statuswatches,
    measure_latency,
    statuswatch,
)
from benchmarks.operator_figures import BenchObject
from benchmarks.peers import kstatus_go
from benchmarks.scale import (
    BULK_CONCURRENCY,
    DOCS,
    POLL_INTERVAL,
    PollerProcess,
    _say,
    create_missing,
    peer_kubeconfigs,
    start_cluster,
    tracker,
    wait_rolled_out,
    wait_serving,
)
from benchmarks.scale_figures import Size, growth, plan

__all__ = ["main"]

PER_NAMESPACE = 1_000  # objects per namespace: the large mix
STEADY_S = 60.0
LATENCY_SAMPLES = 100
BEGIN, END = "<!-- scale:sweep:begin -->", "<!-- scale:sweep:end -->"


def layout(
    objects: int, statuswatches: int, per_namespace: int = PER_NAMESPACE, min_spread: int = 10
) -> tuple[int, Size]:
    """The namespaces that hold ``objects``, and the size of the StatusWatches' share of them: spread over
    ``max(min_spread, M x 10 / per_namespace)`` namespaces."""
    spread = max(min_spread, statuswatches * 10 // per_namespace)
    if objects % per_namespace or spread * per_namespace > objects or statuswatches % spread:
        raise ValueError(f"{statuswatches} StatusWatches do not fit in {objects} objects")
    return objects // per_namespace, Size(statuswatches * 10, statuswatches, spread, STEADY_S, 0, 0, 0)


class Sweep:
    def __init__(self, args: argparse.Namespace, api: Api, configs: dict[str, Path], go: Path | None) -> None:
        self.args = args
        self.api = api
        self.configs = configs
        self.go = go
        self.namespaces = [f"bench-scale-{i}" for i in range(max(args.objects) // args.per_namespace)]
        self.filled = 0  # namespaces whose objects exist

    async def fill(self, namespaces: int) -> None:
        if namespaces <= self.filled:
            return
        wanted = self.namespaces[self.filled : namespaces]
        objects = plan(
            Size(len(wanted) * self.args.per_namespace, len(wanted), len(wanted), 0, 0, 0, 0), wanted
        ).objects
        _say(f"creating {len(objects)} objects in {len(wanted)} more namespaces…")
        t0 = time.monotonic()
        await create_missing(self.api, objects)
        await wait_rolled_out(self.api, self.namespaces[:namespaces], max(900.0, len(objects) / 30))
        self.filled = namespaces
        _say(f"created and rolled out in {time.monotonic() - t0:.0f} s")

    async def point(self, objects: int, statuswatches: int, *, traced: bool = False) -> dict[str, Any]:
        namespaces, size = layout(objects, statuswatches, self.args.per_namespace, self.args.min_spread)
        await self.fill(namespaces)
        scenario = plan(size, self.namespaces[: size.namespaces])
        name = f"{'traced-' if traced else ''}{objects}-{statuswatches}"
        out = self.args.out / name
        out.mkdir(parents=True, exist_ok=True)
        await delete_statuswatches(self.api, self.namespaces)
        result: dict[str, Any] = {"objects": objects, "statuswatches": statuswatches}
        operator = ClusterWideOperator(self.configs["shared"], "", out)
        trace_file = out / "trace.json"
        if traced:
            operator.module = "benchmarks.peers.traced_operator"
            operator.env = {"STATUSWATCH_TRACE_OUT": str(trace_file)}
            operator.ready_timeout = 600.0
        observer = Observer(self.api)
        await observer.start()
        await asyncio.to_thread(operator.start)
        try:
            await asyncio.sleep(5)
            result["rss_idle_bytes"] = operator.rss()
            posts = [
                (
                    f"{SW_PATH}/namespaces/{ns}/statuswatches",
                    statuswatch(ns, n, listed, f"{POLL_INTERVAL:g}s"),
                )
                for ns, n, listed in scenario.watches
            ]
            keys = [(ns, n) for ns, n, _ in scenario.watches]
            if traced:
                first = min(100, len(posts))
                await create_all(self.api, posts[:first], BULK_CONCURRENCY)
                await observer.until(tracker(observer, keys[:first]), 900, "the first StatusWatches")
                await asyncio.sleep(10)
                result["trace_first"] = {"statuswatches": first, **await self._snapshot(operator, trace_file)}
                result["rss_first_bytes"] = operator.rss()
                posts, keys_left = posts[first:], keys[first:]
            else:
                keys_left = keys
            _say(f"{name}: operator up, creating {len(posts)} StatusWatches…")
            t0 = time.monotonic()
            await create_all(self.api, posts, BULK_CONCURRENCY)
            await observer.until(tracker(observer, keys_left), 3600, f"{len(keys)} StatusWatches AllCurrent")
            result["sync_s"] = round(time.monotonic() - t0, 2)
            await asyncio.sleep(2 * POLL_INTERVAL)
            cpu0 = operator.cpu_seconds()
            await asyncio.sleep(STEADY_S)
            result["idle_cpu_s_per_min"] = round((operator.cpu_seconds() - cpu0) * 60 / STEADY_S, 3)
            result["rss_bytes"] = operator.rss()
            if traced:
                result["trace"] = await self._snapshot(operator, trace_file)
            else:
                targets = [
                    ((ns, n), next(o for o in listed if o.kind == "ConfigMap"))
                    for ns, n, listed in scenario.watches
                ]
                step = max(1, len(targets) // LATENCY_SAMPLES)
                run = await measure_latency(self.api, observer, targets[::step], LATENCY_SAMPLES)
                result["latency"] = run.summary()
            _say(f"{name}: {json.dumps({k: v for k, v in result.items() if not k.startswith('trace')})}")
        finally:
            await observer.stop()
            await asyncio.to_thread(operator.stop)
        if not traced and self.go is not None:
            result["kstatus_go"] = await self._go(scenario.objects, out)
        (out / "point.json").write_text(json.dumps(result, indent=1, default=str))
        return result

    async def _snapshot(self, operator: ClusterWideOperator, trace_file: Path) -> dict[str, Any]:
        _read_trace(trace_file, remove=True)
        os.kill(operator.pid, signal.SIGUSR1)
        for _ in range(600):
            data = _read_trace(trace_file)
            if data is not None:
                return {"rss_bytes": operator.rss(), **data}
            await asyncio.sleep(1)
        raise TimeoutError("the traced operator wrote no snapshot in 600 s")

    async def _go(self, objects: tuple[BenchObject, ...], out: Path) -> dict[str, Any]:
        assert self.go is not None
        ids = out / "identifiers.json"
        ids.write_text(
            json.dumps(
                [
                    {"group": o.group, "kind": o.kind, "namespace": o.namespace, "name": o.name}
                    for o in objects
                ]
            )
        )
        poller = PollerProcess(
            "kstatus_go",
            [
                str(self.go),
                "-kubeconfig",
                str(self.configs["kstatus_go"]),
                "-ids",
                str(ids),
                "-interval",
                f"{POLL_INTERVAL:g}s",
            ],
            out / "kstatus-go.log",
        )
        await poller.start()
        try:
            synced = await poller.first("synced", 0, 900)
            result: dict[str, Any] = {"sync_s": round(synced.time - poller.started, 2) if synced else None}
            await asyncio.sleep(2 * POLL_INTERVAL)
            cpu0 = poller.cpu_seconds()
            await asyncio.sleep(STEADY_S)
            result["idle_cpu_s_per_min"] = round((poller.cpu_seconds() - cpu0) * 60 / STEADY_S, 3)
            result["rss_bytes"] = poller.rss()
            return result
        finally:
            await poller.stop()


def _read_trace(path: Path, *, remove: bool = False) -> dict[str, Any] | None:
    """The traced operator's snapshot once it is written (it renames it into place), or None."""
    if remove:
        path.unlink(missing_ok=True)
        return None
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


async def sweep(args: argparse.Namespace) -> dict[str, Any]:
    namespaces = [f"bench-scale-{i}" for i in range(max(args.objects) // args.per_namespace)]
    cluster, _audit = await asyncio.to_thread(start_cluster, args.dir)
    configs = await asyncio.to_thread(peer_kubeconfigs, cluster, args.dir, namespaces)
    go: Path | None = None
    try:
        go = await asyncio.to_thread(kstatus_go.binary, _say)
    except Exception as error:  # no Go: the operator's curves alone, and the result says so
        _say(f"the Go kstatus poller is not available: {error}")
    result: dict[str, Any] = {"started": time.strftime("%Y-%m-%dT%H:%M", time.gmtime()), "points": []}
    if go is None:
        result["kstatus_go"] = "not available"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        api = Api(cluster, session)
        await wait_serving(api)
        runner = Sweep(args, api, configs, go)
        done: dict[tuple[int, int], dict[str, Any]] = {}
        plan_points = [(n, args.fixed) for n in sorted(args.objects)]
        plan_points += [(max(args.objects), m) for m in sorted(args.statuswatches)]
        for objects, statuswatches in [] if args.trace_only else plan_points:
            if (objects, statuswatches) in done:
                continue
            done[(objects, statuswatches)] = await runner.point(objects, statuswatches)
            result["points"] = list(done.values())
            (args.out / "sweep.json").write_text(json.dumps(result, indent=1, default=str))
        if args.trace:
            result["traced"] = await runner.point(max(args.objects), args.trace, traced=True)
    result["fixed_statuswatches"] = args.fixed
    result["fixed_objects"] = max(args.objects)
    return result


# -- outputs ---------------------------------------------------------------------------------------------


def _series(result: dict[str, Any], axis: str) -> list[dict[str, Any]]:
    if axis == "statuswatches":
        rows = [p for p in result["points"] if p["objects"] == result["fixed_objects"]]
    else:
        rows = [p for p in result["points"] if p["statuswatches"] == result["fixed_statuswatches"]]
    return sorted(rows, key=lambda p: p[axis])


FIGURES: tuple[tuple[str, str], ...] = (
    ("RSS MiB", "rss"),
    ("idle CPU s/min", "cpu"),
    ("change→status p99 ms", "p99"),
    ("initial sync s", "sync"),
)


def _value(point: dict[str, Any], figure: str, go: bool = False) -> float | None:
    data = point.get("kstatus_go") if go else point
    if not data:
        return None
    if figure == "rss":
        return float(data["rss_bytes"]) / 2**20
    if figure == "cpu":
        return float(data["idle_cpu_s_per_min"])
    if figure == "sync":
        sync = data.get("sync_s")
        return None if sync is None else float(sync)
    if go:
        return None
    p99 = point.get("latency", {}).get("from_request", {}).get("p99_s")
    return None if p99 is None else p99 * 1000


def sweep_markdown(result: dict[str, Any]) -> str:
    lines = []
    for axis, fixed in (
        ("statuswatches", f"{result['fixed_objects']:,} objects"),
        ("objects", f"{result['fixed_statuswatches']:,} StatusWatches"),
    ):
        series = _series(result, axis)
        if not series:
            continue
        lines.append(f"Against the number of {axis}, at {fixed}:")
        lines.append("")
        lines.append(f"| {axis} | " + " | ".join(f"{p[axis]:,}" for p in series) + " | growth |")
        lines.append("|---|" + "---:|" * len(series) + "---|")
        for label, figure in FIGURES:
            for go in (False, True):
                values = [_value(p, figure, go) for p in series]
                if all(v is None for v in values):
                    continue
                who = "Go kstatus poller" if go else "operator"
                cells = ["n/a" if v is None else f"{v:,.2f}" if v < 10 else f"{v:,.0f}" for v in values]
                xs = [float(p[axis]) for p, v in zip(series, values, strict=True) if v is not None]
                ys = [v for v in values if v is not None]
                lines.append(f"| {label}, {who} | " + " | ".join(cells) + f" | {growth(xs, ys)} |")
        missed = [len(p.get("latency", {}).get("missed", [])) for p in series]
        lines.append("| change→status misses (of 100) | " + " | ".join(str(m) for m in missed) + " | |")
        lines.append("")
    traced = result.get("traced")
    if traced and "trace_first" in traced:
        first, last = traced["trace_first"], traced["trace"]
        count = traced["statuswatches"] - first["statuswatches"]
        lines.append(
            f"Memory per StatusWatch, traced (tracemalloc) between {first['statuswatches']} and "
            f"{traced['statuswatches']:,} StatusWatches over {traced['objects']:,} objects: RSS "
            f"{(last['rss_bytes'] - first['rss_bytes']) / count / 1024:.1f} KiB per StatusWatch (traced "
            f"process), live Python objects "
            f"{(last['traced_bytes'] - first['traced_bytes']) / count / 1024:.1f} KiB:"
        )
        lines.append("")
        lines.append("| part | KiB per StatusWatch |")
        lines.append("|---|---:|")
        parts = set(first["by_part"]) | set(last["by_part"])
        for part in sorted(parts, key=lambda p: -(last["by_part"].get(p, 0) - first["by_part"].get(p, 0))):
            delta = (last["by_part"].get(part, 0) - first["by_part"].get(part, 0)) / count / 1024
            lines.append(f"| {part} | {delta:.2f} |")
        lines.append("")
    lines.append(
        f"Run of {result['started']} UTC; {STEADY_S:g} s idle windows, poll interval {POLL_INTERVAL:g} s."
    )
    return "\n".join(lines) + "\n"


def sweep_plots(result: dict[str, Any], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    for axis in ("statuswatches", "objects"):
        series = _series(result, axis)
        if len(series) < 2:
            continue
        fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
        for ax, (label, figure) in zip(axes, FIGURES, strict=True):
            for go, style in ((False, "o-"), (True, "s--")):
                points = [(p[axis], _value(p, figure, go)) for p in series]
                points = [(x, y) for x, y in points if y is not None]
                if points:
                    ax.plot(
                        *zip(*points, strict=True), style, label="Go kstatus poller" if go else "operator"
                    )
            ax.set_xscale("log")
            ax.set_xlabel(axis)
            ax.set_title(label)
            ax.legend(fontsize=7)
        fig.tight_layout()
        files.append(out / f"sweep-{axis}.png")
        fig.savefig(files[-1])
        plt.close(fig)
    return files


def update_docs(table: str, plots: list[str]) -> None:
    text = DOCS.read_text()
    if BEGIN not in text or END not in text:
        raise RuntimeError(f"{DOCS} has no {BEGIN} … {END} section")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    images = " ".join(f"![{name}](benchmarks/{name})" for name in plots)
    DOCS.write_text(f"{head}{BEGIN}\n{table}\n{images}\n{END}{tail}")


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dir", type=Path, default=Path("/tmp/cp-bench-scale"), help="local control plane dir"
    )
    parser.add_argument("--out", type=Path, default=Path("build/bench-sweep"))
    parser.add_argument("--statuswatches", type=_ints, default=[100, 1_000, 3_000, 10_000])
    parser.add_argument("--objects", type=_ints, default=[10_000, 30_000, 100_000])
    parser.add_argument("--fixed", type=int, default=1_000, help="StatusWatches of the object sweep")
    parser.add_argument("--trace", type=int, default=0, metavar="M", help="memory split at M StatusWatches")
    parser.add_argument("--trace-only", action="store_true", help="only the --trace point")
    parser.add_argument("--per-namespace", type=int, default=PER_NAMESPACE, help="objects per namespace")
    parser.add_argument("--min-spread", type=int, default=10, help="fewest namespaces StatusWatches use")
    parser.add_argument("--render", type=Path, metavar="SWEEP_JSON", help="only redo table, plots, docs")
    parser.add_argument("--docs", action="store_true")
    args = parser.parse_args(argv)
    args.dir, args.out = args.dir.absolute(), args.out.absolute()
    args.dir.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.render is not None:
        result = json.loads(args.render.read_text())
    else:
        result = asyncio.run(sweep(args))
        (args.out / "sweep.json").write_text(json.dumps(result, indent=1, default=str))
    table = sweep_markdown(result)
    (args.out / "sweep.md").write_text(table)
    files = sweep_plots(result, args.out)
    if args.docs:
        update_docs(table, [path.name for path in files])
        for path in files:
            (DOCS.parent / "benchmarks" / path.name).write_bytes(path.read_bytes())
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
