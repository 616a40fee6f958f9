"""``statuswatch compute``: decide the status of objects offline, from files or standard input, no cluster.

The same :func:`statuswatch.rules.decide` the operator runs, so what this prints for a saved object is what
a StatusWatch would report for it. One line per object, in input order (``List`` kinds unpacked); ``-o json``
prints one JSON object per line with ``group, kind, namespace, name, status, reason, message, rule``. A
document that is not an object gets a line of its own with status ``Unknown`` and the error, and the others
are still decided.

Exit codes: 0 when every path could be read, whatever the verdicts (Failed objects included: this command
reports, it does not gate); 2 (usage) when a path could not be read or ``--health-checks`` is unusable; the
paths that could be read are still decided and printed first.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import click

from statuswatch.cli.documents import Document, UnreadablePath, read_documents
from statuswatch.cli.exits import EXIT_DONE, EXIT_USAGE
from statuswatch.kstatus import Status
from statuswatch.rules import MODES, HealthCheck, HealthCheckError, Mode, decide, load_health_checks

__all__ = ["FIELDS", "Line", "compute", "compute_lines", "format_table"]

#: The keys of a ``-o json`` line, in order.
FIELDS = ("group", "kind", "namespace", "name", "status", "reason", "message", "rule")


@dataclass(frozen=True, slots=True)
class Line:
    """One output line: an object's identity and its decision."""

    group: str
    kind: str
    namespace: str
    name: str
    status: str
    reason: str
    message: str
    rule: str

    def to_dict(self) -> dict[str, str]:
        return {key: getattr(self, key) for key in FIELDS}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _line(document: Document, checks: list[HealthCheck], mode: Mode) -> Line:
    if document.error is not None:
        return Line(
            "", "", "", "", str(Status.UNKNOWN), "Unreadable", f"{document.origin}: {document.error}", ""
        )
    obj = document.value
    if not isinstance(obj, Mapping):
        message = f"{document.origin}: not an object (got {type(obj).__name__})"
        return Line("", "", "", "", str(Status.UNKNOWN), "NotAnObject", message, "")
    api_version = _text(obj.get("apiVersion"))
    metadata = obj.get("metadata")
    meta: Mapping[str, Any] = metadata if isinstance(metadata, Mapping) else {}
    decision = decide(obj, health_checks=checks, mode=mode)
    return Line(
        api_version.rpartition("/")[0] if api_version.count("/") <= 1 else "",
        _text(obj.get("kind")),
        _text(meta.get("namespace")),
        _text(meta.get("name")),
        str(decision.status),
        decision.reason,
        decision.message,
        decision.rule,
    )


def compute_lines(
    paths: list[str], *, stdin: TextIO, checks: list[HealthCheck], mode: Mode
) -> tuple[list[Line], list[str]]:
    """The line of every object in ``paths``, in order, and the paths that could not be read."""
    lines: list[Line] = []
    unreadable: list[str] = []
    for found in read_documents(paths, stdin):
        if isinstance(found, UnreadablePath):
            unreadable.append(str(found))
        else:
            lines.append(_line(found, checks, mode))
    return lines, unreadable


def format_table(lines: list[Line]) -> list[str]:
    """Aligned columns: NAMESPACE, KIND/NAME (with the group), STATUS, RULE, MESSAGE (the reason first)."""
    rows = [("NAMESPACE", "RESOURCE", "STATUS", "RULE", "MESSAGE")]
    for line in lines:
        kind = f"{line.kind}.{line.group}" if line.group else line.kind
        resource = f"{kind}/{line.name}" if kind or line.name else "-"
        message = f"{line.reason}: {line.message}" if line.reason and line.message else line.message
        rows.append(
            (line.namespace or "-", resource, line.status, line.rule or "-", " ".join(message.split()))
        )
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    ]


@click.command()
@click.option(
    "-f",
    "--filename",
    "paths",
    multiple=True,
    required=True,
    metavar="PATH",
    help="A file, a directory (read recursively) or - for stdin; repeatable.",
)
@click.option("-o", "--output", type=click.Choice(("table", "json")), default="table", show_default=True)
@click.option(
    "--health-checks",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Flux-style CEL health checks (YAML: a list, or healthCheckExprs:), as spec.healthChecks.",
)
@click.option(
    "--rules",
    "mode",
    type=click.Choice(MODES),
    default="default",
    show_default=True,
    help="default: the library and conventions above kstatus; kstatus: exact kstatus (and health checks).",
)
def compute(paths: tuple[str, ...], output: str, health_checks: str | None, mode: Mode) -> None:
    """Decide the status of objects from manifests, without a cluster.

    \b
    Examples:
      statuswatch compute -f saved/ -o json
      kubectl get certificates -A -o yaml | statuswatch compute -f -
      statuswatch compute -f rollout.yaml --rules kstatus
    """
    checks: list[HealthCheck] = []
    if health_checks is not None:
        try:
            checks = load_health_checks(health_checks)
        except (HealthCheckError, OSError) as error:
            click.echo(f"error: --health-checks {health_checks}: {error}", err=True)
            sys.exit(EXIT_USAGE)
    lines, unreadable = compute_lines(list(paths), stdin=sys.stdin, checks=checks, mode=mode)
    if output == "json":
        for line in lines:
            click.echo(json.dumps(line.to_dict(), ensure_ascii=False))
    else:
        for text in format_table(lines):
            click.echo(text)
    for problem in unreadable:
        click.echo(f"error: {problem}", err=True)
    sys.exit(EXIT_USAGE if unreadable else EXIT_DONE)
