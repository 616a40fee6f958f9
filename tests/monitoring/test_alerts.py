"""The alerting rules checked and unit-tested by the real promtool (``promtool check rules``/``test rules``).

The rules live once, as the PrometheusRule in ``config/monitoring`` (the chart links to the same file);
promtool reads plain rule groups, so its ``spec`` is written out beside a copy of ``alerts_test.yaml``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULE = ROOT / "config" / "monitoring" / "prometheusrule.yaml"
ALERT_TESTS = Path(__file__).with_name("alerts_test.yaml")

pytestmark = pytest.mark.timeout(2400)  # a cold promtool build


def rule_groups(directory: Path) -> Path:
    document: dict[str, Any] = yaml.safe_load(RULE.read_text())
    path = directory / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": document["spec"]["groups"]}, sort_keys=False))
    return path


def run(promtool: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(promtool), *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )


def alert_names() -> list[str]:
    document: dict[str, Any] = yaml.safe_load(RULE.read_text())
    return [rule["alert"] for group in document["spec"]["groups"] for rule in group["rules"]]


def test_promtool_checks_the_rules(promtool: Path, tmp_path: Path) -> None:
    rules = rule_groups(tmp_path)

    result = run(promtool, "check", "rules", "--lint=all", "--lint-fatal", rules.name, cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_names())} rules found" in result.stdout


def test_promtool_runs_the_alert_unit_tests(promtool: Path, tmp_path: Path) -> None:
    rule_groups(tmp_path)
    shutil.copyfile(ALERT_TESTS, tmp_path / ALERT_TESTS.name)

    result = run(promtool, "test", "rules", ALERT_TESTS.name, cwd=tmp_path)

    print(result.stdout + result.stderr)  # the record the lead asked for (pytest -s shows it)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_every_alert_has_a_unit_test_that_sees_it_fire() -> None:
    tests: dict[str, Any] = yaml.safe_load(ALERT_TESTS.read_text())
    firing = {
        check["alertname"]
        for case in tests["tests"]
        for check in case.get("alert_rule_test", [])
        if check.get("exp_alerts")
    }

    assert firing == set(alert_names())


def test_a_broken_rule_is_refused(promtool: Path, tmp_path: Path) -> None:
    # The check has teeth: an expression that does not parse fails it.
    broken = {"groups": [{"name": "x", "rules": [{"alert": "X", "expr": "sum(rate(foo[5m]) >"}]}]}
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))

    result = run(promtool, "check", "rules", "broken.yaml", cwd=tmp_path)

    assert result.returncode != 0
    assert "parse error" in result.stdout + result.stderr
