"""Coverage: how many services a card can give an address, hours, a map pin, a phone.

The same rules the cards use (knowledge/directory.py): a service's places are its
service_at_location rows; hours are its own schedules or its places'; a phone is its own, its
places', or its organization's (not a fax).
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.hsds.report import Coverage
from knowledge.models import (
    Address,
    Location,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
)


async def _ids(session: AsyncSession, *queries: object) -> set[str]:
    found: set[str] = set()
    for query in queries:
        found.update(await session.scalars(query))  # type: ignore[call-overload]
    found.discard(None)  # type: ignore[arg-type]
    return found


async def directory_coverage(session: AsyncSession) -> Coverage:
    services = int(await session.scalar(select(func.count()).select_from(Service)) or 0)
    placed = select(ServiceAtLocation.service_id).distinct()
    with_address = await _ids(
        session,
        placed.join(Address, Address.location_id == ServiceAtLocation.location_id),
    )
    with_coordinates = await _ids(
        session,
        placed.join(Location, Location.id == ServiceAtLocation.location_id).where(
            Location.latitude.is_not(None), Location.longitude.is_not(None)
        ),
    )
    timed = (Schedule.opens_at.is_not(None), Schedule.closes_at.is_not(None))
    with_hours = await _ids(
        session,
        select(Schedule.service_id).where(*timed).distinct(),
        placed.join(
            Schedule,
            or_(
                Schedule.location_id == ServiceAtLocation.location_id,
                Schedule.service_at_location_id == ServiceAtLocation.id,
            ),
        ).where(*timed),
    )
    not_fax = or_(Phone.type.is_(None), Phone.type != "fax")
    with_phone = await _ids(
        session,
        select(Phone.service_id).where(not_fax).distinct(),
        placed.join(
            Phone,
            or_(
                Phone.location_id == ServiceAtLocation.location_id,
                Phone.service_at_location_id == ServiceAtLocation.id,
            ),
        ).where(not_fax),
        select(Service.id)
        .join(Phone, Phone.organization_id == Service.organization_id)
        .where(not_fax),
    )
    with_area = await _ids(
        session,
        select(ServiceArea.service_id).distinct(),
        placed.join(ServiceArea, ServiceArea.service_at_location_id == ServiceAtLocation.id),
    )
    return Coverage(
        services=services,
        with_address=len(with_address),
        with_hours=len(with_hours),
        with_coordinates=len(with_coordinates),
        with_phone=len(with_phone),
        with_service_area=len(with_area),
    )
