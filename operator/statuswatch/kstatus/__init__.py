"""kstatus in Python: decide from an object alone whether it has finished rolling out.

A rule-for-rule port of the status rules of ``sigs.k8s.io/cli-utils/pkg/kstatus/status`` (the library
Flux, kpt and Helm use), so statuswatch agrees with them on every object. Pure: no I/O, no client, no
asyncio; objects are plain decoded JSON. :data:`KINDS` is the table of per-kind rules and the fields each
reads (what ``compute``, ``project`` and the watchlist's typed decoder all follow).
"""

from statuswatch.kstatus.aggregate import aggregate
from statuswatch.kstatus.compute import compute
from statuswatch.kstatus.corekinds import SCHEDULE_WINDOW
from statuswatch.kstatus.kinds import KINDS, Kind, Rule
from statuswatch.kstatus.model import ComputeError, Condition, Result, Status
from statuswatch.kstatus.projection import project
from statuswatch.kstatus.strict import StrictRules

__all__ = [
    "KINDS",
    "SCHEDULE_WINDOW",
    "ComputeError",
    "Condition",
    "Kind",
    "Result",
    "Rule",
    "Status",
    "StrictRules",
    "aggregate",
    "compute",
    "project",
]
