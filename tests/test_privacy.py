"""/forget leaves no row about the chat in any table; retention removes what has expired."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy import BigInteger, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.application import build_application, post_init, post_shutdown
from bot.config import load_settings
from bot.local_chat import LOCAL_TOKEN, InProcessBotApi
from bot.services import forget_idle_chat_state
from harness import BotHarness, texts
from jobs.retention import RETENTION_JOB, purge_expired
from knowledge.chats import forget_chat, get_chat
from knowledge.events import create_event
from knowledge.models import (
    Base,
    Delivery,
    DeliveryStatus,
    Handoff,
    HandoffCopy,
    Invitation,
    Message,
    QueryLog,
    Role,
    Rsvp,
    utcnow,
)
from knowledge.survey_answers import draft_run, press
from knowledge.surveys import poll_survey

CHAT = 4242424242  # distinctive, so a scan of every integer column can look for it


async def fill_everything_about(session: AsyncSession, chat_id: int) -> None:
    now = utcnow()
    chat = await get_chat(session, chat_id, "es")
    chat.role = Role.COORDINATOR
    event = await create_event(session, title="Noche", starts_at=now + timedelta(days=3))
    event.created_by = chat_id
    session.add(Rsvp(event_id=event.id, chat_id=chat_id, going=True))
    message = Message(kind="broadcast", text="hi", created_by=chat_id, progress_chat_id=chat_id)
    session.add(message)
    await session.flush()
    session.add(Delivery(message_id=message.id, chat_id=chat_id, status=DeliveryStatus.DELIVERED))
    handoff = Handoff(chat_id=chat_id, question="¿dónde?", language="es")
    session.add(handoff)
    await session.flush()
    session.add(HandoffCopy(coordinator_chat_id=chat_id, message_id=7, handoff_id=handoff.id))
    session.add(
        Invitation(
            code=f"code{chat_id}",
            role=Role.STAFF,
            created_by=chat_id,
            expires_at=now,
            used_by=chat_id,
        )
    )
    session.add(QueryLog(text="dentist", language="es", matched=True))
    # A survey this coordinator sent, and one the chat is halfway through.
    survey = await draft_run(session, poll_survey("¿Martes?", ["Sí", "No"]), created_by=chat_id)
    survey.status = "sent"
    await session.flush()
    await press(session, survey.id, chat_id, position=0, action="pause")
    await session.flush()


async def rows_mentioning(session: AsyncSession, value: int) -> list[str]:
    """Every (table.column) holding `value` in a chat-sized integer column, in every table."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, BigInteger):
                count = await session.scalar(
                    select(func.count()).select_from(table).where(column == value)
                )
                if count:
                    found.append(f"{table.name}.{column.name}")
    return found


async def test_forget_leaves_no_row_about_the_chat(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        await fill_everything_about(session, CHAT)
        await fill_everything_about(session, CHAT + 1)  # someone else, who stays
    async with session_factory() as session:
        assert len(await rows_mentioning(session, CHAT)) >= 8
    async with session_factory() as session, session.begin():
        await forget_chat(session, CHAT)
    async with session_factory() as session:
        assert await rows_mentioning(session, CHAT) == []
        assert len(await rows_mentioning(session, CHAT + 1)) >= 8


def test_columns_that_can_hold_a_chat_id_are_big_enough() -> None:
    # Telegram ids exceed 32 bits, and the scan above only looks at BigInteger columns.
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if "chat" in column.name or column.name in ("created_by", "used_by"):
                assert isinstance(column.type, BigInteger), f"{table.name}.{column.name}"


async def test_query_log_never_holds_a_chat_id() -> None:
    assert not any("chat" in column.name for column in QueryLog.__table__.columns)


async def test_retention_removes_only_what_expired(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    now = utcnow()
    async with session_factory() as session, session.begin():
        session.add(QueryLog(text="old", matched=False, created_at=now - timedelta(days=400)))
        session.add(QueryLog(text="new", matched=True, created_at=now - timedelta(days=2)))
        message = Message(kind="broadcast", text="x", created_at=now - timedelta(days=90))
        session.add(message)
        await session.flush()
        session.add(
            Delivery(
                message_id=message.id,
                chat_id=1,
                status=DeliveryStatus.DELIVERED,
                sent_at=now - timedelta(days=60),
            )
        )
        session.add(Delivery(message_id=message.id, chat_id=2, status=DeliveryStatus.PENDING))
    async with session_factory() as session, session.begin():
        removed = await purge_expired(session, now)
    assert removed["query_log"] == 1 and removed["delivery"] == 1 and removed["message"] == 0
    async with session_factory() as session:
        assert list(await session.scalars(select(QueryLog.text))) == ["new"]
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 1


async def test_the_bot_purges_when_it_starts_and_then_on_a_schedule(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Not just a function: the bot's APScheduler runs it, at start and every few hours."""
    async with session_factory() as session, session.begin():
        session.add(QueryLog(text="old", matched=False, created_at=utcnow() - timedelta(days=400)))
    settings = load_settings(database_url=database_url)
    application = build_application(settings, request=InProcessBotApi(), token=LOCAL_TOKEN)
    async with application:
        await post_init(application)
        try:
            job = application.bot_data["scheduler"].get_job(RETENTION_JOB)
            assert job is not None and job.trigger.interval <= timedelta(days=1)
            for _ in range(200):
                async with session_factory() as session:
                    if not await session.scalar(select(func.count()).select_from(QueryLog)):
                        return
                await asyncio.sleep(0.05)
            raise AssertionError("the bot did not purge the expired search log")
        finally:
            await post_shutdown(application)


async def test_idle_chats_in_memory_state_is_dropped(bot: BotHarness) -> None:
    await bot.send(CHAT, "/language")
    await bot.press(CHAT, "Español")
    await bot.send(CHAT + 1, "dentist")
    application = bot.application
    application.chat_data[CHAT]["seen"] = time.time() - 2 * 24 * 3600
    assert await forget_idle_chat_state(application, time.time()) == 1
    assert CHAT not in application.chat_data and CHAT + 1 in application.chat_data
    # What matters was in the database: the chat is still answered in Spanish.
    assert "Esto es lo que encontré" in texts(await bot.send(CHAT, "dentist"))
