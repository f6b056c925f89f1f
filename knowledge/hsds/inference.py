"""What HSDS 1.x leaves to the organization, carried to its services; what names say, read.

Real 1.x exports (hsds-transformer's, say) hang places, addresses and hours off the
organization and link no service to a place; some name organizations they do not ship. Each
rule here is the common 1.x reading, applied after all files are in and reported as inferred:

- an organization a service names but organizations.csv lacks gets a stand-in, named from its
  one place, its services' shared name or website, else "Organization <id>";
- an organization-level address becomes the organization's place (3.0 addresses need one);
- a 1.x service with no place of its own is offered at its organization's places;
- a service with no service area whose name says "in Boone County" (or "statewide", or whose
  organization works "across Illinois") serves that county (or the directory's state).

Hours a place's description states are read into schedule rows the same way, in
knowledge/hsds/described_hours.py.

Rows made here have ids starting "inferred-" and are made again on every import, so a later
export and re-import, or a directory that gains real links, gives the same answer.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from rapidfuzz.distance import Levenshtein
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.hsds.hsds1 import ORGANIZATION_PLACE_PREFIX
from knowledge.hsds.report import ImportReport
from knowledge.hsds.writing import upsert_rows
from knowledge.models import (
    Address,
    Location,
    Organization,
    Phone,
    Service,
    ServiceArea,
    ServiceAtLocation,
)
from knowledge.phones import dialable, is_phone_number
from knowledge.search_words import is_everyday_word, words_of
from knowledge.service_areas import state_code, state_name

INFERRED = "inferred-"
STAND_IN_NAME = "Organization {id}"
STAND_IN_NOTE = "Not in the directory's organizations file"
# Enough of the directory's addresses in one state to read "Boone County" as Boone County there.
STATE_MAJORITY = 0.75
# Long enough a name that two letters off is a typo, not another place ("... - King").
TYPO_NAME_LENGTH = 20
IN_CLAUSE = 5000  # ids per IN (...) list: within SQLite's 32,766 parameters

PREPOSITIONS = frozenset({"in", "for", "of", "serving", "throughout", "across", "within", "to"})
COUNTY_WORD = re.compile(r"^Count(?:y|ies)\b", re.IGNORECASE)
NAME_WORD = re.compile(r"^(?:[A-Z][\w'-]*\.?|Mc[A-Z]\w*|De|La|Du)$")
# Place names that say nothing about whose place it is.
GENERIC_PLACE = re.compile(
    r"^(?:the\s+)?(?:main|head|central|administrative|home)?\s*"
    r"(?:office|offices|headquarters|hq|site|location|building)$",
    re.IGNORECASE,
)
STATEWIDE = re.compile(r"\b(?:statewide|state-wide)\b", re.IGNORECASE)
# What an organization says of where it works: "provides legal services across Illinois", "an
# issue that arises in Illinois", "free to anyone who lives in Illinois" (then the state's name).
ACROSS_STATE = (
    r"\b(?:across|throughout|anywhere in|all of|all over|arises in|the state of|"
    r"(?:anyone|everyone|anybody) (?:who (?:lives|resides) |living )in)\s+"
)
# ...or of the whole country: "to help low-income Americans", "nationwide".
NATIONWIDE = re.compile(
    r"\b(?:nationwide|Americans|(?:across|throughout) the (?:country|nation|United States))\b",
    re.IGNORECASE,
)
# "Residents of San Mateo County", "San Mateo County residents" in who may come.
RESIDENTS = re.compile(
    r"\b[Rr]esidents of ((?:[A-Z][\w'.-]*\s){1,3})County\b"
    r"|\b((?:[A-Z][\w'.-]*\s){1,3})County residents\b"
)


@dataclass
class Made:
    """What the files' checking made stand-ins for, and which services this import wrote."""

    organizations: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> where
    places: dict[str, tuple[str, int]] = field(default_factory=dict)
    services: set[str] = field(default_factory=set)
    # Stand-ins earlier imports made: made (and named) again when this import needs them.
    earlier_stand_ins: set[str] = field(default_factory=set)
    earlier_places: set[str] = field(default_factory=set)
    # The states this import's addresses name: what "Boone County" means in this directory.
    states: Counter[str] = field(default_factory=Counter)

    def forget_earlier(self, ids: Iterable[str]) -> None:
        """These ids are this import's own rows (or made again by it) from here on."""
        for row_id in ids:
            self.earlier_stand_ins.discard(row_id)
            self.earlier_places.discard(row_id)

    def record(self, parent: str, display: str, rows: dict[str, tuple[int, Any]]) -> None:
        target = self.organizations if parent == "organization" else self.places
        for row_id, (line, _) in rows.items():
            target.setdefault(row_id, (display, line))


async def stand_in_organizations(session: AsyncSession) -> set[str]:
    return set(
        await session.scalars(
            select(Organization.id).where(Organization.description.startswith(STAND_IN_NOTE))
        )
    )


async def organization_places(session: AsyncSession) -> set[str]:
    return set(
        await session.scalars(
            select(Location.id).where(Location.id.startswith(ORGANIZATION_PLACE_PREFIX))
        )
    )


def is_stand_in_name(organization_id: str, name: str | None) -> bool:
    """True for the name a stand-in organization gets when the data offers none."""
    return name == STAND_IN_NAME.format(id=organization_id)


def inferred_id(kind: str, *parts: str) -> str:
    digest = hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:16]
    return f"{INFERRED}{kind}-{digest}"


async def fill_in(session: AsyncSession, made: Made, report: ImportReport) -> None:
    await _name_stand_in_organizations(session, made, report)
    await _name_organization_places(session, made, report)
    # HSDS 3.0 links services to places itself: a service with none there is meant so.
    linked_by_organization = made.services if report.flavour == "hsds1" else set()
    await _offer_services_at_organization_places(session, linked_by_organization, report)
    # A 3.0 file's areas are the directory's word, whatever their ids; 1.x areas from names
    # are made afresh each time.
    await _service_areas_from_names(session, made, report.flavour != "hsds1", report)


def id_chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), IN_CLAUSE):
        yield ids[start : start + IN_CLAUSE]


# --- Stand-in organizations ------------------------------------------------------------------


async def _name_stand_in_organizations(
    session: AsyncSession, made: Made, report: ImportReport
) -> None:
    ids = sorted(made.organizations)
    places: dict[str, list[str]] = defaultdict(list)
    offered: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for chunk in id_chunks(ids):
        for organization_id, name in await session.execute(
            select(Location.organization_id, Location.name)
            .where(Location.organization_id.in_(chunk))
            .order_by(Location.id)
        ):
            if name and organization_id:
                places[organization_id].append(" ".join(name.split()))
        for organization_id, name, url in await session.execute(
            select(Service.organization_id, Service.name, Service.url)
            .where(Service.organization_id.in_(chunk))
            .order_by(Service.id)
        ):
            offered[organization_id].append((" ".join(name.split()), url))
    rows = []
    for organization_id in sorted(ids, key=made.organizations.__getitem__):
        name, source = _stand_in_name(
            organization_id, places[organization_id], offered[organization_id]
        )
        rows.append(
            {
                "id": organization_id,
                "name": name,
                "description": f"{STAND_IN_NOTE}; the importer named it {source}.",
            }
        )
        display, line = made.organizations[organization_id]
        count = len(offered[organization_id])
        report.warnings.append(
            f"{display}:{line}: organization {organization_id} is not in organizations.csv; "
            f"kept its {count} service{'s' if count != 1 else ''} under a stand-in named "
            f"{name!r} ({source})"
        )
    await upsert_rows(session, "organization", rows)
    if rows:
        report.inferred["stand-in organizations (missing from organizations.csv)"] += len(rows)


def _stand_in_name(
    organization_id: str, places: list[str], offered: list[tuple[str, str | None]]
) -> tuple[str, str]:
    if len(set(places)) == 1 and not GENERIC_PLACE.match(places[0]):
        return places[0], "from its one place"
    names = {name for name, _ in offered if name}
    if len(names) == 1:
        return names.pop(), "from its services' name"
    hosts = {_host(url) for _, url in offered}
    if len(hosts) == 1 and (host := hosts.pop()):
        return host, "from its services' website"
    return STAND_IN_NAME.format(id=organization_id), "after its id: the data gives no name"


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    return host.removeprefix("www.") or None


# --- Organization-level addresses ------------------------------------------------------------


async def _name_organization_places(
    session: AsyncSession, made: Made, report: ImportReport
) -> None:
    if not made.places:
        return
    location_ids = sorted(made.places)
    rows = []
    for chunk in id_chunks(location_ids):
        for location_id, organization_name in await session.execute(
            select(Location.id, Organization.name)
            .join(Organization, Organization.id == Location.organization_id)
            .where(Location.id.in_(chunk))
        ):
            rows.append({"id": location_id, "name": organization_name})
    await upsert_rows(session, "location", rows)
    for location_id in sorted(location_ids, key=made.places.__getitem__):
        display, line = made.places[location_id]
        report.warnings.append(
            f"{display}:{line}: address of an organization, not of a place; kept as the "
            f"organization's place {location_id}"
        )
    report.inferred["organization addresses kept as the organization's place"] += len(rows)


# --- Services offered at their organization's places -----------------------------------------


async def _offer_services_at_organization_places(
    session: AsyncSession, service_ids: set[str], report: ImportReport
) -> None:
    """Link each of `service_ids` that has no place of its own to its organization's places."""
    if not service_ids:
        return
    placed = set(
        await session.scalars(
            select(ServiceAtLocation.service_id)
            .where(~ServiceAtLocation.id.startswith(INFERRED))
            .distinct()
        )
    )
    organization_places: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for location_id, organization_id, name in await session.execute(
        select(Location.id, Location.organization_id, Location.name)
        .where(Location.organization_id.is_not(None))
        .order_by(Location.id)
    ):
        if organization_id:
            organization_places[organization_id].append((location_id, name or ""))
    # A service's phone number that one of its organization's places also has says which place
    # it is: the county's self-help centre with the Oswego library's number is at that library.
    numbers: dict[str, set[str]] = defaultdict(set)  # service or location id -> its numbers
    for phone_service, phone_location, number in await session.execute(
        select(Phone.service_id, Phone.location_id, Phone.number)
    ):
        if number and is_phone_number(number):  # one form for "(630) 978-1024", "630-978-1024"
            key = f"s:{phone_service}" if phone_service else f"l:{phone_location}"
            numbers[key].add(dialable(number))
    wanted: dict[str, dict[str, Any]] = {}
    services_linked = named = by_phone = 0
    for service_id, organization_id, service_name in await session.execute(
        select(Service.id, Service.organization_id, Service.name)
    ):
        if service_id not in service_ids or service_id in placed:
            continue
        places = organization_places.get(organization_id)
        if not places:
            continue
        services_linked += 1
        chosen = _places_named_in(service_name, places)
        if chosen:
            named += 1
        elif own := numbers.get(f"s:{service_id}"):
            chosen = [i for i, _ in places if numbers.get(f"l:{i}", set()) & own]
            if len(chosen) == len(places):  # the organization's one number everywhere
                chosen = []
            by_phone += bool(chosen)
        if not chosen:
            chosen = _places_sharing_a_word(service_name, places)
            named += bool(chosen)
        if chosen:
            # The organization's own address still tells a family how to reach it.
            chosen += [i for i, _ in places if i.startswith(ORGANIZATION_PLACE_PREFIX)]
        for location_id in chosen or [location_id for location_id, _ in places]:
            link_id = inferred_id("sal", service_id, location_id)
            wanted[link_id] = {
                "id": link_id,
                "service_id": service_id,
                "location_id": location_id,
                "description": "Inferred: the service names no place; its organization's.",
            }
    existing = {
        link_id
        for link_id, service_id in await session.execute(
            select(ServiceAtLocation.id, ServiceAtLocation.service_id).where(
                ServiceAtLocation.id.startswith(INFERRED)
            )
        )
        if service_id in service_ids
    }
    stale = sorted(existing - set(wanted))
    for chunk in id_chunks(stale):
        await session.execute(delete(ServiceAtLocation).where(ServiceAtLocation.id.in_(chunk)))
    new = [row for link_id, row in wanted.items() if link_id not in existing]
    await upsert_rows(session, "service_at_location", new)
    if wanted:
        report.inferred["services offered at their organization's places"] += services_linked
        report.warnings.append(
            f"{services_linked:,} services name no place of their own: each is offered at its "
            f"organization's places ({len(wanted):,} links, HSDS 1.x practice); for "
            f"{named:,} of them, only at the places their name mentions, and for {by_phone:,}"
            " only at the places sharing their phone number"
        )


def _places_named_in(service_name: str, places: list[tuple[str, str]]) -> list[str]:
    """The organization's places whose own name the service's name mentions ("Wheaton Office -
    Legal help for seniors" is at the Wheaton Office, not at all thirteen offices), or the part
    of it that tells the places apart ("Criminal records advice desk at Markham Courthouse" is
    at "Criminal Records Help Desk - Markham", not at its Daley Center twin)."""
    wanted = f" {' '.join(words_of(service_name))} "
    chosen = []
    for location_id, name in places:
        for part in (name, name.rpartition(" - ")[2] if " - " in name else ""):
            words = " ".join(words_of(part))
            if len(words) >= 4 and not GENERIC_PLACE.match(part.strip()) and f" {words} " in wanted:
                chosen.append(location_id)
                break
    if not chosen:  # ...or whose name is the service's but for a typo ("Markham Courthose...")
        chosen = [
            location_id
            for location_id, name in places
            if len(wanted.strip()) >= TYPO_NAME_LENGTH
            and Levenshtein.distance(wanted.strip(), " ".join(words_of(name)), score_cutoff=2) <= 2
        ]
    return chosen


def _places_sharing_a_word(service_name: str, places: list[tuple[str, str]]) -> list[str]:
    """The organization's places whose name starts with a word of the service's name that is
    no everyday word (a town's, a building's), when not all do: "Skokie Expungement Desk" is
    at the "Skokie Courthouse", not at the organization's main office. (After the name and
    the phone number, which say more: the county self-help centre sharing a library's number
    is at that library.)"""
    said = set(words_of(service_name))
    chosen = []
    for location_id, name in places:
        first = next(iter(words_of(name)), "")
        if len(first) >= 4 and first in said and not is_everyday_word(first):
            chosen.append(location_id)
    return chosen if len(chosen) < len(places) else []


# --- Service areas from names ------------------------------------------------------------------


async def _service_areas_from_names(
    session: AsyncSession, made: Made, keep_given: bool, report: ImportReport
) -> None:
    ids = sorted(made.services)
    if not ids:
        return
    with_areas: set[str] = set()
    for chunk in id_chunks(ids):
        given = select(ServiceArea.service_id).where(ServiceArea.service_id.in_(chunk))
        if keep_given:
            with_areas.update(await session.scalars(given))
            continue
        with_areas.update(await session.scalars(given.where(~ServiceArea.id.startswith(INFERRED))))
        await session.execute(
            delete(ServiceArea).where(
                ServiceArea.service_id.in_(chunk), ServiceArea.id.startswith(INFERRED)
            )
        )
    state = _majority(
        Counter(code for value in made.states.elements() if (code := state_code(value)))
    )
    if state is None and not made.states:
        state = await _directory_state(session)
    own_place = (
        select(ServiceAtLocation.id)
        .where(
            ServiceAtLocation.service_id == Service.id, ~ServiceAtLocation.id.startswith(INFERRED)
        )
        .exists()
    )
    rows: list[dict[str, Any]] = []
    services = 0
    for chunk in id_chunks([i for i in ids if i not in with_areas]):
        rows_read = await session.execute(
            select(
                Service.id,
                Service.name,
                Service.description,
                Service.eligibility_description,
                Organization.description,
                own_place,
            )
            .outerjoin(Organization, Organization.id == Service.organization_id)
            .where(Service.id.in_(chunk))
        )
        for service_id, name, description, eligibility, organization, placed in rows_read:
            names = areas_named_in(name, description, state, eligibility, organization, placed)
            services += bool(names)
            rows += [
                {
                    "id": inferred_id("area", service_id, area),
                    "service_id": service_id,
                    "name": area,
                    "description": "Inferred from the service's name or who may come.",
                }
                for area in names
            ]
    await upsert_rows(session, "service_area", rows)
    if rows:
        report.inferred[
            "services with a service area read from their name, eligibility or organization"
        ] += services


async def _directory_state(session: AsyncSession) -> str | None:
    """The state nearly all of the database's addresses are in (for an import with none)."""
    counts: Counter[str] = Counter()
    for value, count in await session.execute(
        select(Address.state_province, func.count()).group_by(Address.state_province)
    ):
        code = state_code(value)
        if code:
            counts[code] += count
    return _majority(counts)


def _majority(counts: Counter[str]) -> str | None:
    if not counts:
        return None
    code, count = counts.most_common(1)[0]
    return code if count >= STATE_MAJORITY * sum(counts.values()) else None


def areas_named_in(
    name: str,
    description: str | None,
    state: str | None,
    eligibility: str | None = None,
    organization: str | None = None,
    placed: bool = True,
) -> list[str]:
    """ "Free legal forms in Boone County" -> ["Boone County, IL"] (the directory's state);
    "... in Clinton, Monroe and St. Clair Counties" -> three; "statewide" -> the state; who
    may come, "Residents of San Mateo County" -> that county; an organization working
    "across Illinois" (its description) -> the state, for a service saying none of this; so
    a nationwide organization's service with no place of its own (`placed`) serves the whole
    country from afar (Upsolve's bankruptcy filing)."""
    words = name.replace(",", " , ").split()
    found: list[str] = []
    for position, word in enumerate(words):
        if COUNTY_WORD.match(word):
            plural = word.lower().startswith("counties")
            for county in _counties_before(words, position, plural):
                label = f"{county} County" + (f", {state}" if state else "")
                if label not in found:
                    found.append(label)
    if not found:
        for match in RESIDENTS.finditer(f"{eligibility or ''} {description or ''}"):
            named = (match.group(1) or match.group(2)).split()
            while named and named[0].lower() in {*PREPOSITIONS, "the", "all", "only"}:
                named = named[1:]  # "For San Mateo County residents"
            if not named:
                continue
            county = " ".join(named)
            label = f"{county} County" + (f", {state}" if state else "")
            if label not in found:
                found.append(label)
    whole_state = state_name(state) if state else None
    if not found and state and STATEWIDE.search(f"{name} {description or ''}"):
        found.append(whole_state or state)
    elif not found and whole_state and organization:
        if re.search(ACROSS_STATE + re.escape(whole_state) + r"\b", organization, re.I):
            found.append(whole_state)
    if not found and not placed and organization and NATIONWIDE.search(organization):
        found.append("United States")
    return found


def _counties_before(words: list[str], position: int, plural: bool) -> list[str]:
    """The county names right before words[position], when a preposition leads into them."""
    start = position
    while start > 0 and (
        NAME_WORD.match(words[start - 1]) or (plural and words[start - 1] in (",", "and"))
    ):
        start -= 1
    if start == 0 or words[start - 1].lower() not in PREPOSITIONS:
        return []
    group = words[start:position]
    if not plural:
        return [" ".join(group)] if 1 <= len(group) <= 3 else []
    names: list[str] = []
    current: list[str] = []
    for word in [*group, ","]:
        if word in (",", "and"):
            if current:
                names.append(" ".join(current))
            current = []
        else:
            current.append(word)
    return names if all(1 <= len(n.split()) <= 3 for n in names) else []
