"""The optional monitoring (alerts, dashboard): every query names a metric the operator exports, and the
chart and ``config/monitoring`` ship the same files.

The exported names are read from the operator's own collectors, registered as ``runner.operate`` registers
them (counters and histograms of ``Metrics``, the supervisor's gauges, the shared view's stream gauges, the
serving gauge), so renaming a metric without its queries fails here. promtool's own checks of the rules are
in ``tests/monitoring``.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import yaml

from statuswatch.controller import runner
from statuswatch.controller.metrics import Metrics
from statuswatch.controller.peering import Gate
from statuswatch.controller.settings import OperatorSettings
from statuswatch.controller.streammetrics import stream_gauges
from statuswatch.controller.supervisor import Supervisor
from statuswatch.controller.testing import MemorySink, ScriptedPoll, StaticScopes
from statuswatch.controller.worker import WorkerContext

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "config" / "monitoring"
DASHBOARD = MONITORING / "statuswatch-dashboard.json"
RULE = MONITORING / "prometheusrule.yaml"
CHART_FILES = ROOT / "charts" / "statuswatch" / "files"

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or"}
_KEYWORDS |= {"unless", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (label matchers, grouping lists, ranges, functions and
    Grafana variables left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\$\{?\w+\}?", "", text)  # $__rate_interval, ${datasource}
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges and subqueries
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)\b(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    return names


async def exported_names() -> set[str]:
    metrics = Metrics()
    context = WorkerContext(
        poll=ScriptedPoll(),
        scope_of=StaticScopes({}),
        sink=MemorySink(),
        metrics=metrics,
        settings=OperatorSettings(),
        logger=logging.getLogger("test"),
    )
    supervisor = Supervisor(context)
    metrics.add_state("streams", lambda: stream_gauges())
    metrics.add_state("serving", lambda: runner._serving_gauge(cast(Gate, SimpleNamespace(active=True))))
    await supervisor.close()
    names: set[str] = set()
    for line in metrics.render().decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


def dashboard_queries() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            # Grafana's label_values(SELECTOR, LABEL): the selector is PromQL, the label is not.
            match = re.fullmatch(r"label_values\((.+),\s*\w+\)", variable["query"]["query"])
            assert match is not None, variable
            queries.append(match.group(1))
    return queries


def rule_queries() -> list[str]:
    document: dict[str, Any] = yaml.safe_load(RULE.read_text())
    return [rule["expr"] for group in document["spec"]["groups"] for rule in group["rules"]]


def test_metric_names_are_read_from_promql() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le) (rate(a_bucket{job=~"$job", x="b{c}"}[$__rate_interval]))) '
        "/ on (instance) group_left (pod) max without (kind) (b_total offset 5m) > bool 3 and c"
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "c"}


async def test_every_dashboard_query_names_exported_metrics() -> None:
    exported = await exported_names()
    queries = dashboard_queries()
    assert len(queries) >= 10
    for query in queries:
        names = metric_names(query)
        assert names, query
        assert names <= exported, f"{query}: {sorted(names - exported)} not exported"


async def test_every_alert_names_exported_metrics() -> None:
    exported = await exported_names()
    for query in rule_queries():
        names = metric_names(query)
        assert names, query
        assert names <= exported, f"{query}: {sorted(names - exported)} not exported"


def test_the_chart_ships_config_monitoring_files_as_links() -> None:
    for name in ("prometheusrule.yaml", "statuswatch-dashboard.json"):
        link = CHART_FILES / name
        assert link.is_symlink(), link
        assert link.resolve() == (MONITORING / name).resolve()


def test_the_kustomization_installs_the_rule_and_the_dashboard() -> None:
    kustomization: dict[str, Any] = yaml.safe_load((MONITORING / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["prometheusrule.yaml"]
    (generator,) = kustomization["configMapGenerator"]
    assert generator["files"] == [DASHBOARD.name]
    assert generator["options"]["labels"]["grafana_dashboard"] == "1"
