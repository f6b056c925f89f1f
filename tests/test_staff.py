"""Staff flows through the real handlers: /materials sends documents, /toolkit opens entries."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.local_chat import Call
from botapi import parse_html
from botapi.server import utf16_len
from harness import BotHarness, buttons, texts
from knowledge.models import SampleMaterial, ToolkitResource

STAFF = 611
SPANISH_STAFF = 612


def assert_telegram_accepts(calls: list[Call]) -> None:
    """What Telegram would refuse: HTML that does not parse, over-long text, long callback data."""
    for call in calls:
        for key, limit in (("text", 4096), ("caption", 1024)):
            if call.params.get(key):
                visible, _ = parse_html(str(call.params[key]))
                assert utf16_len(visible) <= limit, (call.method, len(visible))
        for _, data in buttons(call):
            assert 1 <= len(data.encode()) <= 64


def documents(calls: list[Call]) -> list[dict[str, object]]:
    return [c.params["document"] for c in calls if c.method == "sendDocument"]


async def stored_material(
    factory: async_sessionmaker[AsyncSession], material_id: str
) -> SampleMaterial:
    async with factory() as session:
        material = await session.get(SampleMaterial, material_id)
    assert material is not None
    return material


async def test_materials_without_words_lists_every_material(bot: BotHarness) -> None:
    calls = await bot.send(STAFF, "/materials")
    assert_telegram_accepts(calls)
    data = [d for _, d in buttons(calls[-1])]
    assert len(data) == 5 and all(d.startswith("mat:") for d in data)
    assert "Partnership MOU template" in texts(calls)
    assert not documents(calls)


async def test_materials_with_one_match_sends_the_document_itself(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    calls = await bot.send(STAFF, "/materials mou")
    assert_telegram_accepts(calls)
    [document] = documents(calls)
    material = await stored_material(session_factory, "material-mou-template")
    assert document["filename"] == material.filename_en
    assert document["content"] == material.content_en
    caption = next(c.params["caption"] for c in calls if c.method == "sendDocument")
    assert "Partnership MOU template" in caption and "memorandum" in caption


async def test_spanish_chat_gets_the_spanish_document(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    calls = await bot.send(SPANISH_STAFF, "/materials mou", language="es")
    assert_telegram_accepts(calls)
    [document] = documents(calls)
    material = await stored_material(session_factory, "material-mou-template")
    assert material.content_es is not None and material.content_es != material.content_en
    assert document["filename"] == material.filename_es
    assert document["content"] == material.content_es
    caption = next(c.params["caption"] for c in calls if c.method == "sendDocument")
    assert "Plantilla de memorando" in caption


async def test_english_document_for_a_spanish_chat_says_so(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session, session.begin():
        material = await session.get(SampleMaterial, "material-meeting-agenda")
        assert material is not None
        material.content_es, material.filename_es = None, None
    await bot.send(SPANISH_STAFF, "/materials", language="es")
    calls = await bot.press_data(SPANISH_STAFF, "mat:material-meeting-agenda", language="es")
    assert_telegram_accepts(calls)
    [document] = documents(calls)
    assert str(document["filename"]).endswith(".en.md")
    assert "disponible en inglés" in texts(calls)  # told, in Spanish, that it is English


async def test_several_matches_offer_buttons_and_a_press_sends_that_one(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    calls = await bot.send(STAFF, "/materials agreement")
    assert_telegram_accepts(calls)
    assert not documents(calls)
    data = [d for _, d in buttons(calls[-1])]
    assert "mat:material-mou-template" in data and "mat:material-data-sharing" in data
    assert len(data) < 5  # only the matches, not the whole shelf
    pressed = await bot.press(STAFF, "Data-sharing")
    assert pressed[0].method == "answerCallbackQuery"
    [document] = documents(pressed)
    material = await stored_material(session_factory, "material-data-sharing")
    assert document["content"] == material.content_en


async def test_materials_with_no_match_says_so_and_lists_all(bot: BotHarness) -> None:
    calls = await bot.send(STAFF, "/materials <zebra> & giraffe")
    assert_telegram_accepts(calls)
    assert "couldn't find a sample material for “&lt;zebra&gt; &amp; giraffe”" in texts(calls)
    assert len(buttons(calls[-1])) == 5


async def test_unknown_material_is_answered_politely(bot: BotHarness) -> None:
    await bot.send(STAFF, "/materials")
    calls = await bot.press_data(STAFF, "mat:no-such-thing")
    assert calls[0].method == "answerCallbackQuery"
    assert "no longer available" in texts(calls)


async def test_material_from_family_search_results(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    family = 613
    results = await bot.send(family, "MOU template")
    assert any(d.startswith("mat:") for _, d in buttons(results[-1]))
    calls = await bot.press(family, "📄")
    [document] = documents(calls)
    material = await stored_material(session_factory, "material-mou-template")
    assert document["content"] == material.content_en


async def test_toolkit_lists_entries_grouped_by_section(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        stored = len((await session.scalars(select(ToolkitResource.id))).all())
    calls = await bot.send(STAFF, "/toolkit")
    assert_telegram_accepts(calls)
    said = texts(calls)
    order = [said.index(s) for s in ("Overview", "Best practices", "Reports", "Sample materials")]
    assert order == sorted(order)
    data = [d for _, d in buttons(calls[-1])]
    assert len(data) == stored == 12 and all(d.startswith("tk:") for d in data)
    assert data[0] == "tk:toolkit-overview" and data[-1] == "tk:toolkit-sample-materials"


async def test_toolkit_entry_opens_in_place_and_back_returns_to_the_list(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    listing = await bot.send(STAFF, "/toolkit")
    list_message = listing[-1].result["message_id"]
    opened = await bot.press(STAFF, "What is a community school")
    assert_telegram_accepts(opened)
    assert opened[0].method == "answerCallbackQuery"
    [edit] = [c for c in opened if c.method == "editMessageText"]
    assert edit.params["message_id"] == list_message
    async with session_factory() as session:
        resource = await session.get(ToolkitResource, "toolkit-overview")
    assert resource is not None
    assert resource.title_en in edit.params["text"]
    assert resource.body_en.split("\n")[0][:80] in edit.params["text"]
    assert [d for _, d in buttons(edit)] == ["tk"]
    back = await bot.press(STAFF, "Back to the toolkit")
    assert_telegram_accepts(back)
    [edit] = [c for c in back if c.method == "editMessageText"]
    assert edit.params["message_id"] == list_message
    assert len(buttons(edit)) == 12


async def test_every_toolkit_entry_fits_in_both_languages(bot: BotHarness) -> None:
    for chat, language in ((STAFF, "en"), (SPANISH_STAFF, "es")):
        listing = await bot.send(chat, "/toolkit", language=language)
        for _, data in buttons(listing[-1]):
            calls = await bot.press_data(chat, data, language=language)
            assert_telegram_accepts(calls)
            assert any(c.method in ("editMessageText", "sendMessage") for c in calls)


async def test_toolkit_entry_in_spanish(bot: BotHarness) -> None:
    await bot.send(SPANISH_STAFF, "/toolkit", language="es")
    calls = await bot.press_data(SPANISH_STAFF, "tk:toolkit-overview", language="es")
    assert "¿Qué es una alianza de escuela comunitaria?" in texts(calls)


async def test_sample_materials_entry_offers_the_documents(bot: BotHarness) -> None:
    await bot.send(STAFF, "/toolkit")
    calls = await bot.press_data(STAFF, "tk:toolkit-sample-materials")
    data = [d for call in calls for _, d in buttons(call)]
    assert "mat:material-mou-template" in data and data[-1] == "tk"


async def test_toolkit_entry_from_family_results_is_a_new_message(bot: BotHarness) -> None:
    family = 614
    results = await bot.send(family, "community school partnership best practices")
    toolkit_buttons = [d for _, d in buttons(results[-1]) if d.startswith("tk:")]
    assert toolkit_buttons
    calls = await bot.press_data(family, toolkit_buttons[0])
    assert_telegram_accepts(calls)
    assert [c.method for c in calls] == ["answerCallbackQuery", "sendMessage"]
    # The results stay where they were; the entry's Back button turns it into the list.
    back = await bot.press(family, "Back to the toolkit")
    [edit] = [c for c in back if c.method == "editMessageText"]
    assert edit.params["message_id"] == calls[-1].result["message_id"]


async def test_unknown_toolkit_entry_is_answered_politely(bot: BotHarness) -> None:
    calls = await bot.press_data(STAFF, "tk:gone")
    assert calls[0].method == "answerCallbackQuery"
    assert "no longer available" in texts(calls)


async def test_commands_are_listed_for_telegram(bot: BotHarness) -> None:
    commands = [c for c in bot.api.calls if c.method == "setMyCommands"]
    assert commands
    names = {item["command"] for item in json.loads(json.dumps(commands[0].params["commands"]))}
    assert {"ask", "toolkit", "materials"} <= names
