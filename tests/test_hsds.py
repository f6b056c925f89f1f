"""HSDS import/export on real databases, from small fixture folders the project writes itself."""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.db import create_engine, create_sessionmaker
from knowledge.hsds import DirectoryFormatError, export_directory, import_directory, importer
from knowledge.models import (
    Address,
    Attribute,
    Base,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    TaxonomyTerm,
)

FIXTURES = Path(__file__).parent / "fixtures" / "hsds"
HSDS3 = FIXTURES / "hsds3"
HSDS3_DATAPACKAGE = FIXTURES / "hsds3-datapackage"
HSDS1 = FIXTURES / "hsds1"

HSDS_TABLES = (
    "organization",
    "service",
    "location",
    "address",
    "service_at_location",
    "phone",
    "schedule",
    "language",
    "service_area",
    "required_document",
    "cost_option",
    "taxonomy_term",
    "attribute",
)

HSDS3_PROBLEMS = [
    "organizations.csv:4: missing name",
    "services.csv:7: bad minimum_age 'twelve': not a number",
    "addresses.csv:4: missing address_1",
    "phones.csv:5: phone has no owner left (unknown service_id svc-9): "
    "needs one of location_id, service_id, organization_id, service_at_location_id",
    "phones.csv:6: missing number",
    "attributes.csv:4: unknown taxonomy_term_id tax-missing",
]
HSDS3_WARNINGS = [
    "locations.csv:4: unknown organization_id org-7; link dropped",
    "locations.csv:5: bad latitude 123.4: not a number in -90..90; dropped",
    "phones.csv:4: unknown service_id svc-9; link dropped",
    "taxonomy_terms.csv:4: unknown parent_id tax-education; link dropped",
    "services.csv:6: organization org-9 is not in organizations.csv; kept its 1 service under "
    "a stand-in named 'Service of an unknown organization' (from its services' name)",
]


async def count(session: AsyncSession, model: type[Base]) -> int:
    return (await session.scalar(select(func.count()).select_from(model))) or 0


async def ids(session: AsyncSession, model: Any) -> list[str]:
    return list(await session.scalars(select(model.id).order_by(model.id)))


async def snapshot(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    """Every HSDS row, as plain tuples, to compare two databases."""
    tables = Base.metadata.tables
    result: dict[str, list[tuple[Any, ...]]] = {}
    for name in HSDS_TABLES:
        table = tables[name]
        rows = await session.execute(select(table).order_by(table.c.id))
        result[name] = [tuple(row) for row in rows]
    return result


# --- HSDS 3.0 folder -----------------------------------------------------------------------


async def test_hsds3_folder_imports_good_rows_and_reports_bad_ones(session: AsyncSession) -> None:
    report = await import_directory(session, HSDS3)
    await session.commit()

    assert report.flavour == "hsds3"
    assert report.ok
    assert report.problems == HSDS3_PROBLEMS
    assert report.warnings == HSDS3_WARNINGS
    assert report.not_imported == ["contacts.csv"]
    assert report.summary_lines()[:2] == [
        "organizations.csv: 3 read, 2 new, 0 updated, 1 skipped",
        "services.csv: 5 read, 4 new, 0 updated, 1 skipped",
    ]
    assert report.summary_lines()[-5:] == [
        "total: 34 read, 28 new, 0 updated, 6 skipped, 4 warned",
        "skipped rows by reason: 1 missing name, 1 bad minimum_age, 1 missing address_1, "
        "1 phone has no owner, 1 missing number, 1 unknown taxonomy_term_id",
        "inferred: 1 stand-in organizations (missing from organizations.csv)",
        "coverage of 4 services: 4 with an address (100%), 2 with hours (50%), "
        "4 with coordinates (100%), 4 with a phone (100%), 0 with a service area (0%)",
        "not imported: contacts.csv",
    ]
    assert await ids(session, Organization) == ["org-1", "org-2", "org-9"]
    assert await ids(session, Service) == ["svc-1", "svc-2", "svc-3", "svc-4"]
    assert await ids(session, Location) == ["loc-1", "loc-2", "loc-3", "loc-4"]
    assert await ids(session, Address) == ["addr-1", "addr-2"]
    assert await ids(session, Phone) == ["ph-1", "ph-2", "ph-3"]
    assert await ids(session, Schedule) == ["sch-1", "sch-2"]
    assert await ids(session, Language) == ["lang-1", "lang-2"]
    assert await ids(session, TaxonomyTerm) == ["tax-food", "tax-pantry", "tax-tutoring"]
    assert await ids(session, Attribute) == ["attr-1", "attr-2"]


async def test_hsds3_values_are_cleaned(session: AsyncSession) -> None:
    await import_directory(session, HSDS3)
    await session.commit()

    # BOM, CRLF and an unknown extra column in organizations.csv do not get in the way.
    org = await session.get(Organization, "org-1")
    assert org is not None and org.website == "https://lincoln.example"
    pantry = await session.get(Service, "svc-2")
    assert pantry is not None and pantry.status == "active"  # blank status
    groceries = await session.get(Service, "svc-3")
    assert groceries is not None
    assert groceries.status == "temporarily closed"
    assert groceries.minimum_age == 18.0  # " 18 "
    assert groceries.description == "Same-day food boxes.\r\nBring a bag."
    school = await session.get(Location, "loc-1")
    assert school is not None and (school.latitude, school.longitude) == (41.5, -87.6)
    impossible = await session.get(Location, "loc-4")  # kept, without its pin
    assert impossible is not None and (impossible.latitude, impossible.longitude) == (None, None)
    online = await session.get(Location, "loc-3")
    assert online is not None and online.organization_id is None  # unknown org-7 dropped
    front_desk = await session.get(Phone, "ph-1")
    assert front_desk is not None and front_desk.number == "+1 217 555 0100"
    fax = await session.get(Phone, "ph-3")
    assert fax is not None and (fax.service_id, fax.organization_id) == (None, "org-1")
    tutoring = await session.get(Schedule, "sch-1")
    assert tutoring is not None
    assert (tutoring.opens_at, tutoring.closes_at) == ("15:00", "17:30")
    assert tutoring.byday == "MO,TU,WE,TH"
    assert tutoring.interval == 1
    saturday = await session.get(Schedule, "sch-2")
    assert saturday is not None and saturday.opens_at == "09:00"
    # A parent later in the same file is kept; a parent nowhere to be found is dropped.
    pantry_term = await session.get(TaxonomyTerm, "tax-pantry")
    assert pantry_term is not None and pantry_term.parent_id == "tax-food"
    tutoring_term = await session.get(TaxonomyTerm, "tax-tutoring")
    assert tutoring_term is not None and tutoring_term.parent_id is None


@pytest.mark.parametrize("inside", ["", "directory/"], ids=["zip-root", "zip-subfolder"])
async def test_hsds3_zip_imports_like_the_folder(
    session: AsyncSession, tmp_path: Path, inside: str
) -> None:
    archive = tmp_path / "directory.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(HSDS3.iterdir()):
            bundle.write(path, inside + path.name)

    report = await import_directory(session, archive)
    await session.commit()

    assert report.flavour == "hsds3-zip"
    assert report.problems == HSDS3_PROBLEMS
    assert report.not_imported == ["contacts.csv"]
    assert await ids(session, Service) == ["svc-1", "svc-2", "svc-3", "svc-4"]


async def test_datapackage_resources_are_followed(session: AsyncSession) -> None:
    report = await import_directory(session, HSDS3_DATAPACKAGE)
    await session.commit()

    assert report.flavour == "hsds3-datapackage"
    assert list(report.files) == [
        "data/organizations.csv",
        "data/services.csv",
        "data/locations.csv",
        "data/service_at_location.csv",
    ]
    assert report.problems == [] and report.warnings == []
    assert await ids(session, Service) == ["dp-svc-1", "dp-svc-2"]
    dental = await session.get(Service, "dp-svc-2")
    assert dental is not None and dental.status == "inactive"


@pytest.mark.parametrize("give", ["folder", "datapackage.json"])
async def test_broken_datapackage_is_reported_once_and_the_csv_files_used(
    session: AsyncSession, tmp_path: Path, give: str
) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(HSDS3_DATAPACKAGE / "data", folder)
    # The HSDS 3.0 specification's own example ships a datapackage.json just like this.
    (folder / "datapackage.json").write_text("../../datapackage.json")

    report = await import_directory(
        session, folder if give == "folder" else folder / "datapackage.json"
    )

    assert report.flavour == "hsds3"
    assert len(report.warnings) == 1
    assert report.warnings[0].startswith("datapackage.json: not valid JSON")
    assert await ids(session, Service) == ["dp-svc-1", "dp-svc-2"]


# --- HSDS 1.x folder -----------------------------------------------------------------------


async def test_hsds1_folder_is_mapped_to_hsds3(session: AsyncSession) -> None:
    report = await import_directory(session, HSDS1)
    await session.commit()

    assert report.flavour == "hsds1"
    assert report.not_imported == ["holiday_schedules.csv"]
    assert report.problems == ["regular_schedules.csv:4: bad weekday 'Funday'"]
    assert len(report.warnings) == 5
    assert report.warnings[0].startswith("postal_addresses.csv:2: blank id; derived ")
    assert re.fullmatch(r"phones\.csv:2: blank id; derived phones-[0-9a-f]{16}", report.warnings[1])
    assert report.warnings[2].startswith("regular_schedules.csv:2: blank id; derived ")
    # An address hung off the organization (1.x) becomes the organization's place (3.0).
    assert report.warnings[-1] == (
        "postal_addresses.csv:2: address of an organization, not of a place; kept as the "
        "organization's place inferred-location-h1-org-1"
    )

    org = await session.get(Organization, "h1-org-1")
    assert org is not None and org.website == "https://prairie.example"  # 1.x `url`
    eviction = await session.get(Service, "h1-svc-1")
    assert eviction is not None
    assert eviction.fees_description == "Free to everyone"  # 1.x `fees`
    assert eviction.status == "active"
    addresses = (await session.scalars(select(Address).order_by(Address.id))).all()
    assert [(a.id, a.location_id, a.address_type) for a in addresses] == [
        ("h1-addr-1", "h1-loc-1", "physical"),
        ("h1-post-1", "h1-loc-1", "postal"),
        (addresses[2].id, "inferred-location-h1-org-1", "postal"),
    ]
    place = await session.get(Location, "inferred-location-h1-org-1")
    assert place is not None
    assert (place.name, place.organization_id, place.location_type) == (
        "Prairie Legal Aid",
        "h1-org-1",
        "postal",
    )
    phones = (await session.scalars(select(Phone).order_by(Phone.number))).all()
    assert [(p.number, p.organization_id) for p in phones] == [
        ("(217) 555-0198", None),
        ("(217) 555-0199", "h1-org-1"),
    ]
    schedules = (await session.scalars(select(Schedule).order_by(Schedule.byday))).all()
    assert [(s.freq, s.byday, s.opens_at, s.closes_at) for s in schedules] == [
        ("WEEKLY", "MO", "09:00", "17:00"),
        ("WEEKLY", "SA", "10:00", "13:00"),
        ("WEEKLY", "TU", "09:00", "17:00"),
    ]


async def test_hsds1_reimport_keeps_derived_ids(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        first = await import_directory(session, HSDS1)
        await session.commit()
    async with session_factory() as session:
        second = await import_directory(session, HSDS1)
        await session.commit()
        assert await count(session, Phone) == 2
        assert await count(session, Schedule) == 3

    assert second.warnings == first.warnings  # same derived ids both times
    assert second.files["phones.csv"].updated == 2
    assert second.files["phones.csv"].inserted == 0


# --- Re-import, duplicates, failures -------------------------------------------------------


async def test_reimport_updates_instead_of_duplicating(
    session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with session_factory() as session:
        await import_directory(session, HSDS3)
        await session.commit()
    changed = tmp_path / "changed"
    shutil.copytree(HSDS3, changed)
    services = changed / "services.csv"
    services.write_bytes(services.read_bytes().replace(b"After-school tutoring", b"Homework club"))

    async with session_factory() as session:
        report = await import_directory(session, changed)
        await session.commit()

    counts = report.files["services.csv"]
    assert (counts.inserted, counts.updated, counts.skipped) == (0, 4, 1)
    async with session_factory() as session:
        assert await count(session, Service) == 4
        names = await session.scalars(select(Service.name).where(Service.id == "svc-1"))
        assert names.all() == ["Homework club"]


async def test_duplicate_id_in_a_file_is_reported_and_the_later_row_wins(
    session: AsyncSession, tmp_path: Path
) -> None:
    folder = tmp_path / "duplicates"
    folder.mkdir()
    (folder / "organizations.csv").write_text(
        "id,name\norg-1,First name\norg-2,Other\norg-1,Second name\n", encoding="utf-8"
    )

    report = await import_directory(session, folder)

    assert report.problems == ["organizations.csv:2: duplicate id org-1; line 4 wins"]
    assert report.files["organizations.csv"].inserted == 2
    assert report.files["organizations.csv"].skipped == 1
    org = await session.get(Organization, "org-1")
    assert org is not None and org.name == "Second name"


async def test_a_failed_import_leaves_nothing_once_rolled_back(
    session_factory: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_read_and_check = importer._read_and_check

    def fail_on_phones(path: Path, *args: Any) -> Any:
        if path.name == "phones.csv":
            raise OSError("disk went away")
        return real_read_and_check(path, *args)

    monkeypatch.setattr(importer, "_read_and_check", fail_on_phones)
    async with session_factory() as session:
        with pytest.raises(OSError):
            await import_directory(session, HSDS3)
        await session.rollback()

    async with session_factory() as session:
        assert await count(session, Organization) == 0
        assert await count(session, Service) == 0


async def test_messy_values_are_normalised_or_reported(
    session: AsyncSession, tmp_path: Path
) -> None:
    # Windows-1252 bytes, a blank line, odd times, an over-long country, an unknown status.
    (tmp_path / "organizations.csv").write_bytes(
        "id,name\r\norg-1,Caf\u00e9 Comunitario\r\n\r\n".encode("cp1252")
    )
    (tmp_path / "services.csv").write_text(
        "id,organization_id,name,status\nsvc-1,org-1,Meals,Closed for now\n"
    )
    (tmp_path / "locations.csv").write_text("id,name\nloc-1,Hall\n")
    (tmp_path / "addresses.csv").write_text(
        "id,location_id,address_1,country\naddr-1,loc-1,1 Main St,United States of America\n"
    )
    (tmp_path / "schedules.csv").write_text(
        "id,service_id,opens_at,closes_at\nsch-1,svc-1,9am,4:00 PM\nsch-2,svc-1,noonish,17:00\n"
    )

    report = await import_directory(session, tmp_path)

    assert report.problems == []
    assert report.warnings == [
        "organizations.csv: not UTF-8 (1 line); read as Windows-1252",
        "services.csv:2: unknown status 'Closed for now'; kept as given",
        "schedules.csv:3: bad opens_at 'noonish'; dropped",
    ]
    org = await session.get(Organization, "org-1")
    assert org is not None and org.name == "Caf\u00e9 Comunitario"
    first = await session.get(Schedule, "sch-1")
    assert first is not None and (first.opens_at, first.closes_at) == ("09:00", "16:00")
    second = await session.get(Schedule, "sch-2")
    assert second is not None and (second.opens_at, second.closes_at) == (None, "17:00")


# --- Errors --------------------------------------------------------------------------------


async def test_a_missing_path_is_a_clear_error(session: AsyncSession, tmp_path: Path) -> None:
    with pytest.raises(DirectoryFormatError, match="does not exist"):
        await import_directory(session, tmp_path / "nowhere")


async def test_a_folder_without_hsds_files_is_a_clear_error(
    session: AsyncSession, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("not a directory of services")
    with pytest.raises(DirectoryFormatError, match="holds no HSDS file"):
        await import_directory(session, tmp_path)


async def test_a_missing_required_column_skips_the_file_once(
    session: AsyncSession, tmp_path: Path
) -> None:
    (tmp_path / "organizations.csv").write_text("id,name\norg-1,Lincoln\n")
    (tmp_path / "services.csv").write_text("id,name\nsvc-1,Tutoring\nsvc-2,Meals\n")

    report = await import_directory(session, tmp_path)

    assert report.problems == ["services.csv:1: missing column organization_id; all 2 rows skipped"]
    assert report.ok  # the organization went in


# --- Export --------------------------------------------------------------------------------


async def test_export_round_trip_gives_the_same_directory(
    database_url: str,
    fresh_database: Callable[[], Awaitable[str]],
    tmp_path: Path,
) -> None:
    exported = tmp_path / "export"
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as session:
        await import_directory(session, HSDS3)
        await session.commit()
        before = await snapshot(session)
        written = await export_directory(session, exported)
    await engine.dispose()

    assert written["services.csv"] == 4
    assert written["phones.csv"] == 3
    assert sorted(path.name for path in exported.iterdir()) == sorted(written)
    header = (exported / "services.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    spec_header = (HSDS3 / "services.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:2] == ["id", "organization_id"]
    assert set(header) <= set(spec_header)  # HSDS 3.0 column names only

    engine = create_engine(await fresh_database())
    async with create_sessionmaker(engine)() as session:
        assert await count(session, Service) == 0
        report = await import_directory(session, exported)
        await session.commit()
        after = await snapshot(session)
    await engine.dispose()

    assert report.problems == [] and report.warnings == []
    assert after == before
