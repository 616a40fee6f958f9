"""Old names of the watchlist fakes, kept for tests not yet moved to :mod:`statuswatch.watchlist.testing`."""

from __future__ import annotations

from statuswatch.watchlist.testing import HANG, FakeTransport, bookmark, gone_event
from statuswatch.watchlist.testing import configmap as cm
from statuswatch.watchlist.testing import event as ev

FakeApi = FakeTransport

__all__ = ["HANG", "FakeApi", "bookmark", "cm", "ev", "gone_event"]
