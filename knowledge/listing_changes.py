"""Changing a listing: every change recorded (field, old, new, who, when), `last_modified`
moved, and the search index told.

One place for every way a listing changes: a coordinator applying a family's report (the
review queue), a partner keeping its own listing current. `record_change` is the primitive;
`change_phone`, `change_hours`, `change_address`, `close_listing` and `confirm_listing` edit
what a family sees on the card. The session is the caller's; nothing here commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import phonenumbers
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.content import bump_content_version
from knowledge.directory import format_address
from knowledge.models import (
    Address,
    ListingChange,
    Location,
    Phone,
    Schedule,
    Service,
    ServiceAtLocation,
    utcnow,
)
from knowledge.opening_hours import describe_blocks, parse_opening_hours

PHONE_REGION = "US"  # numbers typed without a country code are read as this country's
MAX_VALUE = 300
# "500 Oak St, Riverbend, IA 50310": street, city, state and ZIP when typed in that order.
_US_ADDRESS = re.compile(
    r"^(?P<street>[^,]+),\s*(?P<city>[^,]+?),?\s+(?P<state>[A-Za-z]{2})\.?\s+(?P<zip>\d{5}(?:-\d{4})?)$"
)


_EXTENSION = re.compile(r"(?i)\b(?:ext|extension|x)\.?\s*\d+\s*$")


class InvalidValue(ValueError):
    """The value cannot be used for `field` (the bot says so kindly and asks again)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    old: str | None
    new: str | None


async def record_change(
    session: AsyncSession,
    service: Service,
    field: str,
    old: str | None,
    new: str | None,
    *,
    source: str,
    changed_by: int | None,
    now: datetime | None = None,
) -> ListingChange:
    """Record one change and move the listing's `last_modified`; the search index rebuilds
    (every process sees the content version move)."""
    now = now or utcnow()
    change = ListingChange(
        service_id=service.id,
        field=field,
        old_value=old,
        new_value=new,
        source=source,
        changed_by=changed_by,
        changed_at=now,
    )
    session.add(change)
    service.last_modified = now
    await bump_content_version(session)
    await session.flush()
    return change


async def _service(session: AsyncSession, service_id: str) -> Service:
    service = await session.get(Service, service_id)
    if service is None:
        raise LookupError(service_id)
    return service


def normalize_phone(text: str) -> str:
    """A typed number in the form the directory shows ("(515) 555-0101"); InvalidValue if it
    is not a phone number."""
    # Letters would be read as a vanity number ("555-0199 ext" -> 555-019-9398).
    if re.search(r"[^\W\d_]", _EXTENSION.sub("", text)):
        raise InvalidValue("phone")
    try:
        number = phonenumbers.parse(text.strip(), PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidValue("phone") from None
    # Not "possible locally" only: a number without its area code cannot be called from a card.
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise InvalidValue("phone")
    national = phonenumbers.region_code_for_number(number) == PHONE_REGION
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if national
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)


async def _location_ids(session: AsyncSession, service_id: str) -> list[str]:
    return list(
        await session.scalars(
            select(ServiceAtLocation.location_id)
            .where(ServiceAtLocation.service_id == service_id)
            .order_by(ServiceAtLocation.id)
        )
    )


async def change_phone(
    session: AsyncSession,
    service_id: str,
    text: str,
    *,
    source: str,
    changed_by: int | None,
    now: datetime | None = None,
) -> Change:
    """The first number the card shows becomes `text` (a service number is added if the card
    showed none)."""
    service = await _service(session, service_id)
    number = normalize_phone(text)
    location_ids = await _location_ids(session, service_id)
    phone = await session.scalar(
        select(Phone)
        .where((Phone.service_id == service_id) | Phone.location_id.in_(location_ids))
        .where((Phone.type.is_(None)) | (Phone.type != "fax"))
        .order_by(Phone.service_id.is_(None), Phone.id)
        .limit(1)
    )
    if phone is None:
        phone = await session.scalar(
            select(Phone)
            .where(Phone.organization_id == service.organization_id)
            .order_by(Phone.id)
            .limit(1)
        )
    old = phone.number if phone is not None else None
    if phone is not None and phone.service_id is None and phone.location_id is None:
        phone = None  # the organization's own number may be right for its other services
    if phone is None:
        phone = Phone(id=f"{service_id}-phone", service_id=service_id, number=number, type="voice")
        if await session.get(Phone, phone.id) is not None:
            phone.id = f"{service_id}-phone-{utcnow():%Y%m%d%H%M%S}"
        session.add(phone)
    phone.number = number
    await record_change(
        session, service, "phone", old, number, source=source, changed_by=changed_by, now=now
    )
    return Change("phone", old, number)


async def change_hours(
    session: AsyncSession,
    service_id: str,
    text: str,
    *,
    source: str,
    changed_by: int | None,
    now: datetime | None = None,
) -> Change:
    """The service's weekly hours become what `text` says (they then take precedence over
    its locations' hours, as on the card)."""
    service = await _service(session, service_id)
    blocks = parse_opening_hours(text)
    if not blocks:
        raise InvalidValue("hours")
    rows = list(await session.scalars(select(Schedule).where(Schedule.service_id == service_id)))
    if not rows:
        location_ids = await _location_ids(session, service_id)
        rows = list(
            await session.scalars(select(Schedule).where(Schedule.location_id.in_(location_ids)))
        )
    old = "; ".join(f"{r.byday or r.freq or ''} {r.opens_at}-{r.closes_at}" for r in rows) or None
    await session.execute(delete(Schedule).where(Schedule.service_id == service_id))
    stamp = f"{utcnow():%Y%m%d%H%M%S}"
    for index, block in enumerate(blocks):
        session.add(
            Schedule(
                id=f"{service_id}-hours-{stamp}-{index}",
                service_id=service_id,
                freq="WEEKLY",
                byday=block.byday,
                opens_at=block.opens,
                closes_at=block.closes,
            )
        )
    new = describe_blocks(blocks)
    await record_change(
        session, service, "hours", old, new, source=source, changed_by=changed_by, now=now
    )
    return Change("hours", old, new)


async def change_address(
    session: AsyncSession,
    service_id: str,
    text: str,
    *,
    source: str,
    changed_by: int | None,
    now: datetime | None = None,
) -> Change:
    """The address of the service's first place becomes `text`. Its map pin is dropped: it
    pointed at the old address, and no map is better than a wrong one."""
    service = await _service(session, service_id)
    line = " ".join(text.split())[:MAX_VALUE]
    if len(line) < 5 or not any(c.isdigit() for c in line) or not any(c.isalpha() for c in line):
        raise InvalidValue("address")
    location_ids = await _location_ids(session, service_id)
    location = await session.get(Location, location_ids[0]) if location_ids else None
    if location is None:
        location = Location(id=f"{service_id}-place", organization_id=service.organization_id)
        session.add(location)
        session.add(
            ServiceAtLocation(
                id=f"{service_id}-at-place", service_id=service_id, location_id=location.id
            )
        )
        await session.flush()
    address = await session.scalar(
        select(Address)
        .where(Address.location_id == location.id)
        .order_by(Address.address_type != "physical", Address.id)
        .limit(1)
    )
    old = format_address(address) if address is not None else None
    if address is None:
        address = Address(id=f"{location.id}-address", location_id=location.id, address_1=line)
        session.add(address)
    parts = _US_ADDRESS.match(line)
    if parts:
        address.address_1 = parts["street"].strip()
        address.city = parts["city"].strip()
        address.state_province = parts["state"].upper()
        address.postal_code = parts["zip"]
    else:
        address.address_1 = line
    address.address_2 = None
    address.address_type = "physical"
    location.latitude = location.longitude = None
    await session.flush()
    new = format_address(address)
    await record_change(
        session, service, "address", old, new, source=source, changed_by=changed_by, now=now
    )
    return Change("address", old, new)


async def close_listing(
    session: AsyncSession,
    service_id: str,
    *,
    source: str,
    changed_by: int | None,
    now: datetime | None = None,
) -> Change:
    """Closed for good: the service leaves search results (its record and history stay)."""
    service = await _service(session, service_id)
    old = service.status
    service.status = "inactive"
    await record_change(
        session, service, "status", old, "inactive", source=source, changed_by=changed_by, now=now
    )
    return Change("status", old, "inactive")


async def confirm_listing(
    session: AsyncSession,
    service_id: str,
    *,
    source: str,
    changed_by: int | None,
    today: date,
    now: datetime | None = None,
) -> Change:
    """Someone who knows confirmed the listing is right: `assured_date` becomes today."""
    service = await _service(session, service_id)
    old = service.assured_date.isoformat() if service.assured_date else None
    service.assured_date = today
    await record_change(
        session,
        service,
        "assured_date",
        old,
        today.isoformat(),
        source=source,
        changed_by=changed_by,
        now=now,
    )
    return Change("assured_date", old, today.isoformat())


async def changes_of(
    session: AsyncSession, service_id: str, limit: int = 20
) -> list[ListingChange]:
    """The listing's history, newest first."""
    return list(
        await session.scalars(
            select(ListingChange)
            .where(ListingChange.service_id == service_id)
            .order_by(ListingChange.changed_at.desc(), ListingChange.id.desc())
            .limit(limit)
        )
    )
