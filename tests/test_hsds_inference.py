"""What HSDS 1.x leaves to the organization, carried to its services, on real databases.

The fixture is shaped like Illinois Legal Aid's real 1.x export: services naming organizations
organizations.csv lacks, places and hours hung off the organization, an organization-level
postal address, county-wide services that say so only in their names.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.directory import service_record
from knowledge.hsds import export_directory, import_directory
from knowledge.models import (
    Base,
    CostOption,
    Location,
    Organization,
    RequiredDocument,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
)
from knowledge.service_areas import Area, read_area, service_areas

FIXTURES = Path(__file__).parent / "fixtures" / "hsds"
ORGANIZATION_LEVEL = FIXTURES / "hsds1-organization-level"


async def places_of(session: AsyncSession, service_id: str) -> list[str]:
    return list(
        await session.scalars(
            select(ServiceAtLocation.location_id)
            .where(ServiceAtLocation.service_id == service_id)
            .order_by(ServiceAtLocation.location_id)
        )
    )


async def test_services_of_missing_organizations_are_kept_under_named_stand_ins(
    session: AsyncSession,
) -> None:
    report = await import_directory(session, ORGANIZATION_LEVEL)
    await session.commit()

    assert report.files["services.csv"].inserted == 9
    assert report.problems == ["phones.csv:5: number 'no phone' has no digits"]
    names = dict((await session.execute(select(Organization.id, Organization.name))).all())
    assert names == {
        "org-known": "Prairie Legal Aid",
        "org-boone": "Boone County Courthouse",  # its one place
        "org-libraries": "Free legal forms in Lake County",  # its services' shared name
        "org-referral": "lawyers.example",  # "Main Office" says nothing; its services' website
        "org-mixed": "Organization org-mixed",  # nothing to go by
    }
    assert (
        "services.csv:4: organization org-boone is not in organizations.csv; kept its 1 service "
        "under a stand-in named 'Boone County Courthouse' (from its one place)"
    ) in report.warnings
    assert report.inferred["stand-in organizations (missing from organizations.csv)"] == 4
    # A card does not show a name made from an id.
    mixed = await service_record(session, "svc-expunge")
    assert mixed is not None and mixed.organization is None
    boone = await service_record(session, "svc-boone")
    assert boone is not None and boone.organization == "Boone County Courthouse"


async def test_services_are_offered_at_their_organizations_places(session: AsyncSession) -> None:
    report = await import_directory(session, ORGANIZATION_LEVEL)
    await session.commit()

    # The organization's postal address became its place (HSDS 3.0 addresses need one).
    place = await session.get(Location, "inferred-location-org-known")
    assert place is not None
    assert (place.name, place.location_type) == ("Prairie Legal Aid", "postal")
    # A service whose name mentions one of the places is offered there (and reachable by mail).
    assert await places_of(session, "svc-wheaton") == ["inferred-location-org-known", "loc-wheaton"]
    assert await places_of(session, "svc-hotline") == [
        "inferred-location-org-known",
        "loc-joliet",
        "loc-wheaton",
    ]
    assert await places_of(session, "svc-lib-a") == ["loc-lib-a", "loc-lib-b"]
    # ...and one whose phone number is one of its organization's places', at that place only.
    assert await places_of(session, "svc-lib-b") == ["loc-lib-b"]
    assert report.inferred["services offered at their organization's places"] == 9

    wheaton = await service_record(session, "svc-wheaton")
    assert wheaton is not None
    # The service's number and its place's are the same: listed once.
    assert [phone.number for phone in wheaton.phones] == ["(630) 555-0101"]
    assert [(p.name, p.kind) for p in wheaton.places] == [
        ("Wheaton Office", "physical"),
        ("Prairie Legal Aid", "postal"),
    ]
    assert wheaton.places[1].address == "100 Main Street, Springfield, IL 62701"
    assert [(i.weekday, i.opens, i.closes) for i in wheaton.hours] == [(0, 510, 1020)]
    hotline = await service_record(session, "svc-hotline")
    assert hotline is not None
    assert [phone.number for phone in hotline.phones] == ["(630) 555-0101"]
    # Two libraries, two different hours: the card shows each, not a merged week.
    library = await service_record(session, "svc-lib-a")
    assert library is not None and library.hours_differ_by_place


def test_a_service_is_placed_by_the_part_of_a_place_name_that_tells_twins_apart() -> None:
    from knowledge.hsds.inference import _places_named_in

    desks = [
        ("loc-m", "Criminal Records Help Desk - Markham"),
        ("loc-d", "Criminal Records Help Desk - Daley Center"),
        ("loc-o", "Main Office"),
    ]
    assert _places_named_in("Criminal records desk at Markham Courthouse", desks) == ["loc-m"]
    assert _places_named_in("Records advice desk at the Daley Center", desks) == ["loc-d"]
    assert _places_named_in("Help for people with records", desks) == []  # no place named
    assert _places_named_in("Wheaton Office - Legal help", [("w", "Wheaton Office")]) == ["w"]
    # A name typed with a typo is still that place's; a sibling site's name is not.
    projects = [
        ("kane", "Kane County Domestic Violence Courthouse Project"),
        ("king", "Public Benefits Outreach and Enrollment Project - King"),
        ("office", "Fox Valley Office"),
    ]
    typo = "Kane County Domestice Violence Courthouse Project"
    assert _places_named_in(typo, projects) == ["kane"]
    sibling = "Public benefits outreach and enrollment project - Garfield"
    assert _places_named_in(sibling, projects) == []


def test_a_service_is_placed_at_the_place_whose_name_starts_with_a_word_of_its_own() -> None:
    from knowledge.hsds.inference import _places_sharing_a_word

    places = [("skokie", "Skokie Courthouse"), ("main", "Main Office")]
    assert _places_sharing_a_word("Skokie Expungement Desk", places) == ["skokie"]
    assert _places_sharing_a_word("Expungement help", places) == []
    # A word every place starts with, or an everyday one, tells none apart.
    offices = [("a", "Lawyer Referral Service"), ("b", "Lawyer Finder Office")]
    assert _places_sharing_a_word("Lawyer Referral Service", offices) == []


async def test_service_areas_are_read_from_names_with_the_directorys_state(
    session: AsyncSession,
) -> None:
    report = await import_directory(session, ORGANIZATION_LEVEL)
    await session.commit()

    areas = await service_areas(session)
    labels = {service: [area.label for area in found] for service, found in areas.items()}
    assert labels == {
        "svc-boone": ["Boone County, IL"],
        "svc-lib-a": ["Lake County, IL"],
        "svc-lib-b": ["Lake County, IL"],
        "svc-renters": ["Clinton County, IL", "Monroe County, IL", "St. Clair County, IL"],
        "svc-hotline": ["Illinois"],  # "statewide" in its description
    }
    assert areas["svc-boone"] == [Area("county", "Boone County, IL", place="Boone", state="IL")]
    assert (
        report.inferred[
            "services with a service area read from their name, eligibility or organization"
        ]
        == 5
    )
    assert report.coverage is not None
    assert report.coverage.line() == (
        "coverage of 9 services: 2 with an address (22%), 4 with hours (44%), "
        "0 with coordinates (0%), 4 with a phone (44%), 5 with a service area (56%)"
    )


async def snapshot(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    result: dict[str, list[tuple[Any, ...]]] = {}
    for name, table in Base.metadata.tables.items():
        if name in {"organization", "service", "location", "address", "service_at_location"} | {
            "phone",
            "schedule",
            "service_area",
        }:
            rows = await session.execute(select(table).order_by(table.c.id))
            result[name] = [tuple(row) for row in rows]
    return result


async def test_importing_again_gives_the_same_directory_and_the_same_report(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        first = await import_directory(session, ORGANIZATION_LEVEL)
        await session.commit()
        before = await snapshot(session)
    async with session_factory() as session:
        second = await import_directory(session, ORGANIZATION_LEVEL)
        await session.commit()
        after = await snapshot(session)

    assert after == before
    assert second.warnings == first.warnings
    assert second.inferred == first.inferred


async def test_a_directory_that_gains_real_links_loses_the_inferred_ones(
    session_factory: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    folder = tmp_path / "linked"
    folder.mkdir()
    for path in ORGANIZATION_LEVEL.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    async with session_factory() as session:
        await import_directory(session, folder)
        await session.commit()
    (folder / "services_at_location.csv").write_text(
        "id,service_id,location_id\nsal-1,svc-hotline,loc-joliet\n"
    )
    async with session_factory() as session:
        await import_directory(session, folder)
        await session.commit()
        assert await places_of(session, "svc-hotline") == ["loc-joliet"]


async def test_hsds3_services_without_places_are_left_as_the_directory_says(
    session: AsyncSession, tmp_path: Path
) -> None:
    (tmp_path / "organizations.csv").write_text("id,name\norg-1,Helpers\n")
    (tmp_path / "services.csv").write_text(
        "id,organization_id,name\nsvc-1,org-1,Phone advice line\n"
    )
    (tmp_path / "locations.csv").write_text("id,organization_id,name\nloc-1,org-1,Office\n")

    report = await import_directory(session, tmp_path)

    assert report.flavour == "hsds3"
    assert await places_of(session, "svc-1") == []  # 3.0 links services to places itself


async def test_hours_stated_only_in_a_places_description_become_its_services_hours(
    session: AsyncSession, tmp_path: Path
) -> None:
    """A main library's description gives a branch's hours; a re-import makes them again."""
    (tmp_path / "organizations.csv").write_text("id,name\norg-1,City Library\n")
    (tmp_path / "services.csv").write_text(
        "id,organization_id,name\nsvc-main,org-1,Main Library\nsvc-branch,org-1,Schaberg Branch\n"
    )
    (tmp_path / "locations.csv").write_text(
        "id,organization_id,name,description\n"
        'loc-main,org-1,Main Library,"Books for all ages. The Schaberg Branch (650-780-7010) is '
        'located at 2140 Euclid Avenue and is open Tuesday-Thursday, 1-6; Saturday, 10-3."\n'
        "loc-branch,org-1,Schaberg Branch,\n"
    )
    (tmp_path / "service_at_location.csv").write_text(
        "id,service_id,location_id\nsal-1,svc-main,loc-main\nsal-2,svc-branch,loc-branch\n"
    )

    for _ in range(2):
        report = await import_directory(session, tmp_path)
        rows = (
            await session.execute(
                select(
                    Schedule.service_id, Schedule.byday, Schedule.opens_at, Schedule.closes_at
                ).order_by(Schedule.byday)
            )
        ).all()
        assert rows == [
            ("svc-branch", "SA", "10:00", "15:00"),
            ("svc-branch", "TU,WE,TH", "13:00", "18:00"),
        ]
        assert report.inferred["services with opening hours read from a place's description"] == 1


def test_whom_a_service_serves_is_read_from_who_may_come() -> None:
    from knowledge.hsds.inference import areas_named_in

    assert areas_named_in("Peer counseling", None, "CA", "Residents of San Mateo County") == [
        "San Mateo County, CA"
    ]
    assert areas_named_in("Meals", "For San Mateo County residents over 60.", "CA") == [
        "San Mateo County, CA"
    ]
    assert areas_named_in("Meals", "For residents of the county.", "CA") == []


def test_an_organization_working_across_its_state_lends_it_to_services_saying_nothing() -> None:
    from knowledge.hsds.inference import areas_named_in

    across = "The network provides civil legal services across Illinois."
    assert areas_named_in("Legal aid", None, "IL", None, across) == ["Illinois"]
    issue = "Eligible: a person with a disability with an issue that arises in Illinois."
    assert areas_named_in("Special education helpline", None, "IL", None, issue) == ["Illinois"]
    pensions = "The assistance is free of charge to anyone who lives in Illinois."
    assert areas_named_in("Free pension legal help", None, "IL", None, pensions) == ["Illinois"]
    # ...but not over what the service says itself, nor from a mere mention of the state
    assert areas_named_in("Forms in Kane County", None, "IL", None, across) == ["Kane County, IL"]
    assert areas_named_in("Legal aid", None, "IL", None, "Offices in Illinois.") == []


def test_a_nationwide_organization_serves_the_whole_country_from_afar() -> None:
    from knowledge.hsds.inference import areas_named_in

    upsolve = "Our mission is to help low-income Americans get a fresh start at no cost."
    assert areas_named_in("Free bankruptcy filing", None, "IL", None, upsolve, False) == [
        "United States"
    ]
    # ...but a local office of a national charity serves its own town
    charity = "The Salvation Army operates 7,546 centers across the United States."
    assert areas_named_in("Redwood City Corps", None, "CA", None, charity, True) == []


async def test_a_test_row_is_kept_but_never_shown(session: AsyncSession, tmp_path: Path) -> None:
    (tmp_path / "organizations.csv").write_text("id,name\norg-1,Helpers\n")
    (tmp_path / "services.csv").write_text(
        "id,organization_id,name,description\n"
        "svc-1,org-1,Food pantry,Groceries every Tuesday\n"
        'svc-2,org-1,Passport Photos,"[NOT A REAL SERVICE] Lorem ipsum dolor sit amet"\n'
    )

    report = await import_directory(session, tmp_path)

    assert report.inferred["test rows kept inactive (placeholder text)"] == 1
    statuses = dict((await session.execute(select(Service.id, Service.status))).all())
    assert statuses["svc-2"] == "inactive" and statuses["svc-1"] != "inactive"


async def test_hsds3_areas_documents_costs_and_freshness_go_in_and_come_out(
    database_url: str, session: AsyncSession, tmp_path: Path
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "organizations.csv").write_text("id,name\norg-1,Helpers\n")
    (source / "services.csv").write_text(
        "id,organization_id,name,assured_date,assurer_email,last_modified\n"
        "svc-1,org-1,Counselling,2025-01-15,checker@example.org,2023-03-15T10:30:45.123Z\n"
        "svc-2,org-1,Food boxes,03/04/2024,,2024-05-01\n"
        "svc-3,org-1,Rides,someday,,not a date\n"
    )
    (source / "service_areas.csv").write_text(
        "id,service_id,name,description,extent,extent_type,uri\n"
        "area-1,svc-1,Cook County,Residents of Cook County,,,\n"
        "area-2,svc-2,Illinois,,,,\n"
        "area-3,svc-3,Everyone living near the river,,,,\n"
    )
    (source / "required_documents.csv").write_text(
        "id,service_id,document,uri\ndoc-1,svc-1,Photo ID,\ndoc-2,svc-1,Proof of address,\n"
    )
    (source / "cost_options.csv").write_text(
        "id,service_id,valid_from,valid_to,option,currency,amount,amount_description\n"
        "cost-1,svc-1,2020-01-01,2022-12-31,Under 18s and Over 60s,usd,35,per 1 hour session\n"
        "cost-2,svc-1,,,Everyone else,usd,50.5,per session\n"
    )

    report = await import_directory(session, source)
    await session.commit()

    assert report.problems == []
    assert report.warnings == [
        "services.csv:4: bad assured_date 'someday': not a date; dropped",
        "services.csv:4: bad last_modified 'not a date': not a date and time; dropped",
    ]
    counselling = await session.get(Service, "svc-1")
    assert counselling is not None
    assert counselling.assured_date == date(2025, 1, 15)
    assert counselling.assurer_email == "checker@example.org"
    assert counselling.last_modified == datetime(2023, 3, 15, 10, 30, 45, 123000, tzinfo=UTC)
    food = await session.get(Service, "svc-2")
    assert food is not None and food.assured_date == date(2024, 3, 4)
    assert food.last_modified == datetime(2024, 5, 1, tzinfo=UTC)
    record = await service_record(session, "svc-1")
    assert record is not None
    assert record.required_documents == ["Photo ID", "Proof of address"]
    assert record.costs == [
        "Under 18s and Over 60s: 35 USD per 1 hour session",
        "Everyone else: 50.50 USD per session",
    ]
    assert [area.label for area in record.areas] == ["Cook County"]
    assert record.last_checked(UTC) == date(2025, 1, 15)  # the freshness line's date

    exported = tmp_path / "exported"
    written = await export_directory(session, exported)
    assert written["service_areas.csv"] == 3
    assert written["required_documents.csv"] == 2
    assert written["cost_options.csv"] == 2
    services_csv = (exported / "services.csv").read_text(encoding="utf-8")
    assert "2025-01-15" in services_csv and "2023-03-15T10:30:45.123000+00:00" in services_csv
    before = {
        model.__tablename__: sorted(
            tuple(row) for row in await session.execute(select(*model.__table__.columns))
        )
        for model in (Service, ServiceArea, RequiredDocument, CostOption)
    }
    await session.execute(ServiceArea.__table__.delete())
    await session.execute(RequiredDocument.__table__.delete())
    await session.execute(CostOption.__table__.delete())
    await session.execute(Service.__table__.update().values(assured_date=None, last_modified=None))
    again = await import_directory(session, exported)
    await session.commit()
    assert again.problems == []
    after = {
        model.__tablename__: sorted(
            tuple(row) for row in await session.execute(select(*model.__table__.columns))
        )
        for model in (Service, ServiceArea, RequiredDocument, CostOption)
    }
    assert after == before


def test_service_area_names_are_read_as_places() -> None:
    assert read_area("Boone County, IL") == Area(
        "county", "Boone County, IL", place="Boone", state="IL"
    )
    assert read_area("st. clair county, Illinois").label == "St. Clair County, IL"
    assert read_area("Cook County").label == "Cook County"
    assert read_area("State of Illinois") == Area(
        "state", "State of Illinois", place="Illinois", state="IL"
    )
    assert read_area("Illinois (statewide)").kind == "state"
    assert read_area("CA").label == "California"
    assert read_area("60601") == Area("postal_code", "60601", place="60601")
    other = read_area("The service is available to all residents of the MyCity area.")
    assert other.kind == "other" and not other.whole_area
    assert read_area("Maine").label == "Maine" and read_area("Main").kind == "other"
    assert read_area("United States") == Area("country", "United States", place="United States")
    assert read_area("Nationwide").kind == read_area("the USA").kind == "country"


async def test_the_state_of_a_county_is_this_directorys_not_the_databases(
    session: AsyncSession, tmp_path: Path
) -> None:
    california = tmp_path / "california"
    california.mkdir()
    (california / "organizations.csv").write_text("id,name\nca-org,Bay Helpers\n")
    (california / "locations.csv").write_text(
        "id,organization_id,name\n" + "".join(f"ca-{n},ca-org,Office {n}\n" for n in range(5))
    )
    (california / "addresses.csv").write_text(
        "id,location_id,address_1,city,state_province\n"
        + "".join(f"ca-addr-{n},ca-{n},{n} Main St,Redwood City,CA\n" for n in range(5))
    )
    await import_directory(session, california)
    await import_directory(session, ORGANIZATION_LEVEL)
    await session.commit()

    areas = await service_areas(session, ["svc-boone"])
    assert [area.label for area in areas["svc-boone"]] == ["Boone County, IL"]
