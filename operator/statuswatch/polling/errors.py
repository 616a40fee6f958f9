"""The exceptions the polling engine raises or reports, in one place.

``IdentifierError`` ends a poll (an identifier that can never be read). The stream errors never escape
``poll()``: the shared-view reader raises them from reads, and the status readers turn them into ``Unknown``
statuses whose message (see :mod:`.reasons`) says why the view cannot be trusted for that object.
"""

from __future__ import annotations

__all__ = ["IdentifierError", "NotSyncedError", "StreamFailingError", "UnreadableObjectError"]


class IdentifierError(ValueError):
    """An identifier that cannot be polled (a namespaced kind without a namespace)."""


class NotSyncedError(Exception):
    """A watch stream has not delivered its first full state, and the one bounded wait for it is over.

    ``cause`` is the stream's latest failure, or ``None`` while it is still connecting or listing.
    """

    def __init__(self, stream: str, cause: BaseException | None = None) -> None:
        super().__init__(
            f"{stream}: {cause}" if cause is not None else f"{stream}: initial list not complete"
        )
        self.stream = stream
        self.cause = cause


class StreamFailingError(Exception):
    """A watch stream that had synced is failing, so its store may be stale.

    Raised at once for authorization and not-found failures (``grace`` is ``None``), and for transient ones
    once they have lasted ``grace`` seconds. ``seconds`` is how long the current streak of failures has
    lasted so far (``None`` when the stream does not say); it is kept out of the message, which must stay the
    same for the whole streak (see :mod:`.reasons`).
    """

    def __init__(
        self, stream: str, cause: BaseException, seconds: float | None, grace: float | None = None
    ) -> None:
        super().__init__(f"{stream}: {cause}")
        self.stream = stream
        self.cause = cause
        self.seconds = seconds
        self.grace = grace


class UnreadableObjectError(Exception):
    """The watch stream is healthy, but the latest version of this one object could not be read (skipped),
    so the version stored for it, if any, is stale. ``why`` is the stream's reason for skipping it."""

    def __init__(self, stream: str, name: str, why: str) -> None:
        super().__init__(f"{stream}: {name}: {why}")
        self.stream = stream
        self.name = name
        self.why = why
