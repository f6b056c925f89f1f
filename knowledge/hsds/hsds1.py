"""HSDS 1.x, as hsds-transformer and older exports write it, said the HSDS 3.0 way.

1.x names a weekday where 3.0 writes a weekly RRULE, and lets an address hang off an
organization where 3.0 wants a location: both are rewritten here, row by row.
"""

from __future__ import annotations

from collections.abc import Mapping

from knowledge.hsds.checking import SkipRow

# HSDS 1.x `weekday`: a day name, or 1-7 counted ISO-style from Monday.
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAY_NAMES = {
    **dict(zip(DAY_NAMES, WEEKDAYS, strict=True)),
    **{str(number): code for number, code in enumerate(WEEKDAYS, start=1)},
    **{code.lower(): code for code in WEEKDAYS},
}

# The place an organization-level address becomes (HSDS 3.0 addresses belong to locations).
ORGANIZATION_PLACE_PREFIX = "inferred-location-"


def organization_place_id(organization_id: str) -> str:
    return f"{ORGANIZATION_PLACE_PREFIX}{organization_id}"


def regular_schedule_to_rrule(row: Mapping[str, str]) -> dict[str, str]:
    """HSDS 1.x regular_schedules name a weekday; 3.0 says the same as a weekly RRULE."""
    if row.get("byday"):
        return {"freq": row.get("freq") or "WEEKLY"}
    weekday = row.get("weekday")
    if not weekday:
        raise SkipRow("missing weekday")
    code = WEEKDAY_NAMES.get(weekday.lower()) or _weekday_from_prefix(weekday)
    if code is None:
        raise SkipRow(f"bad weekday {weekday!r}", "bad weekday")
    return {"byday": code, "freq": "WEEKLY"}


def _weekday_from_prefix(weekday: str) -> str | None:
    """Accept "Mon", "Tues", "thu." and the like, which hand-made 1.x files use."""
    text = weekday.strip().lower().rstrip(".")
    if len(text) < 2:
        return None
    matches = [code for name, code in WEEKDAY_NAMES.items() if name.startswith(text)]
    return matches[0] if len(set(matches)) == 1 else None


def organization_address_to_place(row: Mapping[str, str]) -> dict[str, str]:
    """A 1.x address with an organization_id and no location_id: the organization's place."""
    if row.get("location_id") or not row.get("organization_id"):
        return {}
    return {"location_id": organization_place_id(row["organization_id"])}
