"""Where services are offered, read for search and cards: "Boone County, IL", "Illinois", a ZIP,
the whole country.

HSDS 3.0 `service_area` names an area in free text (and may add GeoJSON); this reads the
names a directory commonly uses into something a place can be matched against: a county with
its state, a whole state, or a postal code. Anything else stays as the directory wrote it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import us  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.models import ServiceArea, ServiceAtLocation

COUNTY = re.compile(
    r"^(?:all of\s+)?(?P<place>[A-Za-z][\w .'-]*?)\s+(?:County|Parish|Borough)"
    r"(?:\s*,\s*(?P<state>[A-Za-z][A-Za-z .]*?))?\.?$",
    re.IGNORECASE,
)
STATE = re.compile(
    r"^(?:(?:the\s+)?state\s+of\s+|all of\s+)?(?P<state>[A-Za-z][A-Za-z .]*?)"
    r"(?:\s*[(,-]?\s*(?:statewide|state-wide)\)?)?\.?$",
    re.IGNORECASE,
)
COUNTRY = re.compile(
    r"^(?:(?:all of\s+)?(?:the\s+)?(?:United States(?: of America)?|USA|U\.S\.(?:A\.)?)|"
    r"nationwide|national(?:ly)?)\.?$",
    re.IGNORECASE,
)
POSTAL_CODE = re.compile(r"^(?:zip\s*(?:code)?\s*)?(?P<code>\d{5})(?:-\d{4})?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Area:
    """One service area, read: `kind` is county, state, country, postal_code or other."""

    kind: str
    name: str  # as the directory wrote it
    place: str | None = None  # "Boone" for Boone County, the state's name, the ZIP code
    state: str | None = None  # two-letter code when known ("IL")

    @property
    def label(self) -> str:
        """How a card names it: "Boone County, IL", "Illinois", "ZIP 60601"."""
        if self.kind == "county":
            county = f"{self.place} County"
            return f"{county}, {self.state}" if self.state else county
        if self.kind in ("state", "country"):
            return str(self.place)
        if self.kind == "postal_code":
            return f"ZIP {self.place}"
        return self.name

    @property
    def whole_area(self) -> bool:
        """True for a named place a card can say "serves all of" about."""
        return self.kind != "other"


# Exact names and codes only: us.states.lookup also takes sound-alikes ("Main" for Maine).
_STATES = {
    key: state
    for state in us.states.STATES_AND_TERRITORIES
    for key in (state.name.lower(), state.abbr.lower())
}


def _state_lookup(text: str) -> us.states.State | None:
    return _STATES.get(" ".join(text.strip().rstrip(".").lower().split()))


def state_code(text: str | None) -> str | None:
    """ "Illinois", "IL", "il" -> "IL"; None when it is no US state."""
    found = _state_lookup(text or "")
    return str(found.abbr) if found is not None else None


def state_name(code: str) -> str | None:
    found = _state_lookup(code)
    return str(found.name) if found is not None else None


def read_area(name: str) -> Area:
    """What a service area's name says, as far as it can be read."""
    text = " ".join(name.split())
    postal = POSTAL_CODE.match(text)
    if postal:
        return Area("postal_code", text, place=postal.group("code"))
    county = COUNTY.match(text)
    if county:
        state = county.group("state")
        found = _state_lookup(state) if state else None
        if not state or found is not None:
            place = " ".join(word[:1].upper() + word[1:] for word in county.group("place").split())
            code = str(found.abbr) if found is not None else None
            return Area("county", text, place=place, state=code)
    if COUNTRY.match(text):
        return Area("country", text, place="United States")
    whole = STATE.match(text)
    if whole:
        found = _state_lookup(whole.group("state"))
        if found is not None:
            return Area("state", text, place=str(found.name), state=str(found.abbr))
    return Area("other", text)


async def service_areas(
    session: AsyncSession, service_ids: Iterable[str] | None = None
) -> dict[str, list[Area]]:
    """Every service's areas (its own, and those of its places), read; for search and cards."""
    wanted = list(service_ids) if service_ids is not None else None
    direct = select(ServiceArea.service_id, ServiceArea.name).where(
        ServiceArea.service_id.is_not(None), ServiceArea.name.is_not(None)
    )
    through_place = (
        select(ServiceAtLocation.service_id, ServiceArea.name)
        .join(ServiceArea, ServiceArea.service_at_location_id == ServiceAtLocation.id)
        .where(ServiceArea.name.is_not(None))
    )
    if wanted is not None:
        direct = direct.where(ServiceArea.service_id.in_(wanted))
        through_place = through_place.where(ServiceAtLocation.service_id.in_(wanted))
    areas: dict[str, list[Area]] = defaultdict(list)
    for query in (direct, through_place):
        for service_id, name in (
            await session.execute(query.order_by(ServiceArea.name, ServiceArea.id))
        ).all():
            area = read_area(name or "")
            if service_id is not None and area not in areas[service_id]:
                areas[service_id].append(area)
    return dict(areas)
