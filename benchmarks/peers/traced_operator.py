"""The operator under tracemalloc, to say where its memory per StatusWatch goes (kopf's share included).

    python -m benchmarks.peers.traced_operator run --all-namespaces ...   (the arguments of statuswatch)

Imports the operator's modules, starts tracing (``STATUSWATCH_TRACE_FRAMES`` frames, default 20; traced
imports took minutes), then runs ``python -m statuswatch`` in this process. On SIGUSR1 it writes a JSON
summary to ``STATUSWATCH_TRACE_OUT``
(then renames it into place, so a reader never sees half a file): traced bytes by the part of the program
that allocated them (see :func:`part_of`) and the largest allocation sites. Tracing costs CPU and about as
much memory again, so the benchmark uses it only for the memory split, never for the other figures.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import sys
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["PARTS", "main", "part_of", "summary"]

# (path fragment, part); the first frame (most recent first) inside one of them names the allocation's part
PARTS: tuple[tuple[str, str], ...] = (
    ("/kopf/", "kopf"),
    ("/statuswatch/controller/", "statuswatch.controller (workers, status)"),
    ("/statuswatch/polling/", "statuswatch.polling (polls, router, engine)"),
    ("/statuswatch/watchlist/", "statuswatch.watchlist (stores, streams)"),
    ("/statuswatch/kstatus/", "statuswatch.kstatus"),
    ("/statuswatch/", "statuswatch (other)"),
    ("/aiohttp/", "aiohttp"),
    ("/asyncio/", "asyncio"),
)


def part_of(filenames: list[str]) -> str:
    """The part that allocated, from a traceback's file names, most recent frame first."""
    for filename in filenames:
        for fragment, part in PARTS:
            if fragment in filename:
                return part
    return "other (imports, interpreter)"


def summary(snapshot: tracemalloc.Snapshot, top: int = 25) -> dict[str, Any]:
    by_part: Counter[str] = Counter()
    sites: Counter[str] = Counter()
    for stat in snapshot.statistics("traceback"):
        frames = list(reversed(stat.traceback))  # tracemalloc keeps the oldest frame first
        by_part[part_of([frame.filename for frame in frames])] += stat.size
        mine = next(
            (f for f in frames if "/site-packages/" in f.filename or "/statuswatch/" in f.filename), None
        )
        site = mine or frames[0]
        sites[f"{site.filename.rpartition('site-packages/')[2]}:{site.lineno}"] += stat.size
    return {
        "traced_bytes": sum(by_part.values()),
        "by_part": dict(by_part.most_common()),
        "top_sites": dict(sites.most_common(top)),
    }


def _dump(signum: int, frame: FrameType | None) -> None:
    out = Path(os.environ["STATUSWATCH_TRACE_OUT"])
    data = summary(tracemalloc.take_snapshot())
    partial = out.with_suffix(".partial")
    partial.write_text(json.dumps(data, indent=1))
    partial.replace(out)


def main() -> None:
    # Imports first, untraced: they are no cost per StatusWatch, and traced they take minutes.
    import kopf  # noqa: F401

    import statuswatch.cli
    import statuswatch.controller.runner  # noqa: F401

    tracemalloc.start(int(os.environ.get("STATUSWATCH_TRACE_FRAMES", "20")))
    signal.signal(signal.SIGUSR1, _dump)
    sys.argv = ["statuswatch", *sys.argv[1:]]
    runpy.run_module("statuswatch", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
