"""Roles, subscriptions and broadcasts through the real handlers (Application.process_update, an
in-process Bot API, a real database on both backends), plus the school rule and invitations."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from harness import COORDINATOR_ID, BotHarness, buttons, texts
from jobs.outbox import BROADCAST, DRAFT, open_deliveries
from knowledge.content import DEMO_DIRECTORY
from knowledge.hsds import import_directory
from knowledge.models import (
    Attribute,
    Chat,
    Delivery,
    Message,
    QueryLog,
    Role,
    ServiceAtLocation,
    TaxonomyTerm,
    utcnow,
)
from knowledge.roles import create_invitation, redeem_invitation
from knowledge.subscriptions import schools

FAMILIES = (601, 602, 603)
LINCOLN = "loc-lincoln-elementary"
ROOSEVELT = "loc-roosevelt-middle"


def sessions(bot: BotHarness) -> async_sessionmaker[AsyncSession]:
    return bot.application.bot_data["services"].sessions  # type: ignore[no-any-return]


async def chat_row(bot: BotHarness, chat_id: int) -> Chat:
    async with sessions(bot)() as session:
        chat = await session.get(Chat, chat_id)
        assert chat is not None
        return chat


def callback_data(calls: list, label: str) -> str:  # type: ignore[type-arg]
    for call in reversed(calls):
        for text, data in buttons(call):
            if label in text:
                return data
    raise AssertionError(f"no button {label!r}")


async def wait_until_sent(bot: BotHarness, timeout: float = 20) -> None:  # noqa: ASYNC109
    """Until the outbox is empty and every message (reports included) is finished."""
    deadline = time.monotonic() + timeout
    while True:
        async with sessions(bot)() as session:
            open_rows = await open_deliveries(session)
            unfinished = await session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.finished_at.is_(None), Message.kind != DRAFT)
            )
        if not open_rows and not unfinished:
            return
        assert time.monotonic() < deadline, "the outbox did not drain"
        await asyncio.sleep(0.05)


def sends_to(bot: BotHarness, chat_id: int, containing: str) -> int:
    return sum(
        1
        for c in bot.api.calls
        if c.method == "sendMessage"
        and int(c.params.get("chat_id", 0)) == chat_id
        and containing in str(c.params.get("text"))
    )


async def subscribe_families(bot: BotHarness, *chat_ids: int) -> None:
    for chat_id in chat_ids:
        await bot.send(chat_id, "/subscribe")


# --- subscriptions ---------------------------------------------------------------------------


async def test_subscribe_confirms_and_offers_the_schools(bot: BotHarness) -> None:
    calls = await bot.send(601, "/subscribe")
    assert "You will get announcements and event reminders" in texts(calls)
    labels = [text for text, _ in buttons(calls[-1])]
    assert "All schools" in " ".join(labels)
    assert any("Lincoln Elementary Community School" in label for label in labels)
    assert any("Roosevelt Middle School" in label for label in labels)
    assert (await chat_row(bot, 601)).subscribed


async def test_a_subscription_remembers_the_familys_language(bot: BotHarness) -> None:
    await bot.send(604, "/subscribe", language="es")
    chat = await chat_row(bot, 604)
    assert chat.subscribed and chat.language == "es"  # reminders will be in Spanish


async def test_choosing_a_school_narrows_the_subscription(bot: BotHarness) -> None:
    await bot.send(601, "/subscribe")
    calls = await bot.press(601, "Roosevelt Middle School")
    assert "You will hear from Roosevelt Middle School" in texts(calls)
    chat = await chat_row(bot, 601)
    assert chat.subscribed and chat.school_id == ROOSEVELT
    await bot.press(601, "All schools")
    assert (await chat_row(bot, 601)).school_id is None


async def test_unsubscribe_and_stop_opt_out(bot: BotHarness) -> None:
    await bot.send(601, "/subscribe")
    calls = await bot.send(601, "/unsubscribe")
    assert "no more announcements" in texts(calls)
    assert not (await chat_row(bot, 601)).subscribed
    await bot.send(601, "/subscribe")
    await bot.send(601, "/stop")
    assert not (await chat_row(bot, 601)).subscribed
    calls = await bot.send(601, "/stop")
    assert "You are not subscribed" in texts(calls)


async def test_schools_are_named_school_or_tagged_school(session: AsyncSession) -> None:
    await import_directory(session, DEMO_DIRECTORY)
    await session.commit()
    names = [s.name for s in await schools(session)]
    assert "Lincoln Elementary Community School" in names
    assert "Roosevelt Middle School" in names
    assert "Riverbend Public Library - Central Library" not in names
    assert "Riverbend Youth & Family Center" not in names
    # A location that offers a service tagged with the taxonomy term "school" counts too.
    session.add(TaxonomyTerm(id="tx-school", code="school", name="School"))
    await session.flush()
    session.add(
        Attribute(
            id="a1", link_id="svc-school-meals", taxonomy_term_id="tx-school", link_entity="service"
        )
    )
    session.add(
        ServiceAtLocation(id="sal-x", service_id="svc-school-meals", location_id="loc-youth-center")
    )
    await session.commit()
    assert "Riverbend Youth & Family Center" in [s.name for s in await schools(session)]


# --- roles ------------------------------------------------------------------------------------


async def test_invitation_codes_give_a_role_once(bot: BotHarness) -> None:
    calls = await bot.send(COORDINATOR_ID, "/invite staff")
    code = texts(calls).split("/join ")[-1].split("<")[0].strip()
    assert "works once" in texts(calls)
    calls = await bot.send(601, f"/join {code.lower()}")  # typed any old way
    assert "staff access" in texts(calls)
    assert (await chat_row(bot, 601)).role == Role.STAFF
    calls = await bot.send(602, f"/join {code}")
    assert "does not work" in texts(calls)
    async with sessions(bot)() as session:
        assert await session.get(Chat, 602) is None  # nothing stored about a failed try


async def test_a_coordinator_invitation_makes_a_coordinator(bot: BotHarness) -> None:
    calls = await bot.send(COORDINATOR_ID, "/invite coordinator")
    code = texts(calls).split("/join ")[-1].split("<")[0].strip()
    calls = await bot.send(601, f"/join {code}")
    assert "You are a coordinator now" in texts(calls)
    calls = await bot.send(601, "/broadcast Hello")
    assert "Preview" in texts(calls)


async def test_families_cannot_invite(bot: BotHarness) -> None:
    calls = await bot.send(601, "/invite coordinator")
    assert "only coordinators can do that" in texts(calls)
    async with sessions(bot)() as session:
        assert not await session.scalar(select(func.count()).select_from(Message))


async def test_expired_or_unknown_codes_do_not_work(session: AsyncSession) -> None:
    async with session.begin():
        invitation = await create_invitation(session, role=Role.COORDINATOR, created_by=1)
        later = utcnow() + timedelta(days=8)
        assert await redeem_invitation(session, invitation.code, 5, now=later) is None
        assert await redeem_invitation(session, "NOPE-NOPE", 5) is None
        assert await redeem_invitation(session, invitation.code, 5) == Role.COORDINATOR


# --- broadcasts -------------------------------------------------------------------------------


async def test_a_family_typing_broadcast_is_refused(bot: BotHarness) -> None:
    calls = await bot.send(601, "/broadcast Free pizza for everyone!")
    assert "only coordinators can do that" in texts(calls)
    assert not buttons(calls[-1])
    async with sessions(bot)() as session:
        assert not await session.scalar(select(func.count()).select_from(Message))
        assert await session.get(Chat, 601) is None  # asking stores nothing


async def test_broadcast_previews_then_sends_to_every_subscriber_once(bot: BotHarness) -> None:
    await subscribe_families(bot, *FAMILIES)
    calls = await bot.send(
        COORDINATOR_ID, "/broadcast Family night <Thursday> & pizza\nBring a friend"
    )
    preview = texts(calls)
    assert "Preview, for all schools. Subscribers who will get it: 3" in preview
    assert "Family night &lt;Thursday&gt; &amp; pizza\nBring a friend" in preview
    labels = [text for text, _ in buttons(calls[-1])]
    assert any("Send" in label for label in labels) and any("Cancel" in label for label in labels)

    calls = await bot.press(COORDINATOR_ID, "Send")
    assert calls[0].method == "answerCallbackQuery"
    assert "Sent 0 of 3" in texts(calls)  # the preview became the progress message
    await wait_until_sent(bot)
    for family in FAMILIES:
        assert sends_to(bot, family, "Family night &lt;Thursday&gt; &amp; pizza") == 1
    assert sends_to(bot, COORDINATOR_ID, "Broadcast finished. Recipients: 3") == 1
    assert sends_to(bot, COORDINATOR_ID, "Delivered: 3") == 1


async def query_log_rows(bot: BotHarness) -> int:
    await bot.flush_query_log()
    async with sessions(bot)() as session:
        return int(await session.scalar(select(func.count()).select_from(QueryLog)) or 0)


async def test_broadcast_without_text_asks_for_it_and_the_next_message_is_the_announcement(
    bot: BotHarness,
) -> None:
    await subscribe_families(bot, *FAMILIES)
    calls = await bot.send(COORDINATOR_ID, "/broadcast")
    assert "Send the announcement as your next message" in texts(calls)
    assert "/cancel" in texts(calls)
    # A word a family search would answer: here it is the announcement, and nothing is logged.
    calls = await bot.send(
        COORDINATOR_ID,
        "Dentist van at school Friday",
        entities=[{"type": "bold", "offset": 0, "length": 11}],
    )
    preview = texts(calls)
    assert "Preview, for all schools. Subscribers who will get it: 3" in preview
    assert "<b>Dentist van</b> at school Friday" in preview  # the sender's bold is kept
    assert "Dental" not in preview and "Did this help" not in preview
    assert await query_log_rows(bot) == 0
    await bot.press(COORDINATOR_ID, "Send")
    await wait_until_sent(bot)
    assert sends_to(bot, FAMILIES[0], "<b>Dentist van</b> at school Friday") == 1
    # The conversation is over: the next message is a search again.
    calls = await bot.send(COORDINATOR_ID, "dentist")
    assert "Dental" in texts(calls)


async def test_broadcast_can_be_cancelled_midway_in_spanish(bot: BotHarness) -> None:
    calls = await bot.send(COORDINATOR_ID, "/broadcast", language="es")
    assert "envíe el anuncio" in texts(calls).lower()
    calls = await bot.send(COORDINATOR_ID, "/cancel", language="es")
    assert "No se envió nada" in texts(calls)
    async with sessions(bot)() as session:
        assert not await session.scalar(select(func.count()).select_from(Message))
    calls = await bot.send(COORDINATOR_ID, "dentista", language="es")
    assert "Preview" not in texts(calls) and "Vista previa" not in texts(calls)


async def test_broadcast_wizard_asks_again_for_text_or_a_shorter_one(bot: BotHarness) -> None:
    await bot.send(COORDINATOR_ID, "/broadcast")
    sticker = {"file_id": "s", "file_unique_id": "s", "width": 512, "height": 512}
    sticker |= {"is_animated": False, "is_video": False, "type": "regular"}
    calls = await bot.send(COORDINATOR_ID, "", sticker=sticker)
    assert "text only" in texts(calls)
    calls = await bot.send(COORDINATOR_ID, "x" * 3501)
    assert "too long" in texts(calls) and "shorter" in texts(calls)
    calls = await bot.send(COORDINATOR_ID, "Short and sweet")
    assert "Preview" in texts(calls)


async def test_a_family_cannot_start_the_broadcast_wizard(bot: BotHarness) -> None:
    calls = await bot.send(601, "/broadcast")
    assert "only coordinators can do that" in texts(calls)
    calls = await bot.send(601, "dentist")
    assert "Dental" in texts(calls)


async def test_a_family_pressing_a_forged_send_button_is_refused(bot: BotHarness) -> None:
    await subscribe_families(bot, *FAMILIES)
    calls = await bot.send(COORDINATOR_ID, "/broadcast Staff only test")
    data = callback_data(calls, "Send")
    calls = await bot.press_data(601, data)  # the family forges the coordinator's button
    assert calls[0].method == "answerCallbackQuery"
    assert "only coordinators can do that" in texts(calls)
    async with sessions(bot)() as session:
        assert not await session.scalar(select(func.count()).select_from(Delivery))
        kinds = list(await session.scalars(select(Message.kind)))
    assert kinds == [DRAFT]


async def test_a_coordinator_demoted_in_the_database_is_refused_at_once(bot: BotHarness) -> None:
    await subscribe_families(bot, *FAMILIES)
    invited = 9003  # a coordinator by invitation (COORDINATOR_IDS always stay coordinators)
    async with sessions(bot)() as session, session.begin():
        session.add(Chat(id=invited, language="en", role=Role.COORDINATOR, subscribed=False))
    calls = await bot.send(invited, "/broadcast Hello")
    data = callback_data(calls, "Send")
    async with sessions(bot)() as session, session.begin():
        await session.execute(update(Chat).where(Chat.id == invited).values(role=Role.FAMILY))
    calls = await bot.press_data(invited, data)  # the handlers' cache still says coordinator
    assert "only coordinators can do that" in texts(calls)
    async with sessions(bot)() as session:
        assert not await session.scalar(select(func.count()).select_from(Delivery))


async def test_another_coordinators_draft_cannot_be_sent(bot: BotHarness) -> None:
    await subscribe_families(bot, *FAMILIES)
    calls = await bot.send(COORDINATOR_ID, "/broadcast Mine")
    data = callback_data(calls, "Send")
    async with sessions(bot)() as session, session.begin():
        session.add(Chat(id=9002, language="en", role=Role.COORDINATOR, subscribed=False))
    calls = await bot.press_data(9002, data)
    assert "already sent or cancelled" in texts(calls)
    async with sessions(bot)() as session:
        assert not await session.scalar(select(func.count()).select_from(Delivery))


async def test_pressing_send_twice_sends_once(bot: BotHarness) -> None:
    await subscribe_families(bot, *FAMILIES)
    calls = await bot.send(COORDINATOR_ID, "/broadcast Once only")
    data = callback_data(calls, "Send")
    await bot.press_data(COORDINATOR_ID, data)
    calls = await bot.press_data(COORDINATOR_ID, data)
    assert "already sent or cancelled" in texts(calls)
    await wait_until_sent(bot)
    for family in FAMILIES:
        assert sends_to(bot, family, "Once only") == 1


async def test_cancel_discards_the_draft(bot: BotHarness) -> None:
    await subscribe_families(bot, *FAMILIES)
    await bot.send(COORDINATOR_ID, "/broadcast Never mind")
    calls = await bot.press(COORDINATOR_ID, "Cancel")
    assert "Nothing was sent" in texts(calls)
    async with sessions(bot)() as session:
        assert not await session.scalar(select(func.count()).select_from(Message))


async def test_a_broadcast_can_target_one_school(bot: BotHarness) -> None:
    await subscribe_families(bot, *FAMILIES)
    await bot.press(601, "Lincoln Elementary")
    await bot.press(602, "Roosevelt Middle")
    # 603 hears from all schools.
    await bot.send(COORDINATOR_ID, "/broadcast Lincoln picture day")
    calls = await bot.press(COORDINATOR_ID, "All schools")  # already so: nothing to edit
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    calls = await bot.press(COORDINATOR_ID, "Lincoln Elementary")
    assert (
        "Preview, for Lincoln Elementary Community School. Subscribers who will get it: 2"
    ) in texts(calls)
    await bot.press(COORDINATOR_ID, "Send")
    await wait_until_sent(bot)
    assert sends_to(bot, 601, "Lincoln picture day") == 1
    assert sends_to(bot, 602, "Lincoln picture day") == 0
    assert sends_to(bot, 603, "Lincoln picture day") == 1
    async with sessions(bot)() as session:
        message = await session.scalar(select(Message).where(Message.kind == BROADCAST))
    assert message is not None and message.school_id == LINCOLN


async def test_nobody_subscribed_sends_nothing(bot: BotHarness) -> None:
    calls = await bot.send(COORDINATOR_ID, "/broadcast Anyone there?")
    assert "Subscribers who will get it: 0" in texts(calls)
    calls = await bot.press(COORDINATOR_ID, "Send")
    assert "Nobody is subscribed there yet" in texts(calls)
    async with sessions(bot)() as session:
        assert not await session.scalar(select(func.count()).select_from(Delivery))
