"""Durations as settings and flags take them ("15s", "2h", "3d")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from knowledge.durations import format_duration, parse_duration
from knowledge.events import parse_offsets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15s", timedelta(seconds=15)),
        ("10m", timedelta(minutes=10)),
        (" 2H ", timedelta(hours=2)),
        ("3d", timedelta(days=3)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(minutes=90)),
        ("90d", timedelta(days=90)),
    ],
)
def test_parses_the_documented_forms(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "15", "0s", "3 days", "-1d", "1.5h", "d"])
def test_refuses_anything_else_naming_the_form(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_units_can_be_narrowed() -> None:
    with pytest.raises(ValueError, match="like 10m, 2h, 3d, 1w"):
        parse_duration("30s", units="mhdw")


@pytest.mark.parametrize("text", ["15s", "10m", "2h", "3d", "1w", "1h30m", "10d"])
def test_format_reads_back(text: str) -> None:
    assert format_duration(parse_duration(text)) == text


def test_reminder_offsets_use_the_same_parser() -> None:
    assert parse_offsets("1d, 10m,1d") == [timedelta(days=1), timedelta(minutes=10)]
    with pytest.raises(ValueError, match="'2x' is not a duration"):
        parse_offsets("1d,2x")
