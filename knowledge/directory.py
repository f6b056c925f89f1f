"""Reading the service directory: one service's full record, places by postal code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.freshness import checked_on, unresolved_count
from knowledge.hours import OpenInterval, weekly_intervals
from knowledge.models import (
    Address,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
)
from knowledge.phones import PhoneLine

MAX_PHONES = 3


@dataclass(frozen=True, slots=True)
class Place:
    name: str | None
    address: str | None
    latitude: float | None
    longitude: float | None


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
    # Freshness (knowledge.listing_reports): when it was last checked, unresolved reports.
    checked: date | None = None
    open_reports: int = 0

    @property
    def mappable(self) -> Place | None:
        return next(
            (p for p in self.places if p.latitude is not None and p.longitude is not None), None
        )


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
    locations = list(await session.scalars(select(Location).where(Location.id.in_(location_ids))))
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
    phones = [phone for phone in phones if (phone.type or "voice").lower() != "fax"][:MAX_PHONES]
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
    if not schedules and location_ids:
        schedules = list(
            await session.scalars(select(Schedule).where(Schedule.location_id.in_(location_ids)))
        )
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
        organization=organization.name if organization else None,
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
            )
            for location in locations
        ],
        hours=weekly_intervals((s.freq, s.byday, s.opens_at, s.closes_at) for s in schedules),
        hours_note=next((s.description for s in schedules if s.description), None),
        languages=[name for name in dict.fromkeys(languages) if name],
        checked=checked_on(service.assured_date, service.last_modified),
        open_reports=await unresolved_count(session, service_id),
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
