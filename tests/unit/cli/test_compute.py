"""``statuswatch compute``: offline verdicts, a line per object in input order, broken documents included."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from statuswatch.cli.compute import FIELDS, compute

MIXED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, generation: 2}
spec: {replicas: 3}
status: {observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3,
  conditions: [{type: Available, status: "True"}]}
---
apiVersion: database.example.com/v1
kind: Database
metadata: {name: orders, namespace: shop}
status: {phase: Failed}
---
just a string
---
apiVersion: example.io/v1
kind: Widget
metadata: {name: fresh, namespace: shop}
"""

LIST_JSON = {
    "apiVersion": "v1",
    "kind": "List",
    "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}},
        {
            "apiVersion": "example.io/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "status": {"ready": False},
        },
    ],
}


def run(*args: str, stdin: str | None = None) -> tuple[int, list[dict[str, str]], str]:
    result = CliRunner().invoke(compute, [*args, "-o", "json"], input=stdin)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, lines, result.stderr


def test_a_mixed_manifest_from_stdin() -> None:
    code, lines, _ = run("-f", "-", stdin=MIXED)
    assert code == 0
    assert all(list(line) == list(FIELDS) for line in lines)
    assert [(line["kind"], line["name"], line["status"], line["rule"]) for line in lines] == [
        ("Deployment", "web", "Current", "kstatus"),
        ("Database", "orders", "Failed", "convention:phase"),
        ("", "", "Unknown", ""),
        ("Widget", "fresh", "InProgress", "convention:no-status"),
    ]
    assert lines[2]["reason"] == "NotAnObject"
    assert "<stdin>#2: not an object (got str)" in lines[2]["message"]


def test_kstatus_mode_gives_kstatus(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(MIXED)
    code, lines, _ = run("-f", str(tmp_path / "m.yaml"), "--rules", "kstatus")
    assert code == 0
    assert [line["status"] for line in lines] == ["Current", "Current", "Unknown", "Current"]
    assert {line["rule"] for line in lines if line["kind"]} == {"kstatus"}


def test_directories_recursively_in_path_order_json_lists_unpacked(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "list.json").write_text(json.dumps(LIST_JSON))
    (tmp_path / "a.yml").write_text(MIXED)
    (tmp_path / "notes.txt").write_text("ignored")
    code, lines, _ = run("-f", str(tmp_path))
    assert code == 0
    assert [line["name"] for line in lines] == ["web", "orders", "", "fresh", "c", "w"]
    assert (lines[-1]["status"], lines[-1]["rule"]) == ("InProgress", "convention:flags")


def test_broken_yaml_gives_a_line_and_the_other_files_are_still_decided(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\nkey: [unclosed\n"
    )
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: later}\n")
    code, lines, _ = run("-f", str(tmp_path))
    assert code == 0
    assert [(line["name"], line["status"]) for line in lines] == [
        ("ok", "Current"),
        ("", "Unknown"),
        ("later", "Current"),
    ]
    assert lines[1]["reason"] == "Unreadable"
    assert "not valid YAML" in lines[1]["message"]


def test_an_unreadable_path_exits_2_after_deciding_the_rest(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n")
    code, lines, stderr = run("-f", str(tmp_path / "missing.yaml"), "-f", str(tmp_path / "a.yaml"))
    assert code == 2
    assert [line["name"] for line in lines] == ["ok"]
    assert "missing.yaml: no such file or directory" in stderr


def test_health_checks_decide_their_kinds(tmp_path: Path) -> None:
    checks = tmp_path / "checks.yaml"
    checks.write_text(
        "- {apiVersion: database.example.com/v1, kind: Database, current: \"status.phase == 'Failed'\"}\n"
    )
    code, lines, _ = run("-f", "-", "--health-checks", str(checks), stdin=MIXED)
    assert code == 0
    assert (lines[1]["status"], lines[1]["rule"]) == ("Current", "healthCheck")


def test_a_bad_health_check_file_is_a_usage_error(tmp_path: Path) -> None:
    checks = tmp_path / "checks.yaml"
    checks.write_text("- {apiVersion: x.io/v1, current: 'status.'}\n")
    code, lines, stderr = run("-f", "-", "--health-checks", str(checks), stdin=MIXED)
    assert code == 2
    assert not lines
    assert "does not compile" in stderr


def test_the_table() -> None:
    result = CliRunner().invoke(compute, ["-f", "-"], input=MIXED)
    assert result.exit_code == 0
    rows = result.stdout.splitlines()
    assert rows[0].split() == ["NAMESPACE", "RESOURCE", "STATUS", "RULE", "MESSAGE"]
    assert rows[2].split()[:4] == [
        "shop",
        "Database.database.example.com/orders",
        "Failed",
        "convention:phase",
    ]
