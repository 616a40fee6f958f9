"""Fixtures of the monitoring tests: the pinned promtool, built from the Go module proxy once and cached."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from statuswatch.cluster.gotools import PROMTOOL, ensure_tool


@pytest.fixture(scope="session")
def promtool() -> Path:
    # Visible despite output capture: a cold build takes minutes.
    return ensure_tool(PROMTOOL, say=lambda line: print(line, file=sys.__stderr__, flush=True))
