"""The staleness rule and the reasons people read, on plain data."""

from __future__ import annotations

import pytest

from statuswatch.polling import (
    NotSyncedError,
    StreamFailingError,
    describe_error,
    grace_for,
    stream_verdict,
)
from statuswatch.polling.reasons import is_permanent
from statuswatch.polling.staleness import PERMANENT_GRACE
from statuswatch.watchlist import ApiError, HeaderTimeout, NoMatchError

FORBIDDEN = ApiError(403, "Forbidden", "deployments.apps is forbidden")
GONE = ApiError(404, "NotFound", "the server could not find the requested resource")
UNAUTHORIZED = ApiError(401, "Unauthorized", "Unauthorized")
NOT_INSTALLED = NoMatchError("example.com", "Widget")
DOWN = ApiError(503, "ServiceUnavailable", "etcd is down")
RESET = ConnectionResetError("connection reset by peer")


@pytest.mark.parametrize(("interval", "grace"), [(0.5, 10.0), (2.0, 10.0), (5.0, 10.0), (30.0, 60.0)])
def test_grace_is_two_intervals_but_at_least_ten_seconds(interval: float, grace: float) -> None:
    assert grace_for(interval) == grace


def verdict(
    *, synced: bool, error: Exception | None, failing_for: float | None, grace: float = 10.0
) -> BaseException | None:
    since = None if failing_for is None else 100.0 - failing_for
    return stream_verdict(
        "deployment.apps in ns", synced=synced, error=error, failing_since=since, now=100.0, grace=grace
    )


def test_a_healthy_synced_stream_answers() -> None:
    assert verdict(synced=True, error=None, failing_for=None) is None


@pytest.mark.parametrize("error", [FORBIDDEN, GONE, UNAUTHORIZED, NOT_INSTALLED])
def test_authorization_and_not_found_failures_are_stale_after_a_short_grace(error: Exception) -> None:
    # N8: right after an API server restart the ServiceAccount gets 403 for a second or two.
    assert verdict(synced=True, error=error, failing_for=0.0) is None
    assert verdict(synced=True, error=error, failing_for=PERMANENT_GRACE - 0.1) is None
    result = verdict(synced=True, error=error, failing_for=PERMANENT_GRACE)
    assert isinstance(result, StreamFailingError)
    assert result.cause is error
    assert (result.seconds, result.grace) == (PERMANENT_GRACE, None)
    # A stream that does not say since when is judged at once, as before.
    assert isinstance(verdict(synced=True, error=error, failing_for=None), StreamFailingError)


@pytest.mark.parametrize("error", [DOWN, RESET, TimeoutError()])
def test_transient_failures_are_served_until_the_grace_is_over(error: Exception) -> None:
    assert verdict(synced=True, error=error, failing_for=9.9) is None
    result = verdict(synced=True, error=error, failing_for=10.0)
    assert isinstance(result, StreamFailingError)
    assert (result.seconds, result.grace) == (10.0, 10.0)


def test_a_transient_failure_without_a_start_time_is_served() -> None:
    assert verdict(synced=True, error=DOWN, failing_for=None) is None


def disconnected(
    *, error: Exception | None, for_: float, failing_for: float | None = None
) -> BaseException | None:
    since = None if failing_for is None else 100.0 - failing_for
    return stream_verdict(
        "cm in ns",
        synced=True,
        error=error,
        failing_since=since,
        now=100.0,
        grace=10.0,
        disconnected_since=100.0 - for_,
    )


def test_a_synced_stream_without_a_connection_is_stale_after_the_grace_though_nothing_failed() -> None:
    assert disconnected(error=None, for_=9.9) is None  # a reconnect waiting for its headers
    result = disconnected(error=None, for_=10.0)
    assert isinstance(result, StreamFailingError)
    assert isinstance(result.cause, HeaderTimeout)
    assert (result.seconds, result.grace) == (10.0, 10.0)
    assert describe_error(result) == "watch failing for over 10s: Timed out reading the resource"


def test_the_grace_counts_from_the_lost_connection_when_the_failure_came_later() -> None:
    # Headers never came for 30 s (no error meanwhile), then the HeaderTimeout: stale since the loss.
    result = disconnected(error=TimeoutError(), for_=31.0, failing_for=1.0)
    assert isinstance(result, StreamFailingError)
    assert result.seconds == 31.0
    # A 401/403/404 keeps its own short grace, whatever the connection.
    assert disconnected(error=FORBIDDEN, for_=30.0, failing_for=PERMANENT_GRACE - 1) is None
    assert disconnected(error=FORBIDDEN, for_=0.0, failing_for=PERMANENT_GRACE) is not None


@pytest.mark.parametrize("error", [FORBIDDEN, NOT_INSTALLED])
def test_never_synced_with_a_permanent_failure_reports_the_failure_itself(error: Exception) -> None:
    assert verdict(synced=False, error=error, failing_for=1.0) is error


@pytest.mark.parametrize("error", [DOWN, None])
def test_never_synced_otherwise_is_not_synced_yet(error: Exception | None) -> None:
    result = verdict(synced=False, error=error, failing_for=None)
    assert isinstance(result, NotSyncedError)
    assert result.cause is error


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            StreamFailingError("deployment.apps in ns", FORBIDDEN, 42.4),
            "watch failing: Forbidden: deployments.apps is forbidden",
        ),
        (
            StreamFailingError("x", DOWN, 12.5, grace=10.0),
            "watch failing for over 10s: API error 503: etcd is down",
        ),
        (
            NotSyncedError("widget.example.com in ns", DOWN),
            "not synced yet: widget.example.com in ns: API error 503: etcd is down",
        ),
        (
            NotSyncedError("widget.example.com in ns"),
            "not synced yet: widget.example.com in ns: initial list not complete",
        ),
        (UNAUTHORIZED, "API error 401: Unauthorized"),
        (ApiError(404, "NotFound", "404 page not found\n"), "API error 404: 404 page not found"),
        (RESET, "ConnectionResetError: connection reset by peer"),
    ],
)
def test_reasons_name_the_cause(error: Exception, message: str) -> None:
    assert describe_error(error) == message


def test_a_failing_streams_message_does_not_tick_with_time() -> None:
    early = verdict(synced=True, error=DOWN, failing_for=10.0)
    late = verdict(synced=True, error=DOWN, failing_for=300.0)
    assert early is not None
    assert late is not None
    assert describe_error(early) == describe_error(late)  # else every cycle would be news


def test_the_short_grace_counts_from_the_first_refusal_not_from_the_connection_loss_before_it() -> None:
    # N8: the streak began when the API server went down (30 s ago); it refuses us since it came back (1 s).
    def judged(erring_for: float) -> BaseException | None:
        return stream_verdict(
            "configmaps in ns",
            synced=True,
            error=FORBIDDEN,
            failing_since=70.0,
            error_since=100.0 - erring_for,
            now=100.0,
            grace=10.0,
        )

    assert judged(1.0) is None
    result = judged(PERMANENT_GRACE)
    assert isinstance(result, StreamFailingError)
    assert result.seconds == 30.0  # the whole streak, as before


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(401, True), (403, True), (404, True), (400, False), (409, False), (410, False), (429, False),
     (500, False), (503, False)],
)  # fmt: skip
def test_which_api_errors_count_as_permanent(status: int, permanent: bool) -> None:
    # Pinned by the 2026-12 mutation audit: only authorization and not-found classes are verdicts.
    error = ApiError(status, "Reason", "message")
    assert is_permanent(error) is permanent
    judged = stream_verdict("s", synced=True, error=error, failing_since=0.0, now=PERMANENT_GRACE, grace=10.0)
    assert (judged is not None) is permanent
