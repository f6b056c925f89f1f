"""Cards: a number to call on every card, labelled when there are several; hours as the reader's
locale writes them, with whole weekday names and Spanish grammar; fees said well or not at all.
No database: the cards are built from records."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import translator
from bot.render import (
    areas_line,
    phone_line,
    service_card,
    service_details,
    today_hours,
    week_hours,
)
from knowledge.directory import ServiceRecord
from knowledge.fees import read_fees
from knowledge.hours import OpenInterval
from knowledge.phones import PhoneLine, dialable
from knowledge.service_areas import read_area

ZONE = ZoneInfo("America/Chicago")
WEDNESDAY_NOON = datetime(2026, 12, 2, 12, 0, tzinfo=ZONE)
EN, ES = translator("en"), translator("es")


def record(**fields: object) -> ServiceRecord:
    base: dict[str, object] = {
        "id": "svc-1",
        "name": "Eastside Food Pantry",
        "organization": None,
        "description": "Groceries for families.",
        "fees": None,
        "eligibility": None,
        "application_process": None,
        "interpretation": None,
        "website": None,
        "email": None,
        "alert": None,
    }
    return ServiceRecord(**{**base, **fields})  # type: ignore[arg-type]


def test_numbers_are_written_the_way_phones_call_them() -> None:
    assert dialable("(515) 555-0149") == "+1 515-555-0149"
    assert dialable("650 780-7525") == "+1 650-780-7525"
    assert dialable("312.938.2106", extension="12") == "+1 312-938-2106 ext. 12"
    assert dialable("911") == "911" and dialable("988") == "988"
    assert dialable("+52 55 5533 5533") == "+52 55 5533 5533"
    assert dialable("55 5533 5533", region="MX") == "+52 55 5533 5533"
    assert dialable("call the front desk") == "call the front desk"


def test_every_result_card_has_a_number_to_call() -> None:
    card = service_card(
        record(phones=[PhoneLine("(515) 555-0130", "voice")]), 1, WEDNESDAY_NOON, EN
    )
    assert "☎ +1 515-555-0130" in card


def test_several_numbers_are_labelled() -> None:
    phones = [
        PhoneLine("(515) 555-0130", "voice", description="Main number for this service"),
        PhoneLine("(515) 555-0131", "voice", languages=("es",)),
        PhoneLine("(515) 555-0132", "text"),
    ]
    assert phone_line(phones, EN) == (
        "☎ Main: +1 515-555-0130 · ☎ Spanish line: +1 515-555-0131 · ☎ Text: +1 515-555-0132"
    )
    assert "☎ Principal: +1 515-555-0130" in str(phone_line(phones, ES))
    short = [PhoneLine("1", description="Front desk"), PhoneLine("2", description="After hours")]
    assert phone_line(short, EN) == "☎ Front desk: 1 · ☎ After hours: 2"
    card = service_card(record(phones=phones), 1, WEDNESDAY_NOON, EN)
    assert card.count("☎") == 2  # a result card keeps to two numbers; the details show all
    details = service_details(record(phones=phones), WEDNESDAY_NOON, EN)
    assert details.count("☎") == 3 and "☎ Text: +1 515-555-0132" in details
    assert phone_line([PhoneLine("(515) 555-0132", "text")], EN) == "☎ Text: +1 515-555-0132"
    desks = [
        PhoneLine("(515) 555-0105", description="Main front desk", place="Lincoln Elementary"),
        PhoneLine("(515) 555-0106", description="Main front desk", place="Roosevelt Middle"),
    ]
    assert phone_line(desks, EN) == (
        "☎ Lincoln Elementary: +1 515-555-0105 · ☎ Roosevelt Middle: +1 515-555-0106"
    )


WEEKDAYS_NINE_TO_SIX = [OpenInterval(day, 9 * 60, 18 * 60) for day in range(5)]
FRIDAY_AFTERNOON = [OpenInterval(4, 14 * 60 + 30, 17 * 60)]
FRIDAY_ONE = [OpenInterval(4, 13 * 60, 15 * 60), OpenInterval(5, 60, 120)]


def test_hours_follow_the_readers_locale() -> None:
    assert today_hours(WEEKDAYS_NINE_TO_SIX, WEDNESDAY_NOON, EN) == "Open now, until 6:00\u202fPM"
    assert today_hours(WEEKDAYS_NINE_TO_SIX, WEDNESDAY_NOON, ES) == (
        "Abierto ahora, hasta las 18:00"
    )
    assert week_hours(WEEKDAYS_NINE_TO_SIX, EN)[0] == "Monday: 9:00\u202fAM – 6:00\u202fPM"
    assert week_hours(WEEKDAYS_NINE_TO_SIX, ES)[0] == "Lunes: 9:00 – 18:00"
    assert week_hours(WEEKDAYS_NINE_TO_SIX, ES)[6] == "Domingo: cerrado"


def test_whole_weekday_names_and_spanish_grammar() -> None:
    assert today_hours(FRIDAY_AFTERNOON, WEDNESDAY_NOON, ES) == (
        "Cerrado ahora, abre el viernes a las 14:30"
    )
    assert today_hours(FRIDAY_AFTERNOON, WEDNESDAY_NOON, EN) == (
        "Closed now, opens Friday at 2:30\u202fPM"
    )
    saturday_early = datetime(2026, 12, 5, 0, 30, tzinfo=ZONE)
    assert today_hours(FRIDAY_ONE, saturday_early, ES) == "Abre hoy a la 1:00"
    thursday = datetime(2026, 12, 3, 20, 0, tzinfo=ZONE)
    assert today_hours(FRIDAY_ONE, thursday, ES) == "Cerrado ahora, abre mañana a las 13:00"


def test_a_card_says_open_or_closed_on_the_services_own_clock() -> None:
    """Noon in Chicago is 10 am in California: a Redwood City pantry opening at 11 is about
    to open, whatever zone the bot runs in."""
    elevens = [OpenInterval(day, 11 * 60, 15 * 60) for day in range(5)]
    pacific = service_card(record(hours=elevens, zone="America/Los_Angeles"), 1, WEDNESDAY_NOON, EN)
    assert "Opens today at 11:00\u202fAM" in pacific
    assert "Open now, until 3:00\u202fPM" in service_card(
        record(hours=elevens), 1, WEDNESDAY_NOON, EN
    )


@pytest.mark.parametrize(
    ("written", "shown_en", "shown_es"),
    [
        ("None.", "Free", "Gratis"),
        ("none", "Free", "Gratis"),
        ("$0", "Free", "Gratis"),
        ("No fee", "Free", "Gratis"),
        ("Gratis", "Free", "Gratis"),
        ("N/A", None, None),
        ("-", None, None),
        ("", None, None),
        ("Sliding scale; Medicaid accepted", "Sliding scale; Medicaid accepted", None),
    ],
)
def test_fees_are_said_well_or_not_at_all(
    written: str, shown_en: str | None, shown_es: str | None
) -> None:
    card = service_card(record(fees=written), 1, WEDNESDAY_NOON, EN)
    assert "None" not in card and "N/A" not in card
    if shown_en is None:
        assert "💲" not in card
    else:
        assert f"💲 {shown_en}" in card
    if shown_es is not None:
        assert f"💲 {shown_es}" in service_card(record(fees=written), 1, WEDNESDAY_NOON, ES)
    assert read_fees(None) is None


def test_a_nationwide_service_says_so_in_each_language() -> None:
    country = [read_area("United States")]
    assert areas_line(country, translator("en")) == "🗺 Serves the whole country"
    assert areas_line(country, translator("es")) == "🗺 Atiende en todo el país"
    county = [read_area("Boone County, IL")]
    assert areas_line(county, translator("en")) == "🗺 Serves all of Boone County, IL"
