"""A byte budget for a StatusWatch's status, so that every status the operator builds can be stored.

etcd refuses a request over 1.5 MiB for the whole object, spec included, and the CRD accepts specs that make
far larger statuses (1,000 long identifiers, selectors over thousands of Pods). A refused write is worse than
a short status: nothing then says why, and the old status stays. So a status over its budget is summarised:
``resources`` keeps the members not in the desired status first (those are what a reader looks for), then
as many of the others as fit; ``resourceCounts`` counts every member per status; ``resourcesOmitted`` says
how many entries were left out; and the condition ``ResourcesSummarized`` says so in words. The same fit,
with a budget for counts only, turns a write the API server refused for good into one that lands and says
why (reason ``WriteRefused``).

Pure, like :mod:`.conditions`: the same inputs give the same status, so a restarted operator rewrites nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from statuswatch.controller.models import ConditionRecord, StatusRecord

__all__ = [
    "MINIMAL_BUDGET",
    "STATUS_BUDGET",
    "SUMMARIZED",
    "encoded_size",
    "fit_status",
]

#: The status's budget in bytes of compact JSON: a quarter of etcd's limit, leaving room for the spec
#: (up to ~600 KiB of identifiers) and metadata.
STATUS_BUDGET = 256 * 1024
#: The budget of a status written after the API server refused the full one: counts and conditions only.
MINIMAL_BUDGET = 16 * 1024
#: The condition present only on a summarised status.
SUMMARIZED = "ResourcesSummarized"
_MAX_REFUSAL = 512


def encoded_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON (how the API server will count it, near enough)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def fit_status(
    status: Mapping[str, Any],
    *,
    previous: Mapping[str, Any] | None,
    desired: str,
    generation: int,
    now: datetime,
    budget: int = STATUS_BUDGET,
    refusal: str | None = None,
) -> dict[str, Any]:
    """``status`` unchanged when it fits ``budget`` (and nothing was refused), else summarised to fit.

    ``desired`` is the StatusWatch's desired status (its members in any other status are listed first);
    ``refusal`` is the API server's answer to a full status it refused for good. The summary condition keeps
    its ``lastTransitionTime`` from ``previous`` while it stays True.
    """
    whole = dict(status)
    if refusal is None and encoded_size(whole) <= budget:
        return whole
    resources = [entry for entry in whole.get("resources") or [] if isinstance(entry, Mapping)]
    counts = Counter(str(entry.get("status")) for entry in resources)
    waiting = [entry for entry in resources if entry.get("status") != desired]
    done = [entry for entry in resources if entry.get("status") == desired]
    ordered = waiting + done

    def summary(shown: int) -> dict[str, Any]:
        left_out = len(ordered) - shown
        if refusal is not None:
            reason = "WriteRefused"
            text = (
                f"the API server refused the full status ({_one_line(refusal)}); status.resources lists "
                f"{shown} of {len(ordered)} members"
            )
        else:
            reason = "StatusTooLarge"
            text = (
                f"the full status would exceed {budget // 1024} KiB; status.resources lists {shown} of "
                f"{len(ordered)} members"
            )
        if waiting:
            text += f", those not {desired} first"
        text += f"; {left_out} left out; counts per status in status.resourceCounts: " + ", ".join(
            f"{name} {count}" for name, count in sorted(counts.items())
        )
        condition = _summary_condition(previous, reason, text, generation, now)
        fitted = dict(whole)
        fitted["resources"] = ordered[:shown]
        fitted["resourceCounts"] = dict(sorted(counts.items()))
        fitted["resourcesOmitted"] = left_out
        fitted["conditions"] = [*(whole.get("conditions") or []), condition.to_dict()]
        return fitted

    # The entries' sizes add up (plus a comma each), so the largest prefix that fits is found in one pass.
    base = encoded_size(summary(0))
    used, shown = base, 0
    for entry in ordered:
        used += encoded_size(entry) + (1 if shown else 0)
        # resourcesOmitted shrinks by a digit at most as entries join; leave it that margin.
        if used + 8 > budget:
            break
        shown += 1
    return summary(shown)


def _summary_condition(
    previous: Mapping[str, Any] | None, reason: str, message: str, generation: int, now: datetime
) -> ConditionRecord:
    earlier = StatusRecord.read(previous).condition(SUMMARIZED)
    kept = earlier is not None and earlier.status == "True" and earlier.last_transition_time is not None
    since = earlier.last_transition_time if kept and earlier is not None else None
    return ConditionRecord(
        type=SUMMARIZED,
        status="True",
        reason=reason,
        message=message,
        observed_generation=generation,
        last_transition_time=since if since is not None and since <= now else now,
    )


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_REFUSAL else line[: _MAX_REFUSAL - 3] + "..."
