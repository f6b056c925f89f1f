"""Ask a person, through the real handlers: family -> coordinators -> reply -> family."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.local_chat import Call
from botapi import parse_html
from harness import COORDINATOR_ID, BotHarness, buttons, texts
from knowledge.models import Chat, Handoff, HandoffCopy, Role

FAMILY = 701
SPANISH_FAMILY = 702
SECOND_COORDINATOR = 9002


def sent_to(calls: list[Call], chat_id: int) -> list[Call]:
    return [
        c for c in calls if c.method == "sendMessage" and int(c.params.get("chat_id", 0)) == chat_id
    ]


def assert_valid_html(calls: list[Call]) -> None:
    for call in calls:
        if call.params.get("text"):
            visible, _ = parse_html(str(call.params["text"]))
            assert len(visible) <= 4096


async def ask(bot: BotHarness, chat_id: int, question: str, language: str = "en") -> list[Call]:
    """/ask, then the question; returns the calls the question caused."""
    prompt = await bot.send(chat_id, "/ask", language=language)
    assert "Type your question" in texts(prompt) or "Escriba" in texts(prompt)
    return await bot.send(chat_id, question, language=language)


async def test_question_goes_to_the_coordinator_without_the_familys_name(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    calls = await ask(bot, FAMILY, "Is there a <free> clinic for my son & me?")
    assert_valid_html(calls)
    [forwarded] = sent_to(calls, COORDINATOR_ID)
    text = forwarded.params["text"]
    assert "Question from a family (English)" in text
    assert "Is there a &lt;free&gt; clinic for my son &amp; me?" in text
    assert "Reply to this message" in text
    assert str(FAMILY) not in text and "Local" not in text  # no chat id, no first name
    [told] = sent_to(calls, FAMILY)
    assert "within one school day" in told.params["text"]
    async with session_factory() as session:
        handoff = (await session.scalars(select(Handoff))).one()
        copy = (await session.scalars(select(HandoffCopy))).one()
    assert handoff.chat_id == FAMILY and handoff.answered_at is None
    assert (copy.coordinator_chat_id, copy.message_id) == (
        COORDINATOR_ID,
        forwarded.result["message_id"],
    )


async def test_question_is_not_searched(bot: BotHarness) -> None:
    calls = await ask(bot, FAMILY, "dentist")
    assert "Here is what I found" not in texts(calls)


async def test_coordinator_reply_is_relayed_to_the_family(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    calls = await ask(bot, FAMILY, "When is the food pantry open?")
    [forwarded] = sent_to(calls, COORDINATOR_ID)
    reply = await bot.send(
        COORDINATOR_ID,
        "Thursdays 3:30 to 5 at Lincoln <b>Elementary</b>",
        reply_to_message=forwarded.result,
    )
    assert_valid_html(reply)
    [answer] = sent_to(reply, FAMILY)
    assert "Answer from the school" in answer.params["text"]
    assert "Thursdays 3:30 to 5 at Lincoln &lt;b&gt;Elementary&lt;/b&gt;" in answer.params["text"]
    assert "When is the food pantry open?" in answer.params["text"]
    [confirmation] = sent_to(reply, COORDINATOR_ID)
    assert "Sent to the family" in confirmation.params["text"]
    assert "Here is what I found" not in texts(reply)  # not searched as well
    async with session_factory() as session:
        handoff = (await session.scalars(select(Handoff))).one()
    assert handoff.answered_at is not None


async def test_spanish_question_is_labelled_and_answered_in_spanish(bot: BotHarness) -> None:
    calls = await ask(bot, SPANISH_FAMILY, "¿Dónde hay comida?", language="es")
    [forwarded] = sent_to(calls, COORDINATOR_ID)
    assert "(Spanish)" in forwarded.params["text"]  # the coordinator reads English
    reply = await bot.send(COORDINATOR_ID, "En la iglesia", reply_to_message=forwarded.result)
    [answer] = sent_to(reply, SPANISH_FAMILY)
    assert "En la iglesia" in answer.params["text"]


async def test_every_coordinator_gets_it_and_a_second_answer_is_noted(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session, session.begin():
        session.add(Chat(id=SECOND_COORDINATOR, language="en", role=Role.COORDINATOR))
    calls = await ask(bot, FAMILY, "Who can help with rent?")
    first, second = (sent_to(calls, c)[0] for c in (COORDINATOR_ID, SECOND_COORDINATOR))
    await bot.send(COORDINATOR_ID, "Call the housing office.", reply_to_message=first.result)
    again = await bot.send(SECOND_COORDINATOR, "Try 211 too.", reply_to_message=second.result)
    assert "Try 211 too." in texts(sent_to(again, FAMILY))
    assert "already answered" in texts(sent_to(again, SECOND_COORDINATOR))
    async with session_factory() as session:
        assert len((await session.scalars(select(HandoffCopy))).all()) == 2


async def test_a_family_reply_relays_nothing(bot: BotHarness) -> None:
    await ask(bot, FAMILY, "Is there a clinic?")
    results = await bot.send(FAMILY, "dentist")
    reply = await bot.send(FAMILY, "thanks, and eye doctors?", reply_to_message=results[-1].result)
    assert all(int(c.params.get("chat_id", 0)) == FAMILY for c in reply if "chat_id" in c.params)
    assert not sent_to(reply, COORDINATOR_ID)


async def test_a_family_replying_to_a_copy_of_a_question_relays_nothing(
    bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    calls = await ask(bot, FAMILY, "Is there a clinic?")
    [forwarded] = sent_to(calls, COORDINATOR_ID)
    # Even a message id that matches a coordinator's copy leads nowhere from another chat.
    other = 703
    fake = {**forwarded.result, "chat": {"id": other, "type": "private"}}
    reply = await bot.send(other, "I am answering!", reply_to_message=fake)
    assert not sent_to(reply, FAMILY)
    async with session_factory() as session:
        assert (await session.scalars(select(Handoff))).one().answered_at is None


async def test_coordinator_reply_to_another_message_is_not_a_relay(bot: BotHarness) -> None:
    results = await bot.send(COORDINATOR_ID, "dentist")
    reply = await bot.send(COORDINATOR_ID, "food pantry", reply_to_message=results[-1].result)
    elsewhere = [
        c for c in reply if c.method == "sendMessage" and int(c.params["chat_id"]) != COORDINATOR_ID
    ]
    assert not elsewhere
    assert "Sent to the family" not in texts(reply)


async def test_reply_to_a_question_whose_family_is_gone_is_answered_politely(
    bot: BotHarness,
) -> None:
    calls = await ask(bot, FAMILY, "Is there a clinic?")
    [forwarded] = sent_to(calls, COORDINATOR_ID)
    await bot.send(FAMILY, "/forget")
    await bot.press(FAMILY, "Yes, delete")
    reply = await bot.send(COORDINATOR_ID, "Yes, on Main St.", reply_to_message=forwarded.result)
    assert not sent_to(reply, FAMILY)
    assert "can't find the family" in texts(reply)


async def test_the_ask_button_starts_the_question(bot: BotHarness) -> None:
    await bot.send(FAMILY, "asdfghjkl")  # no match: categories and "Ask a person"
    prompt = await bot.press(FAMILY, "Ask a person")
    assert prompt[0].method == "answerCallbackQuery"
    assert "Type your question" in texts(prompt)
    calls = await bot.send(FAMILY, "Where can I get a coat for my daughter?")
    assert sent_to(calls, COORDINATOR_ID)


async def test_cancel_sends_nothing(bot: BotHarness) -> None:
    await bot.send(FAMILY, "/ask")
    cancelled = await bot.send(FAMILY, "/cancel")
    assert "won't send anything" in texts(cancelled)
    assert "don't know that command" not in texts(cancelled)
    later = await bot.send(FAMILY, "dentist")
    assert not sent_to(later, COORDINATOR_ID)
    assert "Dental" in texts(later)


async def test_another_command_or_button_ends_the_question(bot: BotHarness) -> None:
    await bot.send(FAMILY, "/ask")
    started = await bot.send(FAMILY, "/start")
    assert "I help families" in texts(started)
    later = await bot.send(FAMILY, "dentist")
    assert not sent_to(later, COORDINATOR_ID) and "Dental" in texts(later)

    await bot.send(FAMILY, "/ask")
    pressed = await bot.press(FAMILY, "Food")  # a category on the greeting above
    assert pressed[0].method == "answerCallbackQuery"
    later = await bot.send(FAMILY, "dentist")
    assert not sent_to(later, COORDINATOR_ID)


@pytest.fixture
async def lonely_bot(database_url: str) -> AsyncIterator[BotHarness]:
    """The application with no COORDINATOR_IDS and nobody with the coordinator role."""
    from bot.application import build_application, post_init
    from bot.config import load_settings
    from bot.local_chat import LOCAL_TOKEN, InProcessBotApi

    settings = load_settings(database_url=database_url, coordinator_ids="")
    api = InProcessBotApi()
    application = build_application(settings, request=api, token=LOCAL_TOKEN)
    application.bot_data["set_commands"] = False
    async with application:
        await post_init(application)
        yield BotHarness(application, api)
        if application.post_shutdown:
            await application.post_shutdown(application)


async def test_no_coordinators_means_an_honest_answer(
    lonely_bot: BotHarness, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    calls = await lonely_bot.send(FAMILY, "/ask")
    assert "nobody at the school answers questions here yet" in texts(calls)
    assert "call the school" in texts(calls)
    later = await lonely_bot.send(FAMILY, "dentist")  # not taken as a question
    assert "Dental" in texts(later)
    async with session_factory() as session:
        assert not (await session.scalars(select(Handoff))).all()


async def test_buttons_stay_within_telegram_limits(bot: BotHarness) -> None:
    calls = await ask(bot, FAMILY, "x" * 4000)
    assert_valid_html(calls)
    for call in calls:
        for _, data in buttons(call):
            assert len(data.encode()) <= 64
