"""CEL health checks as a status reader (the checks themselves live in :mod:`statuswatch.rules.healthchecks`).

The parsing, compiling and judging of ``spec.healthChecks`` entries moved to the pure rules layer, which the
operator, ``statuswatch status`` and ``statuswatch compute`` share; this module keeps the polling side: a
status reader for the kinds the checks cover, and the names callers have always imported from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from statuswatch.rules.healthchecks import (
    EXPRESSION_FIELDS,
    MAX_EXPRESSION_LENGTH,
    HealthCheck,
    HealthCheckError,
    check_for,
    health_checks_from_yaml,
    load_health_checks,
    parse_health_checks,
)

from .clusterreader import ClusterReader
from .events import ResourceStatus
from .identifiers import ObjMetadata
from .statusreaders import ObjectStatusReader

__all__ = [
    "EXPRESSION_FIELDS",
    "MAX_EXPRESSION_LENGTH",
    "CelStatusReader",
    "HealthCheck",
    "HealthCheckError",
    "health_checks_from_yaml",
    "load_health_checks",
    "parse_health_checks",
]


class CelStatusReader(ObjectStatusReader):
    """A status reader for the kinds the health checks cover; put it first in ``status_readers``.

    The entry with the exact kind wins over a group-wide one. No generated resources are read: an entry
    replaces kstatus (and its children) for that kind, as in Flux. Expressions may read any field, but the
    shared view keeps only the fields the built-in rules read: poll covered kinds with
    ``Options(use_cache=False)``.
    """

    def __init__(self, checks: Iterable[HealthCheck]) -> None:
        super().__init__()
        self.checks = tuple(checks)

    def check_for(self, group: str, kind: str) -> HealthCheck | None:
        return check_for(self.checks, group, kind)

    def supports(self, group: str, kind: str) -> bool:
        return self.check_for(group, kind) is not None

    async def status_for_object(
        self, reader: ClusterReader, identifier: ObjMetadata, obj: Mapping[str, Any]
    ) -> ResourceStatus:
        check = self.check_for(identifier.group, identifier.kind)
        if check is None:  # picked for another kind: never by the engine, which asks supports() first
            raise LookupError(f"no health check covers {identifier.kind}.{identifier.group}")
        status, message = check.evaluate(obj)
        return ResourceStatus(identifier, status, message, obj)
