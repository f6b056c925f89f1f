"""Staff flows through the real handlers: /materials sends documents, /toolkit opens entries."""

from __future__ import annotations

import json

from opened_documents import assert_reads_well, docx_paragraphs, docx_text, pdf_text
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.local_chat import Call
from botapi import parse_html
from botapi.html import utf16_len
from harness import BotHarness, buttons, texts
from knowledge.models import Chat, Role, SampleMaterial, ToolkitResource

STAFF = 611
SPANISH_STAFF = 612


def assert_telegram_accepts(calls: list[Call]) -> None:
    """What Telegram would refuse: HTML that does not parse, over-long text, long callback data."""
    for call in calls:
        for key, limit in (("text", 4096), ("caption", 1024)):
            if call.params.get(key):
                visible, _ = parse_html(str(call.params[key]))
                assert utf16_len(visible) <= limit, (call.method, len(visible))
        for _, data in buttons(call):  # (a link button has no data)
            assert len(data.encode()) <= 64


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


def format_buttons(call: Call) -> list[str]:
    return [d for _, d in buttons(call) if d.startswith("matf:")]


async def test_materials_with_one_match_offers_word_and_pdf(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    calls = await bot.send(STAFF, "/materials mou")
    assert_telegram_accepts(calls)
    assert not documents(calls)
    assert "Partnership MOU template" in texts(calls) and "memorandum" in texts(calls)
    assert format_buttons(calls[-1]) == [
        "matf:docx:material-mou-template",
        "matf:pdf:material-mou-template",
    ]
    word = await bot.press(STAFF, "Word")
    assert_telegram_accepts(word)
    [document] = documents(word)
    assert document["filename"] == "partnership-mou-template.en.docx"
    paragraphs = docx_paragraphs(bytes(document["content"]))  # type: ignore[arg-type]
    headings = [text for style, text in paragraphs if style.startswith("Heading")]
    assert "Memorandum of Understanding" in headings[0] and len(headings) > 5
    assert any(style == "List Bullet" for style, _ in paragraphs)
    assert any(style == "cell" for style, _ in paragraphs)  # its tables are tables
    assert_reads_well(docx_text(bytes(document["content"])))  # type: ignore[arg-type]
    caption = next(c.params["caption"] for c in word if c.method == "sendDocument")
    assert "Partnership MOU template" in caption

    printed = await bot.press(STAFF, "PDF")
    [document] = documents(printed)
    assert document["filename"] == "partnership-mou-template.en.pdf"
    text = pdf_text(bytes(document["content"]))  # type: ignore[arg-type]
    assert "Memorandum of Understanding" in text and "Purpose" in text
    assert_reads_well(text)

    calls = await bot.press_data(STAFF, "mat:no-such-thing")
    assert calls[0].method == "answerCallbackQuery"
    assert "no longer available" in texts(calls)
    calls = await bot.press_data(STAFF, "matf:pdf:no-such-thing")
    assert "no longer available" in texts(calls)


async def test_spanish_chat_gets_the_spanish_document_in_both_formats(bot: BotHarness) -> None:
    calls = await bot.send(SPANISH_STAFF, "/materials mou", language="es")
    assert_telegram_accepts(calls)
    assert "Plantilla de memorando" in texts(calls) and "imprimirlo" in texts(calls)
    word = await bot.press(SPANISH_STAFF, "Word", language="es")
    [document] = documents(word)
    assert document["filename"] == "partnership-mou-template.es.docx"
    text = docx_text(bytes(document["content"]))  # type: ignore[arg-type]
    assert "Memorando de entendimiento" in text and "Propósito" in text
    assert_reads_well(text)
    printed = await bot.press(SPANISH_STAFF, "PDF", language="es")
    [document] = documents(printed)
    assert document["filename"] == "partnership-mou-template.es.pdf"
    text = pdf_text(bytes(document["content"]))  # type: ignore[arg-type]
    # The embedded font has the accents: they come back out as the letters they are.
    assert "Propósito" in text and "organización" in text and "año" in text
    assert_reads_well(text)


async def test_the_survey_prints_tick_boxes_not_brackets(bot: BotHarness) -> None:
    await bot.send(SPANISH_STAFF, "/materials", language="es")
    await bot.press_data(SPANISH_STAFF, "mat:material-needs-assessment", language="es")
    printed = await bot.press(SPANISH_STAFF, "PDF", language="es")
    [document] = documents(printed)
    text = pdf_text(bytes(document["content"]))  # type: ignore[arg-type]
    assert "☐ Español" in text and "¿En qué idioma" in text
    assert "[ ] Español" not in text


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
    assert "disponible en inglés" in texts(calls)  # told, in Spanish, that it is English
    printed = await bot.press(SPANISH_STAFF, "PDF", language="es")
    [document] = documents(printed)
    assert str(document["filename"]).endswith(".en.pdf")


async def test_an_imported_pdf_material_is_sent_as_it_is(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session, session.begin():
        material = await session.get(SampleMaterial, "material-self-assessment")
        assert material is not None
        material.content_en, material.filename_en = b"%PDF-1.4 made elsewhere", "rubric.en.pdf"
    calls = await bot.press_data(STAFF, "mat:material-self-assessment")
    [document] = documents(calls)
    assert document["filename"] == "rubric.en.pdf"
    assert document["content"] == b"%PDF-1.4 made elsewhere"


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
    assert format_buttons(pressed[-1]) == [
        "matf:docx:material-data-sharing",
        "matf:pdf:material-data-sharing",
    ]
    [document] = documents(await bot.press(STAFF, "Word"))
    assert document["filename"] == "data-sharing-agreement-template.en.docx"
    assert "FERPA" in docx_text(bytes(document["content"]))  # type: ignore[arg-type]


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


async def test_material_from_family_search_results(bot: BotHarness) -> None:
    family = 613
    results = await bot.send(family, "MOU template")
    assert any(d.startswith("mat:") for _, d in buttons(results[-1]))
    # The result says what the material is, not just "Sample material".
    assert "memorandum of understanding" in texts(results)
    calls = await bot.press(family, "📄")
    assert format_buttons(calls[-1])
    [document] = documents(await bot.press(family, "PDF"))
    assert "Memorandum of Understanding" in pdf_text(bytes(document["content"]))  # type: ignore[arg-type]


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


async def make_staff(
    factory: async_sessionmaker[AsyncSession], chat_id: int, language: str
) -> None:
    async with factory() as session, session.begin():
        session.add(Chat(id=chat_id, language=language, role=Role.STAFF))


async def test_staff_start_opens_the_staff_menu_in_both_languages(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await make_staff(session_factory, STAFF, "en")
    await make_staff(session_factory, SPANISH_STAFF, "es")
    calls = await bot.send(STAFF, "/start")
    assert_telegram_accepts(calls)
    assert "toolkit for staff" in texts(calls)
    assert {d for _, d in buttons(calls[-1])} == {
        "mats",
        "tks:best-practice",
        "tk",
        "tks:report",
        "cats",
    }
    calls = await bot.send(SPANISH_STAFF, "/start", language="es")
    assert "kit de herramientas de alianzas" in texts(calls)
    assert "Materiales de ejemplo (Word, PDF)" in [label[2:] for label, _ in buttons(calls[-1])]

    practices = await bot.press(STAFF, "Best practices")
    assert_telegram_accepts(practices)
    assert "Start small, then scale up" in texts(practices)
    assert "Begin with one or two services" in texts(practices)  # each with its summary
    shelf = await bot.press(STAFF, "Sample materials")
    assert len([d for _, d in buttons(shelf[-1]) if d.startswith("mat:")]) == 5
    reports = await bot.press(STAFF, "Reports")
    assert "Community Schools Strategy" in texts(reports)


async def test_a_family_start_is_unchanged(bot: BotHarness) -> None:
    calls = await bot.send(615, "/start")
    assert "toolkit for staff" not in texts(calls)
    assert not any(d == "mats" for _, d in buttons(calls[-1]))


async def test_report_entries_link_to_the_report(bot: BotHarness) -> None:
    for chat, language in ((STAFF, "en"), (SPANISH_STAFF, "es")):
        calls = await bot.press_data(chat, "tk:toolkit-report-nlc-health", language=language)
        assert_telegram_accepts(calls)
        markup = next(c.params["reply_markup"] for c in calls if c.params.get("reply_markup"))
        links = [
            b["url"]
            for row in json.loads(json.dumps(markup))["inline_keyboard"]
            for b in row
            if b.get("url")
        ]
        assert links == [
            "https://www.nlc.org/resource/advancing-education-and-health-through-a-community-schools-strategy/"
        ]
        assert "search for its title" not in texts(calls)
        assert "búsquelo por su título" not in texts(calls)


async def test_toolkit_results_show_their_summary(bot: BotHarness) -> None:
    calls = await bot.send(616, "community school partnership best practices")
    said = texts(calls)
    assert "Toolkit · Best practices" in said or "Toolkit · Overview" in said
    assert "brings schools, families and local groups together" in said or "Design programs" in said
