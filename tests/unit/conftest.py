"""Set-up for the whole unit suite: every test runs on loop time (looptime), unless it says otherwise.

Time in a unit test is the event loop's, fast-forwarded whenever the loop would wait: a test of a 30 s
back-off takes no 30 s, and a sleep that a test forgets to mock cannot make it slow or flaky. A module that
talks to a real socket (where waiting is not idling) opts out with ``pytest.mark.looptime(False)``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(_HERE) and item.get_closest_marker("looptime") is None:
            item.add_marker(pytest.mark.looptime)
