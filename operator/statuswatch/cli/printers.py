"""How ``statuswatch status`` shows what it sees: a live table, plain lines, or JSON.

Kept apart from the command so the printers can be tested (and reused) on plain data: each one gets the
collector and every event, and prints nothing it was not given. They take the few settings they show
(``until``, ``timeout``) rather than the command's request, so this module does not import the command.
Each shows a resource's root cause when the poller found one (``ResourceStatus.why``): a WHY column, a
``why:`` suffix on the line, a ``why`` object in JSON.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from statuswatch.durations import format_duration
from statuswatch.kstatus import Status
from statuswatch.polling import (
    ErrorEvent,
    Event,
    ObjMetadata,
    PollUntil,
    ResourceStatus,
    ResourceUpdateEvent,
    StatusCollector,
    aggregate_status,
)

__all__ = [
    "OUTPUTS",
    "STYLES",
    "EventsPrinter",
    "JsonPrinter",
    "LiveTablePrinter",
    "PlainTablePrinter",
    "Printer",
    "make_printer",
    "status_table",
]

#: the ``--output`` choices
OUTPUTS = ("table", "events", "json")

STYLES = {
    Status.CURRENT: "green",
    Status.IN_PROGRESS: "yellow",
    Status.FAILED: "bold red",
    Status.TERMINATING: "magenta",
    Status.NOT_FOUND: "blue",
    Status.UNKNOWN: "bright_black",
}


class Printer(Protocol):
    """What the status command drives: entered once, told every event, then told how it ended."""

    def __enter__(self) -> Printer: ...
    def __exit__(self, *exc: object) -> None: ...
    def on_event(self, collector: StatusCollector, event: Event) -> None: ...
    def finish(self, collector: StatusCollector, timed_out: bool) -> None: ...


def make_printer(
    output: str, console: Console, errors: Console, *, until: PollUntil, timeout: timedelta | None
) -> Printer:
    """The printer for ``--output``; ``table`` is live on a terminal and plain otherwise."""
    if output == "json":
        return JsonPrinter(console, until=until, timeout=timeout)
    if output == "events":
        return EventsPrinter(console, errors, until=until, timeout=timeout)
    if output != "table":
        raise ValueError(f"unknown output {output!r}: expected one of {', '.join(OUTPUTS)}")
    if console.is_terminal:
        return LiveTablePrinter(console, errors, until=until, timeout=timeout)
    return PlainTablePrinter(console, errors, until=until, timeout=timeout)


def _duration_text(timeout: timedelta | None) -> str:
    return format_duration(timeout) if timeout is not None else "the timeout"


def _why_text(status: ResourceStatus) -> str:
    return "" if status.why is None else f"{status.why.reason}: {status.why.message}"


def _line(status: ResourceStatus) -> str:
    line = f"{status.identifier} is {status.status}: {status.message}"
    return f"{line} (why: {_why_text(status)})" if status.why is not None else line


def _timeout_text(until: PollUntil, timeout: timedelta | None, collector: StatusCollector) -> list[str]:
    pending = collector.pending(until)
    goal = until.desired or "known"
    lines = [f"timed out after {_duration_text(timeout)} waiting for {goal}; {len(pending)} not ready:"]
    lines += [f"  {_line(status)}" for status in pending]
    return lines


class EventsPrinter:
    """One line per status change on stdout; errors and the time-out report on stderr.

    An update whose status, message and cause equal the last line printed for that resource (only its
    generated resources changed) prints nothing: the line would look like a repeat. ``-o json`` carries
    those too.
    """

    def __init__(
        self, console: Console, errors: Console, *, until: PollUntil, timeout: timedelta | None = None
    ) -> None:
        self.console, self.errors = console, errors
        self.until, self.timeout = until, timeout
        self.started = time.monotonic()
        self._printed: dict[ObjMetadata, tuple[Status, str, str]] = {}

    def __enter__(self) -> EventsPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def on_event(self, collector: StatusCollector, event: Event) -> None:
        if isinstance(event, ResourceUpdateEvent):
            resource = event.resource
            shown = (resource.status, resource.message, _why_text(resource))
            if self._printed.get(resource.identifier) == shown:
                return
            self._printed[resource.identifier] = shown
            self.console.print(Text(_line(resource), style=STYLES.get(resource.status, "")), soft_wrap=True)
        elif isinstance(event, ErrorEvent):
            self.errors.print(f"[red]error:[/] {event.error}")

    def finish(self, collector: StatusCollector, timed_out: bool) -> None:
        if timed_out and self.until is not PollUntil.FOREVER:
            for line in _timeout_text(self.until, self.timeout, collector):
                self.errors.print(line, highlight=False, soft_wrap=True)


class JsonPrinter:
    """One JSON object per line: ``status`` per change, then ``error``/``timeout`` and a final ``summary``.

    A status record carries ``error`` when the engine gave a cause (why a resource is Unknown: a forbidden
    read, a stream that is failing or not synced yet), and ``why`` (``reason``, ``message``) when it found
    the root cause of an InProgress or Failed status.
    """

    def __init__(self, console: Console, *, until: PollUntil, timeout: timedelta | None = None) -> None:
        self.console, self.until, self.timeout = console, until, timeout

    def __enter__(self) -> JsonPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _emit(self, record: dict[str, Any]) -> None:
        record.setdefault("timestamp", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.console.out(json.dumps(record, separators=(",", ":")), highlight=False)

    def on_event(self, collector: StatusCollector, event: Event) -> None:
        if isinstance(event, ResourceUpdateEvent):
            self._emit({"type": "status", **_record(event.resource)})
        elif isinstance(event, ErrorEvent):
            self._emit({"type": "error", "error": str(event.error)})

    def finish(self, collector: StatusCollector, timed_out: bool) -> None:
        if timed_out and self.until is not PollUntil.FOREVER:
            pending = [_record(s) for s in collector.pending(self.until)]
            seconds = None if self.timeout is None else self.timeout.total_seconds()
            self._emit({"type": "timeout", "timeout": seconds, "pending": pending})
        desired = self.until.desired or Status.CURRENT
        self._emit(
            {
                "type": "summary",
                "aggregate": str(collector.aggregate(desired)),
                "until": str(self.until),
            }
        )


def _record(status: ResourceStatus) -> dict[str, Any]:
    ident = status.identifier
    record: dict[str, Any] = {
        "group": ident.group,
        "kind": ident.kind,
        "namespace": ident.namespace,
        "name": ident.name,
        "status": str(status.status),
        "message": status.message,
    }
    if status.error is not None:
        record["error"] = str(status.error) or type(status.error).__name__
    if status.why is not None:
        record["why"] = {"reason": status.why.reason, "message": status.why.message}
    if status.generated_resources:
        record["generated"] = [_record(child) for child in status.generated_resources]
    return record


def _age(status: ResourceStatus) -> str:
    created = ((status.resource or {}).get("metadata") or {}).get("creationTimestamp")
    if not isinstance(created, str):
        return ""
    try:
        seconds = (datetime.now(UTC) - datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds()
    except ValueError:
        return ""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _label(ident: ObjMetadata) -> str:
    kind = f"{ident.kind.lower()}.{ident.group}" if ident.group else ident.kind.lower()
    return f"{kind}/{ident.name}"


def status_table(collector: StatusCollector, *, max_children: int = 12) -> Table:
    """The table the live view and the final plain report share."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("NAMESPACE", "RESOURCE", "STATUS", "AGE", "MESSAGE", "WHY"):
        table.add_column(column, no_wrap=column not in ("MESSAGE", "WHY"), overflow="fold")

    def add(status: ResourceStatus, depth: int) -> None:
        prefix = "  " * (depth - 1) + "└ " if depth else ""
        style = STYLES.get(status.status, "")
        table.add_row(
            status.identifier.namespace if not depth else "",
            prefix + _label(status.identifier),
            Text(str(status.status), style=style),
            _age(status),
            status.message,
            _why_text(status),
            style="dim" if depth else None,
        )
        children = status.generated_resources
        for child in children[:max_children]:
            add(child, depth + 1)
        if len(children) > max_children:
            table.add_row("", "  " * depth + f"└ … {len(children) - max_children} more", "", "", "", "")

    for status in collector.observation().statuses:
        add(status, 0)
    return table


def _progress(
    until: PollUntil, timeout: timedelta | None, collector: StatusCollector, started: float, timed_out: bool
) -> Text:
    statuses = collector.observation().statuses
    desired = until.desired
    if desired is not None:
        done = sum(1 for s in statuses if s.status == desired)
        goal = str(desired)
    else:
        done = sum(1 for s in statuses if s.status != Status.UNKNOWN)
        goal = "known"
    aggregate = aggregate_status(statuses, desired or Status.CURRENT)
    text = Text()
    text.append(f"{done}/{len(statuses)} {goal}", style="bold")
    text.append("  aggregate ")
    text.append(str(aggregate), style=STYLES.get(aggregate, ""))
    text.append(f"  until {until}  {time.monotonic() - started:.0f}s elapsed")
    if timeout is not None:
        text.append(f" of {format_duration(timeout)}")
    if timed_out:
        text.append("  timed out", style="bold red")
    return text


class LiveTablePrinter:
    """A table redrawn in place (rich Live) with a spinner and a progress line."""

    def __init__(
        self, console: Console, errors: Console, *, until: PollUntil, timeout: timedelta | None = None
    ) -> None:
        self.console, self.errors = console, errors
        self.until, self.timeout = until, timeout
        self.collector: StatusCollector | None = None
        self.started = time.monotonic()
        self.finished = False
        self.timed_out = False
        self.live = Live(console=console, get_renderable=self._render, refresh_per_second=4, transient=False)

    def _render(self) -> RenderableType:
        if self.collector is None:
            return Spinner("dots", text=" connecting…")
        progress = _progress(self.until, self.timeout, self.collector, self.started, self.timed_out)
        footer: RenderableType = progress if self.finished else Spinner("dots", text=progress)
        return Group(status_table(self.collector), Text(), footer)

    def __enter__(self) -> LiveTablePrinter:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    def on_event(self, collector: StatusCollector, event: Event) -> None:
        self.collector = collector
        if isinstance(event, ErrorEvent):
            self.errors.print(f"[red]error:[/] {event.error}")
        self.live.refresh()

    def finish(self, collector: StatusCollector, timed_out: bool) -> None:
        self.collector, self.finished, self.timed_out = collector, True, timed_out
        self.live.refresh()
        self.live.stop()
        if timed_out and self.until is not PollUntil.FOREVER:
            for line in _timeout_text(self.until, self.timeout, collector):
                self.errors.print(line, highlight=False, soft_wrap=True)


class PlainTablePrinter(EventsPrinter):
    """Not a terminal: change lines as they come, then the final table and progress line once."""

    def finish(self, collector: StatusCollector, timed_out: bool) -> None:
        self.console.print()
        table = status_table(collector)
        # logs have no width: print rows whole rather than folded at 80 columns
        wide = self.console.options.update_width(10_000)
        width = max(self.console.width, self.console.measure(table, options=wide).maximum)
        narrow, self.console.width = self.console.width, width
        try:
            self.console.print(table)
        finally:
            self.console.width = narrow
        self.console.print(_progress(self.until, self.timeout, collector, self.started, timed_out))
        super().finish(collector, timed_out)
