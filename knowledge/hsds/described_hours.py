"""Opening hours a directory states only in prose, read into schedule rows at import.

211 exports often give a place's hours in its description, and a main library gives its
branches' ("The Schaberg Branch ... is open Tuesday-Thursday, 1-6; Saturday, 10-3"). A service
with no schedule row of its own or at its places gets the hours stated for it by name in any
place's description, else those its own places' descriptions state of themselves. The rows
are inferred (knowledge.hsds.inference): made again on every import, and reported.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.hsds.inference import INFERRED, id_chunks, inferred_id
from knowledge.hsds.report import ImportReport
from knowledge.hsds.writing import upsert_rows
from knowledge.models import Location, Schedule, Service, ServiceAtLocation
from knowledge.opening_hours import OpeningBlock, stated_hours
from knowledge.text import fold

SCHEDULE_PREFIX = f"{INFERRED}schedule-"
NOTE = "Read from the description of a place: {name}."


async def schedules_from_descriptions(
    session: AsyncSession, services: set[str], report: ImportReport
) -> None:
    """Schedule rows for the `services` just imported that have none, from descriptions."""
    if not services:
        return
    for chunk in id_chunks(sorted(services)):
        await session.execute(
            delete(Schedule).where(
                Schedule.id.startswith(SCHEDULE_PREFIX), Schedule.service_id.in_(chunk)
            )
        )
    named: dict[str, tuple[str, list[OpeningBlock]]] = {}  # what a description names
    own: dict[str, tuple[str, list[OpeningBlock]]] = {}  # ...and a place says of itself
    described = select(Location.id, Location.name, Location.description).where(
        Location.description.contains(" open ")
    )
    for location_id, name, description in await session.execute(described):
        for subject, blocks in stated_hours(description or ""):
            if subject is None:
                own.setdefault(location_id, (name or "", blocks))
            else:
                named.setdefault(fold(subject), (name or "", blocks))
    if not named and not own:
        return
    timed_services = set(
        await session.scalars(select(Schedule.service_id).where(Schedule.service_id.is_not(None)))
    )
    timed_places = set(
        await session.scalars(select(Schedule.location_id).where(Schedule.location_id.is_not(None)))
    )
    places: dict[str, list[str]] = defaultdict(list)
    for service_id, location_id in await session.execute(
        select(ServiceAtLocation.service_id, ServiceAtLocation.location_id)
    ):
        places[service_id].append(location_id)
    rows: list[dict[str, Any]] = []
    read = 0
    for service_id, name in await session.execute(select(Service.id, Service.name)):
        if service_id not in services or service_id in timed_services:
            continue
        if any(place in timed_places for place in places[service_id]):
            continue
        stated = named.get(fold(name or "")) or next(
            (own[place] for place in places[service_id] if place in own), None
        )
        if stated is None:
            continue
        source, blocks = stated
        read += 1
        rows += [
            {
                "id": inferred_id("schedule", service_id, str(number)),
                "service_id": service_id,
                "freq": "WEEKLY",
                "byday": block.byday,
                "opens_at": block.opens,
                "closes_at": block.closes,
                "description": NOTE.format(name=source),
            }
            for number, block in enumerate(blocks)
        ]
    await upsert_rows(session, "schedule", rows)
    if read:
        report.inferred["services with opening hours read from a place's description"] += read
