"""Opening hours from HSDS schedule rows: weekly intervals, "open now", today's hours."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class OpenInterval:
    weekday: int  # 0 = Monday, as datetime.weekday()
    opens: int  # minutes after midnight
    closes: int  # minutes after midnight; may exceed a day for overnight hours


def _minutes(value: str | None) -> int | None:
    if not value:
        return None
    parts = value.strip().split(":")
    try:
        hours, minutes = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return None
    if not (0 <= hours <= 24 and 0 <= minutes < 60):
        return None
    return hours * 60 + minutes


def weekly_intervals(
    rows: Iterable[tuple[str | None, str | None, str | None, str | None]],
) -> list[OpenInterval]:
    """(freq, byday, opens_at, closes_at) rows -> intervals; rows without times are skipped."""
    intervals: list[OpenInterval] = []
    for freq, byday, opens_at, closes_at in rows:
        opens, closes = _minutes(opens_at), _minutes(closes_at)
        if opens is None or closes is None:
            continue
        if closes == 23 * 60 + 59:
            closes = MINUTES_PER_DAY  # "until 23:59" means the whole evening
        if closes <= opens:
            closes += MINUTES_PER_DAY  # overnight, e.g. 20:00-02:00
        if byday:
            days = [
                WEEKDAYS.index(code[-2:])
                for code in (d.strip().upper() for d in byday.split(","))
                if code[-2:] in WEEKDAYS
            ]
        elif (freq or "").upper() in ("", "DAILY", "WEEKLY"):
            days = list(range(7))
        else:
            days = []
        intervals.extend(OpenInterval(day, opens, closes) for day in days)
    return sorted(set(intervals), key=lambda i: (i.weekday, i.opens))


def is_open(intervals: Iterable[OpenInterval], moment: datetime) -> bool:
    """Whether `moment` (already in the directory's local time) falls inside an interval."""
    minute_of_week = moment.weekday() * MINUTES_PER_DAY + moment.hour * 60 + moment.minute
    week = 7 * MINUTES_PER_DAY
    for interval in intervals:
        start = interval.weekday * MINUTES_PER_DAY + interval.opens
        end = interval.weekday * MINUTES_PER_DAY + interval.closes
        # Sunday-night hours running past midnight wrap into Monday.
        if start <= minute_of_week < end or start <= minute_of_week + week < end:
            return True
    return False


def hours_on(intervals: Iterable[OpenInterval], weekday: int) -> list[tuple[int, int]]:
    return [(i.opens, i.closes) for i in intervals if i.weekday == weekday]


def is_always_open(intervals: Iterable[OpenInterval]) -> bool:
    days = {i.weekday for i in intervals if i.opens == 0 and i.closes >= MINUTES_PER_DAY}
    return len(days) == 7


def next_opening(intervals: Iterable[OpenInterval], moment: datetime) -> tuple[int, int] | None:
    """(days from today, opening minute) of the next opening after `moment`, within a week."""
    minute = moment.hour * 60 + moment.minute
    blocks = list(intervals)
    for ahead in range(8):
        weekday = (moment.weekday() + ahead) % 7
        starts = sorted(i.opens for i in blocks if i.weekday == weekday)
        later = [s for s in starts if ahead > 0 or s > minute]
        if later:
            return ahead, later[0]
    return None
