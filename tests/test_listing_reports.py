"""Families' problem reports and the fixes coordinators apply: values read as people type
them, every change recorded with who and when, the card's freshness line."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.freshness import freshness_line
from bot.i18n import translator
from harness import add_service
from knowledge.content import content_version
from knowledge.directory import ServiceRecord, service_record
from knowledge.listing_changes import InvalidValue, normalize_phone
from knowledge.listing_reports import (
    apply_fix,
    dismiss,
    open_reports,
    ready_fix,
    start_report,
    submit_report,
)
from knowledge.models import ListingChange, Phone, Service
from knowledge.opening_hours import (
    days_named,
    describe_blocks,
    parse_opening_hours,
    stated_hours,
)

COORDINATOR = 9001


@pytest.mark.parametrize(
    ("typed", "rows"),
    [
        ("Mon-Fri 9-5", "MO,TU,WE,TH,FR 09:00-17:00"),
        ("Mon–Fri 9am–5pm; Sat 10am–2pm", "MO,TU,WE,TH,FR 09:00-17:00; SA 10:00-14:00"),
        ("lunes a viernes de 9 a 17", "MO,TU,WE,TH,FR 09:00-17:00"),
        ("Mon 9-5pm", "MO 09:00-17:00"),
        ("Sat-Sun 10-2", "SA,SU 10:00-14:00"),
        ("Tuesday-Thursday, 1-6; Saturday, 10-3", "TU,WE,TH 13:00-18:00; SA 10:00-15:00"),
        ("24/7", "MO,TU,WE,TH,FR,SA,SU 00:00-23:59"),
    ],
)
def test_hours_as_people_type_them(typed: str, rows: str) -> None:
    blocks = parse_opening_hours(typed)
    assert blocks is not None and describe_blocks(blocks) == rows


def test_hours_a_description_states_and_of_what() -> None:
    """A library's description gives its branches' hours; "a.m." ends no sentence."""
    text = (
        "Provides reading materials. The Schaberg Branch (650-780-7010) is located at 2140 "
        "Euclid Avenue and is open Tuesday-Thursday, 1-6; Saturday, 10-3. The library is open "
        "Monday-Friday 9 a.m. to 5 p.m. Lunch is served at noon. The facility is open all day."
    )
    said = [(name, describe_blocks(blocks)) for name, blocks in stated_hours(text)]
    assert said == [
        ("Schaberg Branch", "TU,WE,TH 13:00-18:00; SA 10:00-15:00"),
        (None, "MO,TU,WE,TH,FR 09:00-17:00"),
    ]


@pytest.mark.parametrize("typed", ["call us", "mon-fri 25-30", "9-5"])
def test_hours_that_cannot_be_read_are_refused(typed: str) -> None:
    assert parse_opening_hours(typed) is None


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("Offers a Saturday morning feeding program at 10:30, and Sunday services", {5, 6}),
        ("Meals are delivered between 9 am-1:30 pm, Monday-Friday.", {0, 1, 2, 3, 4}),
        ("Abierto de lunes a viernes", {0, 1, 2, 3, 4}),
        ("Open Fridays through Sunday", {4, 5, 6}),
        ("Offers a marathon; Spanish classes (mar) in the city hall", set()),
    ],
)
def test_the_weekdays_a_description_names(text: str, days: set[int]) -> None:
    assert days_named(text) == days


def test_phone_numbers_are_read_and_vanity_letters_refused() -> None:
    assert normalize_phone("515.555.0199") == "(515) 555-0199"
    for typed in ("555-0199", "555-0199 ext", "call me"):
        with pytest.raises(InvalidValue):
            normalize_phone(typed)


async def test_a_report_goes_to_the_queue_and_a_fix_is_recorded(session: AsyncSession) -> None:
    await add_service(session, "svc-x", "Clinic X")
    session.add(Phone(id="ph-x", service_id="svc-x", number="(515) 555-0100"))
    await session.commit()
    version = await content_version(session)
    started = await start_report(session, service_id="svc-x", problem="phone", chat_id=11)
    assert started is not None and started[1]
    report = await submit_report(session, started[0].id, 11, "  515 555 0199 ")
    assert report is not None and ready_fix(report) == "(515) 555-0199"
    again = await start_report(session, service_id="svc-x", problem="phone", chat_id=11)
    assert again is not None and not again[1]  # not filed twice
    assert [r.id for r in await open_reports(session)] == [report.id]

    change = await apply_fix(
        session, report.id, field="phone", value="515 555 0199", coordinator=COORDINATOR
    )
    await session.commit()
    assert change is not None and change.old == "(515) 555-0100"
    record = await service_record(session, "svc-x")
    assert record is not None and record.phones[0].number == "(515) 555-0199"
    [logged] = list(await session.scalars(select(ListingChange)))
    assert (logged.field, logged.changed_by, logged.source) == ("phone", COORDINATOR, "review")
    service = await session.get(Service, "svc-x")
    assert service is not None and service.last_modified is not None
    assert await content_version(session) > version
    assert await open_reports(session) == []
    assert report.reporter_chat_id is None  # kept only while open


async def test_a_dismissed_report_changes_nothing(session: AsyncSession) -> None:
    await add_service(session, "svc-y", "Clinic Y")
    started = await start_report(session, service_id="svc-y", problem="closed", chat_id=12)
    assert started is not None and started[0].status == "open"
    assert await dismiss(session, started[0].id, coordinator=COORDINATOR)
    assert not await dismiss(session, started[0].id, coordinator=COORDINATOR)
    service = await session.get(Service, "svc-y")
    assert service is not None and service.status == "active"


def _record(checked: date | None, reports: int = 0) -> ServiceRecord:
    return ServiceRecord(
        "s", "S", None, None, None, None, None, None, None, None, None,
        assured=checked, open_reports=reports,
    )  # fmt: skip


def test_a_fix_just_after_midnight_is_checked_today_where_the_community_is() -> None:
    from zoneinfo import ZoneInfo

    tokyo = ZoneInfo("Asia/Tokyo")  # ahead of UTC: 00:30 there is still yesterday in UTC
    fixed = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 2 December, 00:30 in Tokyo
    record = ServiceRecord(
        "s", "S", None, None, None, None, None, None, None, None, None, modified=fixed
    )  # fmt: skip
    now = datetime(2026, 12, 2, 12, tzinfo=tokyo)
    assert freshness_line(record, now, translator("en")) == "✔️ Checked today"


def test_the_freshness_line_in_both_languages() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    en, es = translator("en"), translator("es")
    assert freshness_line(_record(None), now, en) is None
    assert freshness_line(_record(date(2026, 12, 1)), now, en) == "✔️ Checked today"
    assert freshness_line(_record(date(2026, 9, 1)), now, en) == "✔️ Checked 3 months ago"
    assert freshness_line(_record(date(2026, 9, 1)), now, es) == "✔️ Revisado hace 3 meses"
    stale = freshness_line(_record(date(2025, 6, 1)), now, en)
    assert stale is not None and stale.startswith("⚠️ May be out of date: call first")
    reported = freshness_line(_record(date(2026, 11, 30), reports=2), now, en)
    assert reported is not None and "call first" in reported
