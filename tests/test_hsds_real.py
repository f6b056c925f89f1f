"""The real directories in ../shared/datasets, where present: what a partnership would import."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.db import create_engine, create_sessionmaker
from knowledge.directory import service_record
from knowledge.hsds import export_directory, import_directory
from knowledge.models import Base, Organization, Service

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
ILLINOIS = SHARED_DATASETS / "illinois-legal-aid-hsds1"
DATASETS = ["hsds3-spec-example", "san-mateo-hsds3", "illinois-legal-aid-hsds1"]

pytestmark = pytest.mark.skipif(not SHARED_DATASETS.is_dir(), reason="no ../shared/datasets here")


async def count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("folder", DATASETS)
async def test_real_directories_import(session: AsyncSession, folder: str) -> None:
    report = await import_directory(session, SHARED_DATASETS / folder)
    await session.commit()

    assert report.ok
    assert await count(session, Service) > 0
    assert report.coverage is not None and report.coverage.services == await count(session, Service)


async def test_illinois_keeps_its_services_places_and_hours(session: AsyncSession) -> None:
    report = await import_directory(session, ILLINOIS)
    await session.commit()

    assert report.flavour == "hsds1"
    # 430 rows, one of them blank but for its organization id.
    assert report.files["services.csv"].inserted == 429
    assert report.problems[0] == "services.csv:651: missing id"
    assert report.inferred["stand-in organizations (missing from organizations.csv)"] == 125
    assert report.inferred["organization addresses kept as the organization's place"] == 33
    assert report.inferred["services offered at their organization's places"] == 429
    assert report.files["regular_schedules.csv"].inserted == 2492
    assert any(
        re.fullmatch(r"phones\.csv:\d+: blank id; derived phones-[0-9a-f]{16}", warning)
        for warning in report.warnings
    )
    coverage = report.coverage
    assert coverage is not None
    assert coverage.services == 429
    assert coverage.with_hours >= 400  # the 2,492 schedules reach services now
    assert coverage.with_phone == 429
    assert coverage.with_address >= 89  # the organizations' own addresses
    assert coverage.with_service_area >= 200  # "... in Boone County"
    assert coverage.with_coordinates == 0  # the export has none: no card offers a map

    boone = await session.scalar(
        select(Service.id).where(Service.name == "Free legal information and forms in Boone County")
    )
    assert boone is not None
    record = await service_record(session, boone)
    assert record is not None
    assert [area.label for area in record.areas] == ["Boone County, IL"]
    assert record.mappable is None and record.places and record.hours
    # The five divorce and family-law services the first importer dropped are there.
    family_law = ["49861", "49326", "32191", "30096", "29551"]
    assert set(await session.scalars(select(Service.id).where(Service.id.in_(family_law)))) == set(
        family_law
    )


async def test_all_three_directories_into_one_database(session: AsyncSession) -> None:
    for folder in DATASETS:
        report = await import_directory(session, SHARED_DATASETS / folder)
        await session.commit()
        assert report.ok
    assert await count(session, Service) == 1 + 20 + 429
    assert await count(session, Organization) >= 1 + 8 + 33 + 125


async def snapshot(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    result = {}
    for name in ("organization", "service", "location", "address", "service_at_location"):
        table = Base.metadata.tables[name]
        rows = await session.execute(select(table).order_by(table.c.id))
        result[name] = [tuple(row) for row in rows]
    for name in ("phone", "schedule", "service_area"):
        table = Base.metadata.tables[name]
        rows = await session.execute(select(table).order_by(table.c.id))
        result[name] = [tuple(row) for row in rows]
    return result


async def test_illinois_export_round_trips(
    database_url: str, fresh_database: Callable[[], Awaitable[str]], tmp_path: Path
) -> None:
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as session:
        await import_directory(session, ILLINOIS)
        await session.commit()
        before = await snapshot(session)
        await export_directory(session, tmp_path / "export")
    await engine.dispose()

    engine = create_engine(await fresh_database())
    async with create_sessionmaker(engine)() as session:
        report = await import_directory(session, tmp_path / "export")
        await session.commit()
        after = await snapshot(session)
    await engine.dispose()

    assert report.problems == []
    assert after == before
