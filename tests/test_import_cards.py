"""What a family sees of an imported directory: every button leads somewhere, and the cards say
what the directory holds (places in words when there is no map pin, costs, what to bring,
where a service is offered). Through the real handlers, on real databases."""

from __future__ import annotations

from pathlib import Path

from harness import BotHarness, buttons, texts
from knowledge.content import bump_content_version, remove_demo_directory
from knowledge.db import create_engine, create_sessionmaker
from knowledge.hsds import import_directory

ORGANIZATION_LEVEL = Path(__file__).parent / "fixtures" / "hsds" / "hsds1-organization-level"
FAMILY = 701


async def load(bot: BotHarness, database_url: str, folder: Path) -> None:
    """Import `folder` in place of the demo town, as `resource-finder import` does."""
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as session:
        await remove_demo_directory(session)
        await import_directory(session, folder)
        await bump_content_version(session)
        await session.commit()
    await engine.dispose()
    await bot.application.bot_data["services"].finder.refresh(force=True)


def three_oh_directory(folder: Path) -> Path:
    folder.mkdir()
    (folder / "organizations.csv").write_text("id,name\norg-q,Quillfeather Aid\n")
    (folder / "services.csv").write_text(
        "id,organization_id,name,description,fees_description\n"
        "svc-q,org-q,Quillfeather counselling,Counselling for families,Sliding scale\n"
    )
    (folder / "locations.csv").write_text(
        "id,organization_id,name,latitude,longitude\nloc-q,org-q,Quill Hall,41.88,-87.63\n"
    )
    (folder / "service_at_location.csv").write_text(
        "id,service_id,location_id\nsal-q,svc-q,loc-q\n"
    )
    (folder / "service_areas.csv").write_text("id,service_id,name\narea-q,svc-q,Cook County\n")
    (folder / "required_documents.csv").write_text("id,service_id,document\ndoc-q,svc-q,Photo ID\n")
    (folder / "cost_options.csv").write_text(
        "id,service_id,option,currency,amount,amount_description\n"
        "cost-q,svc-q,Adults,usd,20,per session\n"
    )
    return folder


def map_buttons(calls: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(text, data) for call in calls for text, data in buttons(call) if "Map" in text]


async def test_no_map_button_without_coordinates_the_place_in_words_instead(
    bot: BotHarness, database_url: str
) -> None:
    await load(bot, database_url, ORGANIZATION_LEVEL)

    results = await bot.send(FAMILY, "Zephyrine")
    said = texts(results)
    assert "Wheaton Office - Legal help for seniors" in said
    assert "📍 Wheaton Office" in said  # no address, no pin: the place's name
    assert map_buttons(results) == []

    details = await bot.press(FAMILY, "ℹ️ 1.")
    card = texts(details)
    assert "📍 Wheaton Office" in card
    assert "📮 Mailing address: Prairie Legal Aid, 100 Main Street, Springfield, IL 62701" in card
    assert "☎ +1 630-555-0101" in card and card.count("555-0101") == 1
    assert map_buttons(details) == []


async def test_county_services_say_where_they_serve_and_each_places_hours(
    bot: BotHarness, database_url: str
) -> None:
    await load(bot, database_url, ORGANIZATION_LEVEL)

    results = await bot.send(FAMILY, "legal self-help center")
    assert "🗺 Serves all of Lake County, IL" in texts(results)
    details = texts(await bot.press_data(FAMILY, "d:svc-lib-a"))
    assert "🗺 Serves all of Lake County, IL" in details
    assert "📍 Alpha Public Library" in details and "📍 Beta Public Library" in details
    assert "Hours differ by place" in details
    assert "Mon:" not in details  # no week table that merges two libraries' hours


async def test_details_show_cost_what_to_bring_and_the_area_and_map_where_there_is_a_pin(
    bot: BotHarness, database_url: str, tmp_path: Path
) -> None:
    await load(bot, database_url, three_oh_directory(tmp_path / "q"))

    results = await bot.send(FAMILY, "Quillfeather")
    assert [data for _, data in map_buttons(results)][:1] == ["m:svc-q"]
    details = texts(await bot.press(FAMILY, "ℹ️ 1."))
    assert "💲 Sliding scale" in details
    assert "💲 Adults: 20 USD per session" in details
    assert "<b>What to bring</b>\n• Photo ID" in details
    assert "🗺 Serves all of Cook County" in details

    venue = await bot.press(FAMILY, "Map")
    assert any(call.method == "sendVenue" for call in venue)


async def test_the_new_lines_are_in_spanish_for_spanish_readers(
    bot: BotHarness, database_url: str, tmp_path: Path
) -> None:
    await load(bot, database_url, three_oh_directory(tmp_path / "q"))

    await bot.send(FAMILY, "/language es", language="es")
    details = texts(await bot.press_data(FAMILY, "d:svc-q", language="es"))
    assert "Qué llevar" in details
    assert "Atiende en todo Cook County" in details
