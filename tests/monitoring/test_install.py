"""The monitoring pieces as installed: the chart's toggles (``helm template``) and ``config/monitoring``
(``kubectl kustomize``) render the same PrometheusRule and dashboard as the files under test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from statuswatch.cluster.gotools import HELM, ensure_tool
from statuswatch.cluster.testing import find_kubectl

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "statuswatch"
MONITORING = ROOT / "config" / "monitoring"

pytestmark = pytest.mark.timeout(2400)  # a cold helm build


@pytest.fixture(scope="module")
def helm() -> Path:
    return ensure_tool(HELM, say=lambda line: print(line, file=sys.__stderr__, flush=True))


def rendered(helm: Path, tmp_path: Path, values: dict[str, Any]) -> list[dict[str, Any]]:
    file = tmp_path / "values.json"
    file.write_text(json.dumps(values))
    result = subprocess.run(
        [str(helm), "template", "sw", str(CHART), "--namespace", "ops", "-f", str(file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def the_rule() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    return document


def test_the_chart_renders_no_monitoring_by_default(helm: Path, tmp_path: Path) -> None:
    kinds = {(document["kind"], document["metadata"]["name"]) for document in rendered(helm, tmp_path, {})}

    assert not any(kind == "PrometheusRule" for kind, _ in kinds)
    assert ("ConfigMap", "sw-statuswatch-dashboard") not in kinds


def test_the_chart_renders_the_rule_and_the_dashboard_when_asked(helm: Path, tmp_path: Path) -> None:
    values = {
        "monitoring": {
            "prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
            "dashboard": {"enabled": True, "namespace": "grafana"},
        }
    }
    documents = {
        (document["kind"], document["metadata"]["name"]): document
        for document in rendered(helm, tmp_path, values)
    }

    rule = documents[("PrometheusRule", "sw-statuswatch")]
    dashboard = documents[("ConfigMap", "sw-statuswatch-dashboard")]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["namespace"] == "ops"
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["spec"] == the_rule()["spec"]
    assert dashboard["metadata"]["namespace"] == "grafana"
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["statuswatch-dashboard.json"]) == json.loads(
        (MONITORING / "statuswatch-dashboard.json").read_text()
    )


def test_the_schema_refuses_an_unknown_monitoring_value(helm: Path, tmp_path: Path) -> None:
    file = tmp_path / "values.json"
    file.write_text(json.dumps({"monitoring": {"prometheusRule": {"enable": True}}}))
    result = subprocess.run(
        [str(helm), "template", "sw", str(CHART), "-f", str(file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "enable" in result.stderr


def test_kustomize_renders_the_rule_and_the_dashboard() -> None:
    result = subprocess.run(
        [find_kubectl(), "kustomize", str(MONITORING)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    documents = {
        (document["kind"], document["metadata"]["name"]): document
        for document in yaml.safe_load_all(result.stdout)
        if document
    }

    assert set(documents) == {("PrometheusRule", "statuswatch"), ("ConfigMap", "statuswatch-dashboard")}
    assert documents[("PrometheusRule", "statuswatch")]["spec"] == the_rule()["spec"]
    dashboard = documents[("ConfigMap", "statuswatch-dashboard")]
    assert dashboard["metadata"]["namespace"] == "statuswatch-system"
    assert json.loads(dashboard["data"]["statuswatch-dashboard.json"])["uid"] == "statuswatch"
