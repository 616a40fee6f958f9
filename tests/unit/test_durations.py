"""Go-style durations: the CRD's ``pollInterval``/``timeout`` strings and the CLI's ``--timeout``."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from statuswatch.durations import DURATION_PATTERN, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("2m", 120),
        ("1h", 3600),
        ("500ms", 0.5),
        ("1m30s", 90),
        ("1h2m3s", 3723),
        ("1.5s", 1.5),
        ("0.25h", 900),
        ("2m500ms", 120.5),
        ("0s", 0),
        (" 5s ", 5),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", " ", "5", "5x", "m5", "1m 30s", "s", "-5s", "+5s", "1.s", "5S", "1d"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize(("text", "seconds"), [("12", 12), ("0", 0), ("2.5", 2.5), ("1m", 60)])
def test_bare_seconds_are_accepted_only_when_asked(text: str, seconds: float) -> None:
    assert parse_duration(text, bare_seconds=True) == timedelta(seconds=seconds)


def test_bare_seconds_are_refused_by_default() -> None:
    with pytest.raises(ValueError, match="use a number with a unit"):
        parse_duration("12")


@pytest.mark.parametrize("text", ["-1", "nan"])
def test_bare_seconds_must_be_a_non_negative_number(text: str) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        parse_duration(text, bare_seconds=True)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.5, "500ms"),
        (1, "1s"),
        (1.5, "1.5s"),
        (1.25, "1.25s"),
        (60, "1m"),
        (90, "1m30s"),
        (3600, "1h"),
        (3723, "1h2m3s"),
        (7200.5, "2h500ms"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


def test_format_duration_refuses_negative() -> None:
    with pytest.raises(ValueError, match="negative duration"):
        format_duration(timedelta(seconds=-1))


@pytest.mark.parametrize("seconds", [0, 0.001, 0.5, 1, 59.999, 61, 3599, 3600.25, 86400])
def test_format_then_parse_is_the_identity(seconds: float) -> None:
    duration = timedelta(seconds=seconds)
    assert parse_duration(format_duration(duration)) == duration


@pytest.mark.parametrize("text", ["30s", "1m30s", "500ms", "1.5h", "5", "5x", "1m 30s", "-1s", ""])
def test_the_schema_pattern_accepts_what_the_parser_accepts(text: str) -> None:
    try:
        parse_duration(text)
    except ValueError:
        parsed = False
    else:
        parsed = True
    assert (re.fullmatch(DURATION_PATTERN, text) is not None) == parsed
