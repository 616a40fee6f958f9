"""How fast kstatus runs, next to what decoding the same objects costs.

Status is recomputed on every change the shared view sees, so computing a status should cost less than the
``json.loads`` that brought the object in. This benchmark reads real objects from an API server (the same
scenario as :mod:`benchmarks.bench_ingest`: a Deployment with its KWOK pods, ReplicaSets, Jobs, Services,
ConfigMaps, Secrets, Nodes, Namespaces; not its Events, which never get a status) and measures in one
run: decoding, computing on the full objects, projecting, and computing on projected objects.

Method: every operation is timed the same way (:func:`benchmarks.bench_ingest.time_per_item`): results are
dropped at once, and the garbage collector is collected before and disabled during each timing. An earlier
version timed ``json.loads`` while keeping every decoded object alive, so collections of a growing heap ran
inside that loop only and made decoding look about five times dearer than it is; the last row shows that
old method for comparison and is not one of the figures.

Run: ``python -m benchmarks.bench_kstatus [--repeat R] [--kubeconfig PATH | --objects-file FILE]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.bench_ingest import add_source_arguments, server_objects, time_per_item
from statuswatch.kstatus import compute, project


def _kept_alive(payloads: list[bytes], repeat: int) -> float:
    """The old method: decode every payload into a list that keeps them all, GC enabled (not a figure)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        kept = [json.loads(p) for p in payloads]
        best = min(best, time.perf_counter() - started)
        del kept
    return best / len(payloads)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_kstatus", description=__doc__.split("\n")[0]
    )
    add_source_arguments(parser)
    args = parser.parse_args(argv)

    objects, _, source = server_objects(args)
    # Events are watched for root causes, never given a status: they are not in this mix.
    objects = [obj for obj in objects if obj.get("kind") != "Event"]
    payloads = [json.dumps(obj, separators=(",", ":")).encode() for obj in objects]
    projected = [project(obj) for obj in objects]
    for full, small in zip(objects, projected, strict=True):
        assert compute(small) == compute(full)
    rounds = max(1, args.target // len(objects))
    items = list(range(len(objects)))
    operations: dict[str, Callable[[int], object]] = {
        "json.loads (full object)": lambda i: json.loads(payloads[i]),
        "compute (full object)": lambda i: compute(objects[i]),
        "project": lambda i: project(objects[i]),
        "compute (projected object)": lambda i: compute(projected[i]),
    }
    timings = time_per_item(items, operations, args.repeat, rounds)
    # Ten passes as one list, as the old benchmark's 20,000 objects: the heap it grows is what GC walks.
    old = _kept_alive(payloads * max(1, args.target // len(payloads)), args.repeat)

    n = len(objects)
    size = statistics.fmean(len(p) for p in payloads)
    projected_size = statistics.fmean(len(json.dumps(obj, separators=(",", ":"))) for obj in projected)
    print(f"kstatus benchmark: {n} objects from {source}, mean JSON size {size:.0f} B, projected")
    where = f"Python {platform.python_version()} on {platform.machine()}"
    print(f"  {projected_size:.0f} B; best of {args.repeat}; {where}")
    print(f"  {'operation':<44}{'per object':>12}{'vs json.loads':>15}")
    decode = timings["json.loads (full object)"]
    for name, seconds in timings.items():
        print(f"  {name:<44}{seconds * 1e6:>10.2f}us{seconds / decode:>14.2f}x")
    print(f"  {'(old method: json.loads, all kept, GC on)':<44}{old * 1e6:>10.2f}us{old / decode:>14.2f}x")
    return {**timings, "old method json.loads": old}


if __name__ == "__main__":
    main()
