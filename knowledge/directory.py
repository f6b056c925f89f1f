"""Reading the service directory: one service's full record, places by postal code."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.freshness import checked_on, unresolved_count
from knowledge.hours import OpenInterval, weekly_intervals
from knowledge.hsds.inference import is_stand_in_name
from knowledge.models import (
    Address,
    CostOption,
    Language,
    Location,
    Organization,
    Phone,
    RequiredDocument,
    Schedule,
    Service,
    ServiceAtLocation,
)
from knowledge.phones import PhoneLine
from knowledge.service_areas import Area, service_areas
from knowledge.us_places import us_gazetteer

MAX_PHONES = 3


@dataclass(frozen=True, slots=True)
class Place:
    name: str | None
    address: str | None
    latitude: float | None
    longitude: float | None
    kind: str = "physical"  # HSDS location_type: physical, postal (a mailing address), virtual
    hours: tuple[OpenInterval, ...] = ()  # this place's own opening hours, if it has any


@dataclass(slots=True)
class ServiceRecord:
    """Everything a family may need about one service, ready to render."""

    id: str
    name: str
    organization: str | None
    description: str | None
    fees: str | None
    eligibility: str | None
    application_process: str | None
    interpretation: str | None
    website: str | None
    email: str | None
    alert: str | None
    phones: list[PhoneLine] = field(default_factory=list)  # the service's own first; no fax
    places: list[Place] = field(default_factory=list)
    hours: list[OpenInterval] = field(default_factory=list)
    hours_note: str | None = None
    languages: list[str] = field(default_factory=list)
    # Freshness (knowledge.listing_reports): when it was confirmed and changed, unresolved
    # reports.
    assured: date | None = None
    modified: datetime | None = None
    open_reports: int = 0
    areas: list[Area] = field(default_factory=list)  # where it is offered (HSDS service_area)
    required_documents: list[str] = field(default_factory=list)
    costs: list[str] = field(default_factory=list)  # HSDS cost_option rows, one line each
    zone: str | None = None  # the time zone of its first address: its hours' clock

    def local(self, moment: datetime) -> datetime:
        """`moment` on the service's own clock, for saying whether it is open: a California
        library's hours read in California, whatever zone the bot runs in."""
        return moment.astimezone(ZoneInfo(self.zone)) if self.zone else moment

    def last_checked(self, zone: tzinfo) -> date | None:
        """The day, in `zone`, the listing was last confirmed or changed."""
        return checked_on(self.assured, self.modified, zone)

    @property
    def hours_differ_by_place(self) -> bool:
        """True when the service has no hours of its own and its places keep different ones."""
        distinct = {place.hours for place in self.places if place.hours}
        return len(distinct) > 1

    @property
    def mappable(self) -> Place | None:
        return next(
            (p for p in self.places if p.latitude is not None and p.longitude is not None), None
        )


def _distinct_phones(phones: Iterable[Phone]) -> list[Phone]:
    """Voice numbers, each once (a service and its place often list the same one)."""
    seen: set[str] = set()
    kept = []
    for phone in phones:
        digits = "".join(character for character in phone.number or "" if character.isdigit())
        if (phone.type or "voice").lower() == "fax" or digits in seen:
            continue
        seen.add(digits)
        kept.append(phone)
    return kept


def format_cost(option: CostOption) -> str:
    """ "Under 18s and Over 60s: 35 GBP per 1 hour session"."""
    amount = ""
    if option.amount is not None:
        number = f"{option.amount:,.2f}".removesuffix(".00")
        amount = f"{number} {(option.currency or '').upper()}".strip()
    price = " ".join(part for part in (amount, option.amount_description) if part)
    return ": ".join(part for part in (option.option, price) if part)


def format_address(address: Address) -> str:
    street = ", ".join(part for part in (address.address_1, address.address_2) if part)
    region = " ".join(part for part in (address.state_province, address.postal_code) if part)
    return ", ".join(part for part in (street, address.city, region) if part)


async def service_record(session: AsyncSession, service_id: str) -> ServiceRecord | None:
    service = await session.get(Service, service_id)
    if service is None:
        return None
    organization = await session.get(Organization, service.organization_id)
    location_ids = list(
        await session.scalars(
            select(ServiceAtLocation.location_id).where(ServiceAtLocation.service_id == service_id)
        )
    )
    locations = list(
        await session.scalars(
            select(Location)
            .where(Location.id.in_(location_ids))
            # Places a family can go to first; a mailing address last.
            .order_by(Location.location_type == "postal", Location.name, Location.id)
        )
    )
    addresses: dict[str, Address] = {}
    for address in await session.scalars(
        select(Address).where(Address.location_id.in_(location_ids)).order_by(Address.address_type)
    ):
        # Prefer the physical address where a location has several.
        if address.location_id not in addresses or address.address_type == "physical":
            addresses[address.location_id] = address
    phones = list(
        await session.scalars(
            select(Phone)
            .where((Phone.service_id == service_id) | Phone.location_id.in_(location_ids))
            .order_by(Phone.service_id.is_(None), Phone.id)
        )
    )
    if not phones and organization is not None:
        phones = list(
            await session.scalars(
                select(Phone).where(Phone.organization_id == organization.id).order_by(Phone.id)
            )
        )
    phones = _distinct_phones(phones)[:MAX_PHONES]
    place_names = {location.id: location.name for location in locations if location.name}
    phone_languages: dict[str, list[str]] = {}
    for phone_id, code in await session.execute(
        select(Language.phone_id, func.coalesce(Language.code, Language.name)).where(
            Language.phone_id.in_([phone.id for phone in phones])
        )
    ):
        if phone_id and code:
            phone_languages.setdefault(phone_id, []).append(code)
    schedules = list(
        await session.scalars(select(Schedule).where(Schedule.service_id == service_id))
    )
    place_hours: dict[str, tuple[OpenInterval, ...]] = {}
    if not schedules and location_ids:
        schedules = list(
            await session.scalars(select(Schedule).where(Schedule.location_id.in_(location_ids)))
        )
        by_place: dict[str, list[Schedule]] = defaultdict(list)
        for schedule in schedules:
            by_place[str(schedule.location_id)].append(schedule)
        place_hours = {
            location_id: tuple(
                weekly_intervals((s.freq, s.byday, s.opens_at, s.closes_at) for s in rows)
            )
            for location_id, rows in by_place.items()
        }
    documents = list(
        await session.scalars(
            select(RequiredDocument.document)
            .where(
                RequiredDocument.service_id == service_id, RequiredDocument.document.is_not(None)
            )
            .order_by(RequiredDocument.id)
        )
    )
    costs = list(
        await session.scalars(
            select(CostOption).where(CostOption.service_id == service_id).order_by(CostOption.id)
        )
    )
    areas = (await service_areas(session, [service_id])).get(service_id, [])
    languages = list(
        await session.scalars(
            select(func.coalesce(Language.name, Language.code)).where(
                Language.service_id == service_id
            )
        )
    )
    return ServiceRecord(
        id=service.id,
        name=service.name,
        organization=organization.name
        if organization and not is_stand_in_name(organization.id, organization.name)
        else None,
        description=service.description,
        fees=service.fees_description,
        eligibility=service.eligibility_description,
        application_process=service.application_process,
        interpretation=service.interpretation_services,
        website=service.url or (organization.website if organization else None),
        email=service.email,
        alert=service.alert,
        phones=[
            PhoneLine(
                number=phone.number,
                kind=phone.type,
                extension=phone.extension,
                description=phone.description,
                languages=tuple(phone_languages.get(phone.id, ())),
                place=place_names.get(phone.location_id or ""),
            )
            for phone in phones
            if phone.number and phone.number.strip()
        ],
        places=[
            Place(
                name=location.name,
                address=format_address(addresses[location.id])
                if location.id in addresses
                else None,
                latitude=location.latitude,
                longitude=location.longitude,
                kind=location.location_type,
                hours=place_hours.get(location.id, ()),
            )
            for location in locations
        ],
        hours=weekly_intervals((s.freq, s.byday, s.opens_at, s.closes_at) for s in schedules),
        hours_note=next((s.description for s in schedules if s.description), None),
        languages=[name for name in dict.fromkeys(languages) if name],
        assured=service.assured_date,
        modified=service.last_modified,
        open_reports=await unresolved_count(session, service_id),
        areas=areas,
        required_documents=[d for d in dict.fromkeys((d or "").strip() for d in documents) if d],
        costs=[line for line in dict.fromkeys(format_cost(c) for c in costs) if line],
        zone=us_gazetteer().first_zone(
            (address.city, address.state_province, address.postal_code)
            for address in (addresses.get(location.id) for location in locations)
            if address is not None
        ),
    )


async def postal_code_point(session: AsyncSession, postal_code: str) -> tuple[float, float] | None:
    """The middle of the directory's locations with this postal code, if it knows any."""
    row = (
        await session.execute(
            select(func.avg(Location.latitude), func.avg(Location.longitude))
            .join(Address, Address.location_id == Location.id)
            .where(Address.postal_code == postal_code, Location.latitude.is_not(None))
        )
    ).one()
    return (float(row[0]), float(row[1])) if row[0] is not None else None
