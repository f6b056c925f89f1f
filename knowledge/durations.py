"""Durations as people and settings write them: "15s", "10m", "2h", "3d", "1w" (and "1h30m").

One parser for every setting and flag that takes a duration (FOLLOW_UP_DELAY, VERIFY_EVERY,
event reminders), so they all accept the same forms and say the same thing when wrong.
"""

from __future__ import annotations

import re
from datetime import timedelta

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)\s*([smhdw])")
_WHOLE = re.compile(r"^(?:\s*\d+\s*[smhdw])+\s*$")


def parse_duration(text: str, *, units: str = "smhdw") -> timedelta:
    """ "15s", "2h", "3d", "1h30m" -> timedelta; ValueError naming the accepted form otherwise.

    `units` narrows what is accepted (reminders before an event take "mhdw": no seconds)."""
    lowered = text.strip().lower()
    if not _WHOLE.match(lowered) or any(unit not in units for _, unit in _PART.findall(lowered)):
        examples = ", ".join(
            f"{n}{u}" for n, u in zip((15, 10, 2, 3, 1), "smhdw", strict=True) if u in units
        )
        raise ValueError(f"'{text.strip()}' is not a duration like {examples}")
    seconds = sum(int(number) * UNIT_SECONDS[unit] for number, unit in _PART.findall(lowered))
    if seconds == 0:
        raise ValueError(f"'{text.strip()}' is not a duration: it must be more than zero")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest exact form parse_duration reads back: 90 s -> "1m30s", 3 days -> "3d"."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in sorted(UNIT_SECONDS.items(), key=lambda item: -item[1]):
        if unit == "w" and seconds % size:
            continue  # "10d" reads better than "1w3d"
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
