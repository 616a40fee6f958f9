"""When the shared view may answer for an object, as a pure rule over a stream's state.

A watch stream keeps serving its store while it reconnects. That is right for a blip (an API server
restart that resumes within seconds must not flap every status to ``Unknown`` and back) and wrong for
anything longer: users gate rollouts on ``Current``, and a frozen store keeps saying it. The rule:

* never synced: one bounded wait happens elsewhere; after it, reads are ``Unknown``. An authorization or
  not-found failure is reported as itself (the direct reader says the same: "Forbidden: ...", "Kind not
  installed: ..."); anything else as "not synced yet: ...";
* synced and failing with an authorization or not-found class error (401, 403, 404, kind not installed):
  ``Unknown`` once the streak has lasted :data:`PERMANENT_GRACE` (5 s), since access revoked or a type
  gone will not heal on its own in time. Not at once: right after an API server restart its authorizer
  refuses the operator's ServiceAccount with 403 for a second or two while RBAC loads, and answering that
  at once flipped every StatusWatch to Unknown and back (with the AllCurrent Events posted again);
* synced and failing transiently (connection lost, 5xx, timeouts), or without a connection at all (a
  reconnect still waiting for response headers, which is no failure until the connect deadline of 30 s
  runs out): the store is served for a grace of ``max(2 x poll_interval, 10 s)`` from the moment the
  stream lost its connection or first failed, whichever came first, then ``Unknown``. Two intervals mean
  one missed cycle never shows; the floor of 10 s covers an API server restart when the interval is
  short. Staleness is then bounded by the grace plus one poll interval, the wait for headers included.
"""

from __future__ import annotations

from statuswatch.watchlist.connection import HeaderTimeout

from .errors import NotSyncedError, StreamFailingError
from .reasons import is_permanent

__all__ = ["GRACE_FLOOR", "PERMANENT_GRACE", "grace_for", "stream_verdict"]

GRACE_FLOOR = 10.0
#: How long a synced stream failing with 401, 403 or 404 is still served: a blip after an API server
#: restart, not a verdict.
PERMANENT_GRACE = 5.0


def grace_for(poll_interval: float) -> float:
    """How long a transiently failing, synced stream may still answer."""
    return max(2.0 * poll_interval, GRACE_FLOOR)


def stream_verdict(
    stream: str,
    *,
    synced: bool,
    error: BaseException | None,
    failing_since: float | None,
    now: float,
    grace: float,
    error_since: float | None = None,
    disconnected_since: float | None = None,
) -> BaseException | None:
    """``None`` when reads may be served from the store, else the exception a read must raise.

    ``error_since`` (default ``failing_since``) is since when the current error's kind has lasted: the short
    grace of a 401/403/404 counts from its first one, not from a connection loss that began the streak.
    ``disconnected_since``: since when a synced stream has had no connection (also before any failure).
    """
    failing_for = None if failing_since is None else max(0.0, now - failing_since)
    since = failing_since if error_since is None else error_since
    erring_for = None if since is None else max(0.0, now - since)
    if not synced:
        if error is not None and is_permanent(error):
            return error
        return NotSyncedError(stream, error)
    if error is not None and is_permanent(error):
        if erring_for is not None and erring_for < PERMANENT_GRACE:
            return None
        return StreamFailingError(stream, error, failing_for)
    starts = [t for t in (failing_since if error is not None else None, disconnected_since) if t is not None]
    if not starts:
        return None
    stale_for = max(0.0, now - min(starts))
    if stale_for < grace:
        return None
    return StreamFailingError(stream, error or _RECONNECTING, stale_for, grace)


#: The cause reported for a synced stream that has been without a connection past the grace, before any
#: failure (its reconnect is waiting for response headers). One message for the whole streak.
_RECONNECTING = HeaderTimeout("reconnecting: no response headers yet")
