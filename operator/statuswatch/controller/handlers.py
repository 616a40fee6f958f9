"""The kopf wiring: which kopf handlers exist, on a registry of their own, and nothing else.

Only ``@kopf.on.event`` is used for StatusWatches: it adds no finalizer and stores no handler progress on the
object (kopf's daemons and timers would add a finalizer, which would block deleting a StatusWatch while the
operator is down). Every event is handed to the :class:`~.peering.Gate`, which passes it to the
:class:`~.supervisor.Supervisor` (one worker per object) while this replica is active and serves the
object's namespace. A login handler gives kopf the same credentials the shared view uses; a probe handler
reports the workers and the streams on kopf's liveness endpoint.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

import kopf

from statuswatch.watchlist.config import ClusterConfig

from .peering import Gate
from .statusapi import GROUP, PLURAL, VERSION

__all__ = ["build_registry", "connection_info"]


def connection_info(config: ClusterConfig) -> kopf.ConnectionInfo:
    """kopf's view of the credentials in ``config``: the same ones the shared view uses, refreshed when due
    (an exec plugin is re-run), so kopf and the streams never disagree about who the operator is."""
    creds = config.credentials()
    return kopf.ConnectionInfo(
        server=creds.server,
        ca_data=creds.ca_data,
        insecure=creds.insecure,
        token=creds.token,
        scheme="Bearer" if creds.token else None,
        certificate_data=creds.client_cert_data,
        private_key_data=creds.client_key_data,
        default_namespace=creds.default_namespace,
        proxy_url=creds.proxy_url,
        expiration=_aware(creds.expiration),
    )


def _aware(moment: datetime.datetime | None) -> datetime.datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment


def build_registry(
    gate: Gate, config: ClusterConfig, probe: Callable[[], Mapping[str, Any]]
) -> kopf.OperatorRegistry:
    """A kopf registry holding this operator's handlers (never the global one: tests run several)."""
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)  # type: ignore[untyped-decorator,unused-ignore]
    def login(**_: Any) -> kopf.ConnectionInfo:
        return connection_info(config)

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)  # type: ignore[untyped-decorator,unused-ignore]
    async def statuswatch_event(type: str | None, body: Mapping[str, Any], **_: Any) -> None:
        await gate.observe(type, body)

    @kopf.on.probe(id="statuswatch", registry=registry)  # type: ignore[untyped-decorator,unused-ignore]
    def report(**_: Any) -> Mapping[str, Any]:
        return probe()

    return registry
