"""The cluster-wide default health checks: read from a ConfigMap in the operator's namespace at start.

Next to the health-check code rather than in the operator, so that anything that polls with health checks
(the operator, a script) reads the cluster's defaults the same way. This is the I/O half; parsing and
compiling stay in :mod:`.healthchecks`.
"""

from __future__ import annotations

import logging

from statuswatch.watchlist.connection import ApiError
from statuswatch.watchlist.transport import Transport, get_json

from .healthchecks import HealthCheck, HealthCheckError, health_checks_from_yaml

__all__ = ["HEALTH_CHECKS_CONFIGMAP", "HEALTH_CHECKS_KEY", "load_default_health_checks"]

#: The ConfigMap (in the operator's namespace) and key holding cluster-wide default health checks.
HEALTH_CHECKS_CONFIGMAP = "statuswatch-health-checks"
HEALTH_CHECKS_KEY = "healthChecks.yaml"


async def load_default_health_checks(
    client: Transport,
    namespace: str,
    name: str = HEALTH_CHECKS_CONFIGMAP,
    logger: logging.Logger | None = None,
) -> tuple[HealthCheck, ...]:
    """The cluster-wide health checks from ConfigMap ``namespace/name``, key ``healthChecks.yaml``.

    No ConfigMap (or no such key) means none. One that cannot be read or does not compile is logged as an
    error and ignored: StatusWatches keep their own checks and kstatus rather than the operator not starting.
    """
    log = logger or logging.getLogger("statuswatch.controller")
    try:
        configmap = await get_json(client, f"/api/v1/namespaces/{namespace}/configmaps/{name}")
    except ApiError as error:
        if error.status != 404:
            log.error("cannot read default health checks from ConfigMap %s/%s: %s", namespace, name, error)
        return ()
    except Exception as error:  # API down at start: run without defaults rather than not at all
        log.error("cannot read default health checks from ConfigMap %s/%s: %s", namespace, name, error)
        return ()
    text = (configmap.get("data") or {}).get(HEALTH_CHECKS_KEY)
    if not isinstance(text, str):
        return ()
    try:
        checks = tuple(health_checks_from_yaml(text, source=f"ConfigMap {namespace}/{name}"))
    except HealthCheckError as error:
        log.error("default health checks ignored: %s", error)
        return ()
    log.info("%d default health check(s) from ConfigMap %s/%s", len(checks), namespace, name)
    return checks
