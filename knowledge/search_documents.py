"""What the search index is built from: one Document per searchable thing, read from the
database (services, toolkit entries, sample materials, upcoming events)."""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.ages import ANY_AGE, served_ages
from knowledge.hours import OpenInterval, weekly_intervals
from knowledge.hsds.inference import INFERRED, is_stand_in_name
from knowledge.models import (
    Address,
    Attribute,
    Event,
    Language,
    Location,
    Organization,
    Phone,
    SampleMaterial,
    Schedule,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
    ToolkitResource,
    utcnow,
)
from knowledge.opening_hours import days_named
from knowledge.phones import where_they_ring
from knowledge.service_areas import service_areas
from knowledge.text import fold


@dataclass(slots=True)
class Document:
    """What the index needs of one searchable thing; the full record stays in the database."""

    id: str
    kind: str
    title: str
    name: str
    tags: str
    body: str
    concepts: frozenset[str] = frozenset()
    # What a service says it is, for tagging it with the lexicon's concepts when the index is
    # built: its name, taxonomy terms, a short description, its keywords. The name if empty.
    about: str = ""
    title_es: str = ""  # shown for a search in Spanish (toolkit entries, materials)
    # Where it is and whom it serves, as the directory says: its places' (town, state, ZIP), its
    # service areas' names, and the names of the service and its places (which may name a town:
    # "Peoria Office - Legal help"). The index reads them with knowledge.places.
    addresses: tuple[tuple[str | None, str | None, str | None], ...] = ()
    areas: tuple[str, ...] = ()
    place_names: tuple[str, ...] = ()
    # The names of the buildings it is held in, searched by their own words ("the expungement
    # desk at Skokie Courthouse"); not its organization's offices lent to it.
    sites: str = ""
    site_details: str = ""  # ...and their descriptions, of which only rare words are searched
    languages: frozenset[str] = frozenset()
    points: tuple[tuple[float, float], ...] = ()
    hours: tuple[OpenInterval, ...] = ()
    # With no hours, the weekdays its description or how to apply names ("a Saturday morning
    # feeding program", "walk-in consultations every Tuesday and Saturday"): there on those
    # days, at hours unknown.
    days_named: frozenset[int] = frozenset()
    # Naming no place of its own, it was linked at import to its organization's several places
    # (knowledge/hsds/inference.py): a weaker claim on each town than an office there.
    inherited_places: bool = False
    organization_id: str = ""  # a service naming no place at all is where its siblings are
    rings_in: tuple[str, ...] = ()  # ...or where its phone rings ("Chicago, IL"), if none are
    ages: tuple[float, float] = ANY_AGE  # the ages it takes (knowledge.ages)
    # How to apply, as the directory says it: in person without an appointment (True), only by
    # phone, online or appointment first (False), or not said (None).
    walk_in: bool | None = None


# "Walk-in", "Walk in or apply by phone", "drop in": seen without arranging it first...
# (No word boundaries about "walk in": directories run it into the next word, "Walk-inWalk-ins
# accepted Tuesdays".)
WALK_IN = re.compile(r"walk ?ins?|drop ?ins?|\b(?:sin cita|no appointment needed|first come)\b")
# ...or only after a call, a form or a referral ("Telephone", "Call for screening appointment";
# again without a boundary after: "TelephoneCall and leave a message").
ARRANGED = re.compile(
    r"\b(?:telephone|phone|call|online|e-?mail|mail|appointment|referral|apply|application|"
    r"llame|cita)"
)


def welcomes_walk_ins(application_process: str | None) -> bool | None:
    """Whether a family can come in unannounced, by the service's HSDS application_process:
    None when it does not say."""
    text = fold(application_process or "")
    if WALK_IN.search(text):
        return True
    if ARRANGED.search(text):
        return False
    return None


SHORT_DESCRIPTION_WORDS = 8
# "The Illinois Armed Forces Legal Aid Network (IL-AFLAN) provides...": a short name in brackets.
SHORT_NAME = re.compile(r"\(([A-Z][A-Za-z0-9&.-]{1,19})\)")
SPANISH_NAMES = {"es", "spa", "spanish", "espanol", "castellano"}


def _language_codes(names: Iterable[str | None]) -> frozenset[str]:
    codes = set()
    for name in names:
        folded = fold(name or "")
        if folded in SPANISH_NAMES:
            codes.add("es")
        elif folded in {"en", "eng", "english", "ingles"}:
            codes.add("en")
        elif folded:
            codes.add(folded[:12])
    return frozenset(codes)


def _summary(description: str | None) -> str:
    """What of a description says what the service is: all of a short one ("Legal self-help
    center"), the keywords a long one lists ("Keywords: Food Pantries, ..."); not the prose,
    where "we also refer to food banks" would make any service a food bank."""
    text = description or ""
    _, marker, keywords = text.partition("Keywords:")
    if marker:
        return keywords
    return text if len(text.split()) <= SHORT_DESCRIPTION_WORDS else ""


# Legal work named in a service's own words ("Direct representation", "Low Income Tax Clinic"),
# lowercased (faster than re.I).
LAW_WORK = re.compile(
    r"\b(?:legal|legales|law|lawyers?|attorneys?|paralegals?|courts?|courthouse|abogad[oa]s?|"
    r"represent\w*|advice|advoca\w+|rights|justice|litigation|clinics?|counsel)\b"
)


def names_no_legal_work(document: Document) -> bool:
    """Whether a service's own description says what it does, and no legal work is in it or
    its name ("Direct representation" says enough; a name alone says too little to tell)."""
    described = document.body.partition("Keywords:")[0]
    if document.kind != "service" or described.count(" ") < SHORT_DESCRIPTION_WORDS:
        return False  # (counting spaces: splitting every description costs a build dearly)
    return not LAW_WORK.search(f"{document.name} {document.tags} {described}".lower())


async def load_documents(session: AsyncSession, concept_ids: Iterable[str] = ()) -> list[Document]:
    """Everything searchable, read with plain column queries (fast at 100k services), in id
    order so that equal scores rank alike on every database."""
    known_concepts = set(concept_ids)
    organizations: dict[str, str] = {}
    short_names: dict[str, set[str]] = {}  # an organization's own abbreviations
    for org_id, org_name, org_alternate, org_description in await session.execute(
        select(
            Organization.id,
            Organization.name,
            Organization.alternate_name,
            Organization.description,
        )
    ):
        # "Organization 24656", standing in for one the data does not name, says nothing:
        # searched, its "organization" made every such service a nonprofits' legal help
        organizations[org_id] = "" if is_stand_in_name(org_id, org_name) else org_name
        short = set(SHORT_NAME.findall(org_description or "")) | {org_alternate or ""}
        short_names[org_id] = {fold(n) for n in short if n}
    term_rows = (
        await session.execute(select(TaxonomyTerm.id, TaxonomyTerm.code, TaxonomyTerm.name))
    ).all()
    term_names = {tid: name for tid, _, name in term_rows}
    term_concepts = {tid: code for tid, code, _ in term_rows if code and code in known_concepts}
    tags: dict[str, list[str]] = defaultdict(list)
    concepts: dict[str, set[str]] = defaultdict(set)
    for link_id, term_id in (
        await session.execute(
            select(Attribute.link_id, Attribute.taxonomy_term_id).where(
                (Attribute.link_entity == "service") | (Attribute.link_entity.is_(None))
            )
        )
    ).all():
        tags[link_id].append(term_names.get(term_id, ""))
        if term_id in term_concepts:
            concepts[link_id].add(term_concepts[term_id])

    points_of_location: dict[str, tuple[float, float]] = {}
    location_names: dict[str, str] = {}
    location_details: dict[str, str] = {}
    for lid, location_name, lat, lon, location_description in (
        await session.execute(
            select(
                Location.id,
                Location.name,
                Location.latitude,
                Location.longitude,
                Location.description,
            )
        )
    ).all():
        if location_description:
            location_details[lid] = location_description
        if lat is not None and lon is not None:
            points_of_location[lid] = (lat, lon)
        if location_name:
            location_names[lid] = location_name
    addresses_of_location: dict[str, list[tuple[str | None, str | None, str | None]]] = defaultdict(
        list
    )
    for lid, town, state, postal in (
        await session.execute(
            select(Address.location_id, Address.city, Address.state_province, Address.postal_code)
        )
    ).all():
        addresses_of_location[lid].append((town, state, postal))
    areas = await service_areas(session)
    service_locations: dict[str, list[str]] = defaultdict(list)
    own_places: set[str] = set()
    link = ServiceAtLocation
    links = select(link.id, link.service_id, link.location_id)
    for link_id, service_id, location_id in (await session.execute(links)).all():
        service_locations[service_id].append(location_id)
        if not link_id.startswith(INFERRED):
            own_places.add(service_id)

    schedule_rows: dict[str, list[tuple[str | None, str | None, str | None, str | None]]] = (
        defaultdict(list)
    )
    for schedule_service, schedule_location, freq, byday, opens, closes in (
        await session.execute(
            select(
                Schedule.service_id,
                Schedule.location_id,
                Schedule.freq,
                Schedule.byday,
                Schedule.opens_at,
                Schedule.closes_at,
            )
        )
    ).all():
        schedule_rows[schedule_service or f"location:{schedule_location}"].append(
            (freq, byday, opens, closes)
        )

    numbers: dict[str, list[str]] = defaultdict(list)
    for phone_service, number in await session.execute(
        select(Phone.service_id, Phone.number).where(Phone.service_id.is_not(None))
    ):
        if phone_service and number:
            numbers[phone_service].append(number)

    languages: dict[str, list[str | None]] = defaultdict(list)
    for language_service, name, code in (
        await session.execute(select(Language.service_id, Language.name, Language.code))
    ).all():
        if language_service:
            languages[language_service] += [code or name]

    documents: list[Document] = []
    placeless: list[tuple[Document, list[str]]] = []  # and the numbers it gives
    services = await session.execute(
        select(
            Service.id,
            Service.organization_id,
            Service.name,
            Service.alternate_name,
            Service.description,
            Service.eligibility_description,
            Service.interpretation_services,
            Service.status,
            Service.minimum_age,
            Service.maximum_age,
            Service.application_process,
        ).order_by(Service.id)
    )
    for row in services:
        sid, org_id, name, alternate, description, eligibility, interpretation, status = row[:8]
        if (status or "active").lower() != "active":
            continue
        locations = service_locations.get(sid, [])
        rows = schedule_rows.get(sid) or [
            row for lid in locations for row in schedule_rows.get(f"location:{lid}", [])
        ]
        spoken = languages.get(sid, [])
        addresses = tuple(a for lid in locations for a in addresses_of_location.get(lid, ()))
        areas_named = tuple(area.name for area in areas.get(sid, ()))
        if interpretation and "spanish" in fold(interpretation).split():
            spoken = [*spoken, "es"]
        hours = tuple(weekly_intervals(rows))
        said = f"{description or ''} {eligibility or ''} {row.application_process or ''}"
        details = " ".join(location_details[lid] for lid in locations if lid in location_details)
        inherited = sid not in own_places and len(locations) > 1
        document = Document(
            id=sid,
            kind="service",
            title=name,
            name=f"{name} {alternate or ''}",
            tags=" ".join([organizations.get(org_id, ""), *tags.get(sid, [])]),
            body=f"{description or ''} {eligibility or ''}",
            concepts=frozenset(concepts.get(sid, ())),
            about=" ".join(
                [
                    name,
                    # a service named with its organization's abbreviation ("IL-AFLAN") is
                    # about what the full name says ("...Armed Forces Legal Aid Network")
                    (organizations.get(org_id) or "")
                    if fold(name) in short_names.get(org_id, ())
                    else "",
                    alternate or "",
                    *tags.get(sid, []),
                    _summary(description),
                ]
            ),
            languages=_language_codes(spoken),
            addresses=addresses,
            areas=areas_named,
            place_names=(
                name,
                *(location_names[lid] for lid in locations if lid in location_names),
            ),
            sites=""
            if inherited
            else " ".join(location_names[lid] for lid in locations if lid in location_names),
            site_details="" if inherited else details,
            points=tuple(points_of_location[lid] for lid in locations if lid in points_of_location),
            hours=hours,
            days_named=frozenset()
            if hours
            else days_named(said if inherited else f"{said} {details}"),
            inherited_places=inherited,
            organization_id=org_id or "",
            ages=served_ages(
                row.minimum_age, row.maximum_age, eligibility or "", description or ""
            ),
            walk_in=welcomes_walk_ins(row.application_process),
        )
        documents.append(document)
        if not addresses and not areas_named and numbers.get(sid):
            placeless.append((document, numbers[sid]))
    if placeless:
        # A service that says nothing of where it is rings somewhere: "(773) 769-1411" is
        # Chicago, less surely than an office there. (In a thread: a child process answers.)
        rings = await asyncio.to_thread(where_they_ring, [n for _, own in placeless for n in own])
        for document, own in placeless:
            document.rings_in = tuple(sorted({rings[n] for n in own if n in rings}))

    resources = await session.scalars(select(ToolkitResource).order_by(ToolkitResource.position))
    for resource in resources.all():
        documents.append(
            Document(
                id=resource.id,
                kind="resource",
                title=resource.title_en,
                title_es=resource.title_es,
                name=f"{resource.title_en} {resource.title_es}",
                tags=f"{resource.keywords_en} {resource.keywords_es}",
                body=" ".join(
                    (resource.summary_en, resource.summary_es, resource.body_en, resource.body_es)
                ),
                languages=frozenset({"en", "es"}),
            )
        )
    materials = await session.scalars(select(SampleMaterial).order_by(SampleMaterial.position))
    for material in materials.all():
        documents.append(
            Document(
                id=material.id,
                kind="material",
                title=material.title_en,
                title_es=material.title_es,
                name=f"{material.title_en} {material.title_es}",
                tags=f"{material.keywords_en} {material.keywords_es}",
                body=f"{material.description_en} {material.description_es}",
                languages=frozenset({"en", "es"} if material.content_es else {"en"}),
            )
        )
    events = await session.execute(
        select(Event.id, Event.title, Event.where, Event.description)
        .where(Event.cancelled_at.is_(None), Event.starts_at > utcnow())
        .order_by(Event.starts_at, Event.id)
    )
    for event_id, title, where, description in events:
        documents.append(
            Document(
                id=str(event_id),
                kind="event",
                title=title,
                name=title,
                tags=where or "",
                body=description or "",
            )
        )
    return documents
