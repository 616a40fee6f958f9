"""Go-style duration strings (``5s``, ``1m30s``, ``500ms``, ``2h``), parsed and printed.

The StatusWatch CRD takes ``pollInterval`` and ``timeout`` as Go durations (the form Flux, kubectl and Helm
users already write), and the ``status`` command takes the same strings on its command line. One pure leaf
module serves both, so every layer (models, CLI, controller) agrees on what a duration means.
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["DURATION_PATTERN", "format_duration", "parse_duration"]

# The same language as the CRD's schema pattern: one or more <number><unit> terms, no sign, no spaces.
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"

_TERM = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str, *, bare_seconds: bool = False) -> timedelta:
    """``"1m30s"`` -> 90 seconds. ``bare_seconds=True`` also accepts a plain number of seconds (``"2.5"``).

    Raises ``ValueError`` naming the text and the accepted forms.
    """
    stripped = text.strip()
    if bare_seconds:
        try:
            seconds = float(stripped)
        except ValueError:
            pass
        else:
            if seconds < 0 or seconds != seconds:  # negative or NaN
                raise ValueError(f"invalid duration {text!r}: must not be negative")
            return timedelta(seconds=seconds)
    position, total = 0, 0.0
    for match in _TERM.finditer(stripped):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if not stripped or position != len(stripped):
        raise ValueError(
            f"invalid duration {text!r}: use a number with a unit, e.g. 30s, 2m, 1m30s, 500ms, 1h"
        )
    return timedelta(seconds=total)


def format_duration(duration: timedelta) -> str:
    """The shortest Go-style spelling: ``90s`` -> ``"1m30s"``, ``0.5s`` -> ``"500ms"``, zero -> ``"0s"``."""
    milliseconds = round(duration.total_seconds() * 1000)
    if milliseconds < 0:
        raise ValueError(f"negative duration {duration!r}")
    if milliseconds == 0:
        return "0s"
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if seconds and millis:
        parts.append(f"{seconds}.{millis:03d}".rstrip("0") + "s")
    elif seconds:
        parts.append(f"{seconds}s")
    elif millis:
        parts.append(f"{millis}ms")
    return "".join(parts)
