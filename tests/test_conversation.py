"""Small talk is not a search; the language follows the person both ways; every path ends
somewhere (ask a person, across restarts and local chat sessions)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.local_chat import InProcessBotApi
from harness import COORDINATOR_ID, BotHarness, bot_with_settings, buttons, texts
from knowledge.language import language_guesser
from knowledge.lexicon import default_lexicon
from knowledge.models import Chat, Handoff, HandoffCopy, QueryLog
from knowledge.smalltalk import default_small_talk

FAMILY = 7401

# (message, kind, language it says it is in)
SMALL_TALK = [
    ("hi", "greeting", "en"),
    ("Hi!", "greeting", "en"),
    ("hello there", "greeting", "en"),
    ("good morning", "greeting", "en"),
    ("hey bot", "greeting", "en"),
    ("hola", "greeting", "es"),
    ("Hola!!", "greeting", "es"),
    ("hola buenos días", "greeting", "es"),
    ("buenas tardes", "greeting", "es"),
    ("thank you", "thanks", "en"),
    ("thanks so much!", "thanks", "en"),
    ("thnks", "thanks", "en"),
    ("ok thanks", "thanks", "en"),
    ("gracias", "thanks", "es"),
    ("muchas gracias", "thanks", "es"),
    ("grasias", "thanks", "es"),
    ("mil gracias amiga", "thanks", "es"),
    ("help", "help", "en"),
    ("help me please", "help", "en"),
    ("how does this work?", "help", "en"),
    ("ayuda", "help", "es"),
    ("¿cómo funciona?", "help", "es"),
    ("?", "help", None),
    ("??", "help", None),
    ("menu", "menu", None),
    ("Menú", "menu", None),
    ("👍", "menu", None),
    ("ok", "yes", None),
    ("okay", "yes", "en"),
    ("yes please", "yes", "en"),
    ("vale", "yes", "es"),
    ("no", "no", None),
    ("nope", "no", "en"),
    ("no gracias", "no", "es"),
    ("bye", "bye", None),
    ("adiós", "bye", "es"),
]
QUESTIONS = [
    "hi, I need food",
    "hello I need a dentist",
    "help with rent",
    "can you help me find a dentist",
    "hola necesito comida",
    "gracias, y clases de inglés?",
    "ok where is the food bank",
    "good dentist",
    "please",
    "dentist",
    "50310",
]


@pytest.mark.parametrize(("message", "kind", "language"), SMALL_TALK)
def test_small_talk_is_recognised(message: str, kind: str, language: str | None) -> None:
    talk = default_small_talk().recognise(message)
    assert talk is not None, message
    assert (talk.kind, talk.language) == (kind, language)


@pytest.mark.parametrize("message", QUESTIONS)
def test_a_question_is_not_small_talk(message: str) -> None:
    assert default_small_talk().recognise(message) is None


@pytest.mark.parametrize(
    ("message", "language"),
    [
        ("I need a dentist for my kid", "en"),
        ("where can I get food", "en"),
        ("my kid needs glasses", "en"),
        ("necesito comida", "es"),
        ("comida", "es"),
        ("dentista para mi hijo", "es"),
        ("¿dónde?", "es"),
        ("dentist", None),  # one English word: Spanish speakers borrow them
        ("food stamps", None),
        ("snap", None),
        ("wic", None),
        ("ok", None),
    ],
)
def test_the_language_of_a_question(message: str, language: str | None) -> None:
    talk = default_small_talk()
    guesser = language_guesser(
        default_lexicon(), {lang: talk.phrases_in(lang) for lang in ("en", "es")}
    )
    assert guesser.guess(message) == language


# --- through the handlers ---------------------------------------------------------------------


def menu_labels(bot: BotHarness, chat_id: int) -> list[str]:
    latest = bot.latest_with_buttons(chat_id)
    assert latest is not None
    markup = latest.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_greetings_and_thanks_get_a_friendly_answer_and_the_menu(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    said = texts(await bot.send(FAMILY, "hi"))
    assert "I help families find local services" in said and "couldn't find" not in said
    assert any("Food" in label for label in menu_labels(bot, FAMILY))
    assert any("Ask a person" in label for label in menu_labels(bot, FAMILY))
    assert "You're welcome" in texts(await bot.send(FAMILY, "thank you"))
    assert "for example" in texts(await bot.send(FAMILY, "help"))
    assert "for example" in texts(await bot.send(FAMILY, "?"))
    assert "What do you need help with?" in texts(await bot.send(FAMILY, "menu"))
    assert "Type what you need" in texts(await bot.send(FAMILY, "ok"))
    await bot.flush_query_log()
    async with session_factory() as session:
        assert not (await session.scalars(select(QueryLog))).all()  # not in the gap report


async def test_spanish_small_talk_is_answered_in_spanish(bot: BotHarness) -> None:
    said = texts(await bot.send(FAMILY, "gracias", language="en"))
    assert "¡De nada!" in said
    assert "I will answer in Spanish from now on" in said  # said in the language being left
    assert any("Comida" in label for label in menu_labels(bot, FAMILY))


async def test_the_language_follows_the_person_both_ways(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    said = texts(await bot.send(FAMILY, "hola", language="en"))
    assert "¡Hola!" in said and "I will answer in Spanish from now on. /language" in said
    said = texts(await bot.send(FAMILY, "I need a dentist for my son", language="en"))
    assert "Here is what I found" in said and "Dental" in said
    # The hint is in Spanish, the language being left, and names how to change it.
    assert "Desde ahora le contesto en inglés. Para cambiar de idioma: /language" in said
    said = texts(await bot.send(FAMILY, "thanks!", language="en"))
    assert "You're welcome" in said and "Desde ahora" not in said
    said = texts(await bot.send(FAMILY, "dentista para mi hijo", language="en"))
    assert "Esto es lo que encontré" in said and "Spanish from now on" in said
    said = texts(await bot.send(FAMILY, "dentist", language="en"))  # one word is not enough
    assert "Esto es lo que encontré" in said
    async with session_factory() as session:
        assert await session.get(Chat, FAMILY) is None  # still nothing stored


async def test_a_chosen_language_is_kept_in_the_database_when_it_switches(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await bot.send(FAMILY, "/language")
    await bot.press(FAMILY, "Español")
    said = texts(await bot.send(FAMILY, "where can I get food for my family", language="es"))
    assert "Here is what I found" in said and "contesto en inglés" in said
    async with session_factory() as session:
        assert (await session.get(Chat, FAMILY)).language == "en"  # type: ignore[union-attr]


# --- every path ends somewhere ------------------------------------------------------------------


async def test_nobody_to_answer_hides_the_button(database_url: str) -> None:
    async with bot_with_settings(database_url, coordinator_ids="") as bot:
        await bot.send(FAMILY, "hi")
        assert not any("Ask a person" in label for label in menu_labels(bot, FAMILY))
        said = texts(await bot.send(FAMILY, "xqzv blorptk"))
        assert "ask a person" not in said
        assert not any("Ask a person" in label for label in menu_labels(bot, FAMILY))
        said = texts(await bot.send(FAMILY, "/ask"))
        assert "nobody at the school answers questions here yet" in said


async def test_nobody_to_answer_falls_back_to_the_school_office(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with bot_with_settings(
        database_url, coordinator_ids="", school_office_phone="(515) 555-0100"
    ) as bot:
        await bot.send(FAMILY, "/start")
        assert any("Ask a person" in label for label in menu_labels(bot, FAMILY))
        said = texts(await bot.press(FAMILY, "Ask a person"))
        assert "Please call the school office: +1 515-555-0100" in said
        said = texts(await bot.send(FAMILY + 1, "/ask", language="es"))
        assert "oficina de la escuela: +1 515-555-0100" in said
        later = texts(await bot.send(FAMILY, "dentist"))  # not taken for a question
        assert "Dental" in later
    async with session_factory() as session:
        assert not (await session.scalars(select(Handoff))).all()


async def test_a_question_survives_a_restart(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with bot_with_settings(database_url) as bot:
        assert "Type your question" in texts(await bot.send(FAMILY, "/ask"))
    async with bot_with_settings(database_url) as bot:  # a restart: PTB's memory is gone
        calls = await bot.send(FAMILY, "Is the food pantry open on Sunday?")
        forwarded = [c for c in calls if c.params.get("chat_id") == COORDINATOR_ID]
        assert forwarded and "food pantry open on Sunday" in forwarded[0].params["text"]
        assert "Here is what I found" not in texts(calls)
        later = texts(await bot.send(FAMILY, "dentist"))  # the question was only one message
        assert "Dental" in later
    async with session_factory() as session:
        assert (await session.scalars(select(Handoff.question))).one().startswith("Is the food")
        assert (await session.get(Chat, FAMILY)).question_asked_at is None  # type: ignore[union-attr]


async def test_cancel_after_a_restart_sends_nothing(database_url: str) -> None:
    async with bot_with_settings(database_url) as bot:
        await bot.send(FAMILY, "/ask")
    async with bot_with_settings(database_url) as bot:
        assert "won't send anything" in texts(await bot.send(FAMILY, "/cancel"))
        calls = await bot.send(FAMILY, "dentist")
        assert not [c for c in calls if c.params.get("chat_id") == COORDINATOR_ID]


async def test_two_local_chat_sessions_can_both_ask(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Each session's Bot API numbers messages on from the last (a second session used to start
    at 1 again and hit the UNIQUE constraint on handoff_copy)."""
    for session_number in range(2):
        async with bot_with_settings(database_url) as bot:
            await bot.send(FAMILY, "/ask")
            calls = await bot.send(FAMILY, f"Question number {session_number}")
            assert "passed your question" in texts(calls), texts(calls)
    async with session_factory() as session:
        copies = (await session.scalars(select(HandoffCopy))).all()
    assert len(copies) == 2 and len({c.message_id for c in copies}) == 2
    first, second = InProcessBotApi(), InProcessBotApi()
    assert (
        first._answer("sendMessage", {"chat_id": 1, "text": "a"})["message_id"]
        < (second._answer("sendMessage", {"chat_id": 1, "text": "b"})["message_id"])
    )


async def test_the_ask_button_is_shown_where_someone_answers(bot: BotHarness) -> None:
    await bot.send(FAMILY, "/start")
    labels = [label for call in bot.api.calls for label, _ in buttons(call)]
    assert any("Ask a person" in label for label in labels)
