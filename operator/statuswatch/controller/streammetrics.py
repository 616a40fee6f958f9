"""Gauges describing the shared view at scrape time: open streams by mode and state, objects held per kind.

Read from the view itself when Prometheus asks, so the figures are never out of step with the streams.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily

from statuswatch.watchlist.view import SharedView

__all__ = ["stream_gauges"]


def stream_gauges(*views: SharedView) -> Iterable[GaugeMetricFamily]:
    streams = GaugeMetricFamily(
        "statuswatch_watch_streams",
        "Open watch streams of the shared view, by kind, scope (cluster, namespace), sync mode "
        "(watchlist, list) and state (synced, syncing, failing).",
        labels=["group", "kind", "scope", "mode", "state"],
    )
    objects = GaugeMetricFamily(
        "statuswatch_watched_objects",
        "Objects held in the shared view, by API group and kind.",
        labels=["group", "kind"],
    )
    by_state: Counter[tuple[str, str, str, str, str]] = Counter()
    by_kind: Counter[tuple[str, str]] = Counter()
    streams_of_views = {id(stream): stream for view in views for stream in view.streams.values()}
    for stream in streams_of_views.values():
        mode: str = stream.sync_mode or "none"
        if stream.error is not None:
            state = "failing"
        elif stream.synced:
            state = "synced"
        else:
            state = "syncing"
        scope = "namespace" if stream.namespace else "cluster"
        by_state[(stream.group, stream.kind, scope, mode, state)] += 1
        by_kind[(stream.group, stream.kind)] += len(stream.store)
    for labels, count in sorted(by_state.items()):
        streams.add_metric(list(labels), count)
    for (group, kind), count in sorted(by_kind.items()):
        objects.add_metric([group, kind], count)
    return [streams, objects]
