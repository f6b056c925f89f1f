"""Family flows through the real handlers: search, results, details, map, categories, nearby."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from harness import BotHarness, add_service, buttons, texts
from knowledge.models import Chat, QueryLog

FAMILY = 501


async def test_start_greets_and_offers_categories(bot: BotHarness) -> None:
    calls = await bot.send(FAMILY, "/start")
    said = texts(calls)
    assert "I help families find local services" in said
    labels = [text for call in calls for text, _ in buttons(call)]
    assert any("Food" in label for label in labels)
    assert any("Ask a person" in label for label in labels)


async def test_start_in_spanish_from_telegram_language(bot: BotHarness) -> None:
    calls = await bot.send(FAMILY, "/start", language="es")
    labels = [text for call in calls for text, _ in buttons(call)]
    assert any("Comida" in label for label in labels)


async def test_bad_deep_link_falls_back_to_the_greeting(bot: BotHarness) -> None:
    calls = await bot.send(FAMILY, "/start ../../etc/passwd")
    assert "I help families find local services" in texts(calls)


async def test_deep_link_opens_a_need(bot: BotHarness) -> None:
    calls = await bot.send(FAMILY, "/start con-dental")
    assert "Dental" in texts(calls)


async def test_free_text_with_typo_finds_a_dentist(bot: BotHarness) -> None:
    calls = await bot.send(FAMILY, "dentst for my kid")
    reply = texts(calls)
    assert "Smiles Dental" in reply or "Dental Van" in reply
    labels = [text for text, _ in buttons(calls[-1])]
    assert any("Not what I need" in label for label in labels)
    assert "👍" in labels and "👎" in labels


async def test_a_place_in_the_question_is_named_as_understood(bot: BotHarness) -> None:
    said = texts(await bot.send(FAMILY, "dentist near 50313"))
    assert "Here is what I found for ZIP 50313:" in said and "Dental" in said
    said = texts(await bot.send(FAMILY, "dentista cerca de 50311"))
    assert "Esto es lo que encontré para ZIP 50311:" in said


async def test_a_town_with_nothing_of_it_is_told_so_before_the_nearby_answers(
    bot: BotHarness,
) -> None:
    # The demo's services are in Des Moines ZIP codes; Ankeny is in the same county.
    said = texts(await bot.send(FAMILY, "dentist in ankeny"))
    assert "Nothing in Ankeny, IA itself. Here is what is nearby:" in said and "Dental" in said
    said = texts(await bot.send(FAMILY, "dentista en ankeny", language="es"))
    assert "No hay nada en Ankeny, IA mismo." in said


async def test_results_page_through_more(bot: BotHarness) -> None:
    first = await bot.send(FAMILY, "food")
    assert any("More results" in text for text, _ in buttons(first[-1]))
    second = await bot.press(FAMILY, "More results")
    assert "4." in texts(second)


async def test_details_show_phone_hours_and_how_to_apply(bot: BotHarness) -> None:
    await bot.send(FAMILY, "dentist")
    details = texts(await bot.press(FAMILY, "ℹ️ 1."))
    assert "☎ " in details and "Monday:" in details and "How to get it" in details


async def test_map_sends_a_venue(bot: BotHarness) -> None:
    await bot.send(FAMILY, "dentist")
    calls = await bot.press(FAMILY, "📍")
    venue = next(c for c in calls if c.method == "sendVenue")
    assert abs(venue.params["latitude"] - 41.59) < 0.2


async def test_no_match_is_honest_and_logged(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    calls = await bot.send(FAMILY, "xqzv blorptk")
    assert "couldn't find a good match" in texts(calls)
    await bot.flush_query_log()
    async with session_factory() as session:
        entry = (await session.scalars(select(QueryLog))).one()
    assert entry.matched is False and entry.text == "xqzv blorptk"


async def test_feedback_is_stored_with_the_query(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await bot.send(FAMILY, "tutoring")
    await bot.press(FAMILY, "👍")
    await bot.flush_query_log()
    async with session_factory() as session:
        entry = (await session.scalars(select(QueryLog))).one()
    assert entry.helpful is True
    await bot.send(FAMILY, "lentes")  # feedback on a row already written updates it in place
    await bot.flush_query_log()
    await bot.press(FAMILY, "👎")
    async with session_factory() as session:
        later = (await session.scalars(select(QueryLog).where(QueryLog.text == "lentes"))).one()
    assert later.helpful is False


async def test_browse_category_then_need_then_back(bot: BotHarness) -> None:
    await bot.send(FAMILY, "/start")
    category = await bot.press(FAMILY, "Health")
    assert any("Dentist" in text for text, _ in buttons(category[-1]))
    results = await bot.press(FAMILY, "Dentist")
    assert "Dental" in texts(results)
    back = await bot.press(FAMILY, "Back")
    assert any("Food" in text for text, _ in buttons(back[-1]))


async def test_a_need_the_directory_has_nothing_for_gets_no_button(bot: BotHarness) -> None:
    # Riverbend lists tax help and no bankruptcy help: a button for it would lead nowhere.
    await bot.send(FAMILY, "/start")
    category = await bot.press(FAMILY, "Jobs & money")
    labels = [text for text, _ in buttons(category[-1])]
    assert "Tax help" in labels and "Bankruptcy" not in labels


async def test_shared_location_asks_what_is_needed_then_lists_nearest(bot: BotHarness) -> None:
    calls = await bot.share_location(FAMILY, 41.5900, -93.6200)
    assert "What do you need near here?" in texts(calls)
    labels = [label for call in calls for label, _ in buttons(call)]
    assert any("Food" in label for label in labels)
    assert not any("near me" in label for label in labels)  # the place is known already
    await bot.press(FAMILY, "Food")
    results = await bot.press(FAMILY, "Food pantry")
    assert " mi" in texts(results)  # English (US) reads miles, nearest first
    assert any(data.startswith("fb:") for call in results for _, data in buttons(call))


async def test_a_location_shared_after_a_question_keeps_the_question(bot: BotHarness) -> None:
    await bot.send(FAMILY, "dentist")
    results = await bot.share_location(FAMILY, 41.5900, -93.6200)
    assert "What do you need near here?" not in texts(results)
    assert "Dental" in texts(results) and " mi" in texts(results)
    assert "Rent" not in texts(results)  # dentists near here, not everything near here


async def test_zip_code_asks_what_is_needed_near_it(bot: BotHarness) -> None:
    calls = await bot.send(FAMILY, "50310")
    assert "What do you need near here?" in texts(calls)
    await bot.press(FAMILY, "Health")
    results = await bot.press(FAMILY, "Dentist")
    assert "near you" in texts(results) or " mi" in texts(results)


async def test_unknown_zip_code_is_answered_kindly(bot: BotHarness) -> None:
    calls = await bot.send(FAMILY, "99999")
    assert "Share your location instead" in texts(calls)


async def test_language_switch_is_remembered(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await bot.send(FAMILY, "/language")
    await bot.press(FAMILY, "Español")
    async with session_factory() as session:
        assert (await session.get(Chat, FAMILY)).language == "es"  # type: ignore[union-attr]


async def test_a_question_in_spanish_is_answered_in_spanish_from_an_english_phone(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    first = texts(await bot.send(FAMILY, "necesito comida gratis", language="en"))
    # Told in the language being left, which the person just read: how to change it back.
    assert "I will answer in Spanish from now on" in first and "Esto es lo que encontré" in first
    assert "Here is what I found" not in first
    # The conversation stays in Spanish: buttons, the next page, the next Spanish question.
    more = texts(await bot.press(FAMILY, "Más resultados"))
    assert "4." in more and "Spanish from now on" not in more
    again = texts(await bot.send(FAMILY, "necesito un dentista", language="en"))
    assert "Esto es lo que encontré" in again and "from now on" not in again
    # An English question switches back, and says so in Spanish.
    second = texts(await bot.send(FAMILY, "dentist for my kid", language="en"))
    assert "Here is what I found" in second
    assert "Desde ahora le contesto en inglés" in second
    async with session_factory() as session:
        assert await session.get(Chat, FAMILY) is None  # still nothing stored for a question


async def test_open_now_with_nothing_open_says_so_and_to_call_where_hours_are_unknown(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session, session.begin():
        # No opening hours: never open "now", and no "when it opens" to tell either.
        await add_service(session, "svc-theremin", "Theremin Circle", "A theremin circle.")
    await bot.application.bot_data["services"].finder.refresh(force=True)
    reply = texts(await bot.send(FAMILY, "theremin open now"))
    assert "None of these lists its hours" in reply and "Theremin Circle" in reply
    assert "Here is when these open" not in reply
    assert "lists its hours" not in texts(await bot.send(FAMILY, "theremin"))
    # ...while where some do, the cards say when they open
    async with session_factory() as session, session.begin():
        await add_service(session, "svc-ocarina", "Ocarina Lessons", "Ocarina lessons for kids.")
    await bot.application.bot_data["services"].finder.refresh(force=True)
    reply = texts(await bot.send(FAMILY, "ocarina lessons open now"))
    assert "Nothing like that is open right now" in reply and "Ocarina Lessons" in reply


async def test_a_stored_chat_follows_the_language_it_writes_in(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await bot.send(FAMILY, "/language")
    await bot.press(FAMILY, "English")
    await bot.send(FAMILY, "ropa para mis hijos")
    async with session_factory() as session:
        assert (await session.get(Chat, FAMILY)).language == "es"  # type: ignore[union-attr]


async def test_forget_deletes_the_chat_after_confirming(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await bot.send(FAMILY, "/language")
    await bot.press(FAMILY, "Español")  # something worth remembering: now there is a row
    await bot.send(FAMILY, "/forget")
    await bot.press(FAMILY, "No")
    async with session_factory() as session:
        assert await session.get(Chat, FAMILY) is not None
    await bot.send(FAMILY, "/forget")
    await bot.press(FAMILY, "🗑")
    async with session_factory() as session:
        assert await session.get(Chat, FAMILY) is None


async def test_asking_questions_alone_stores_nothing_about_the_chat(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await bot.send(FAMILY, "/start")
    await bot.send(FAMILY, "dentist")
    async with session_factory() as session:
        assert await session.get(Chat, FAMILY) is None


async def test_privacy_says_what_is_stored(bot: BotHarness) -> None:
    assert "without your name" in texts(await bot.send(FAMILY, "/privacy"))


async def test_unknown_command_points_to_help(bot: BotHarness) -> None:
    assert "/help" in texts(await bot.send(FAMILY, "/frobnicate"))


async def test_forged_callback_data_is_answered_not_crashed(bot: BotHarness) -> None:
    calls = await bot.press_data(FAMILY, "d:does-not-exist")
    assert "no longer in the directory" in texts(calls)
    calls = await bot.press_data(FAMILY, "cat:nope")
    assert any(c.method == "answerCallbackQuery" for c in calls)


async def test_every_callback_is_answered_and_fits_64_bytes(bot: BotHarness) -> None:
    await bot.send(FAMILY, "/start")
    await bot.press(FAMILY, "Food")
    calls = await bot.press(FAMILY, "Food pantry")
    for call in bot.api.calls:
        for _, data in buttons(call):
            assert 0 < len(data.encode()) <= 64
    assert any(c.method == "answerCallbackQuery" for c in calls)


async def test_near_me_button_asks_the_phone_for_a_location(bot: BotHarness) -> None:
    await bot.send(FAMILY, "/start")
    calls = await bot.press(FAMILY, "near me")
    markup = next(c for c in calls if c.method == "sendMessage").params["reply_markup"]
    assert markup["keyboard"][0][0]["request_location"] is True
