"""`resource-finder event add | list | cancel` as a coordinator runs them (a real process, a real
database): nothing is announced by surprise, the past is refused, one school can be chosen, and
a cancellation reaches the families who were told."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from test_cli import FUTURE, cli

from bot.handlers.event_cards import ChatEventTexts
from jobs.reminders import ANNOUNCEMENT, CANCELLATION, announce_new_events
from knowledge.calendar import reminder_recipients
from knowledge.models import Chat, Delivery, DeliveryStatus, Event, Message, Role, utcnow

LATER = f"{FUTURE}-03-05T18:00"
CHICAGO = ZoneInfo("America/Chicago")


async def subscribe(
    sessions: async_sessionmaker[AsyncSession], *chats: tuple[int, str, str | None]
) -> None:
    async with sessions() as session, session.begin():
        for chat_id, language, school in chats:
            session.add(
                Chat(id=chat_id, language=language, role=Role.FAMILY, subscribed=True,
                     school_id=school)
            )  # fmt: skip


async def announced_to(sessions: async_sessionmaker[AsyncSession], kind: str) -> dict[int, str]:
    """chat id -> the text queued for it, for messages of this kind."""
    async with sessions() as session:
        rows = await session.execute(
            select(Delivery.chat_id, Message.text)
            .join(Message, Message.id == Delivery.message_id)
            .where(Message.kind == kind)
        )
        return {chat_id: text for chat_id, text in rows}


def add(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return cli(database_url, "event", "add", "--title", "Family Math Night", *args)


def in_a_terminal(database_url: str, answer: str, *args: str) -> tuple[int, str]:
    """Run `event add` with a terminal on stdin (a pseudo-terminal), answering its question."""
    env = {**os.environ, "DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": ""}
    env.pop("COORDINATOR_IDS", None)
    main, replica = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "event", "add", "--title", "Book fair", *args],
        stdin=replica,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    os.close(replica)
    os.write(main, answer.encode() + b"\n")
    output, _ = process.communicate(timeout=120)
    os.close(main)
    return process.returncode, output.decode()


async def test_announce_queues_it_for_the_subscribers_of_one_school_in_their_language(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cli(database_url, "chat", stdin="")  # the demo directory: three schools
    await subscribe(
        session_factory,
        (701, "en", None),
        (702, "es", "loc-lincoln-elementary"),
        (703, "en", "loc-roosevelt-middle"),
    )
    result = add(database_url, "--starts", LATER, "--school", "lincoln", "--announce")
    assert result.returncode == 0, result.stderr
    assert "for: Lincoln Elementary Community School" in result.stdout
    assert "announcing to 2 subscribed families" in result.stdout
    queued = await announced_to(session_factory, ANNOUNCEMENT)
    assert set(queued) == {701, 702}  # Roosevelt's family is not told
    assert "New event" in queued[701] and "¡Nuevo evento!" in queued[702]
    async with session_factory() as session:
        event = (await session.scalars(select(Event))).one()
    assert event.school_id == "loc-lincoln-elementary" and event.announce

    unknown = add(database_url, "--starts", LATER, "--school", "Atlantis", "--announce")
    assert unknown.returncode == 2
    assert "--school 'Atlantis' is not one school" in unknown.stderr
    assert "Riverbend High School (loc-riverbend-high)" in unknown.stderr


async def test_no_announce_stays_quiet_even_for_the_reminder_job(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await subscribe(session_factory, (711, "en", None))
    result = add(database_url, "--starts", LATER, "--no-announce")
    assert result.returncode == 0, result.stderr
    assert "not announced" in result.stdout
    async with session_factory() as session, session.begin():
        assert await announce_new_events(session, utcnow(), ChatEventTexts(CHICAGO), CHICAGO) == []
        event = (await session.scalars(select(Event))).one()
        assert await reminder_recipients(session, event) == []  # nobody said Going
    assert await announced_to(session_factory, ANNOUNCEMENT) == {}


def test_without_a_choice_it_refuses_outside_a_terminal(database_url: str) -> None:
    result = add(database_url, "--starts", LATER)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "resource-finder: say --announce to tell subscribed families now, or --no-announce "
        "(not asking: no terminal to answer in)"
    )


async def test_without_a_choice_it_asks_in_a_terminal(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await subscribe(session_factory, (721, "en", None))
    status, output = in_a_terminal(database_url, "n", "--starts", LATER)
    assert status == 0, output
    assert "Announce it now to 1 subscribed families? [y/N]" in output
    assert "not announced" in output
    status, output = in_a_terminal(database_url, "y", "--starts", LATER)
    assert status == 0, output
    assert "announcing to 1 subscribed families" in output
    assert set(await announced_to(session_factory, ANNOUNCEMENT)) == {721}


def test_the_past_is_refused_in_one_line(database_url: str) -> None:
    result = add(database_url, "--starts", "2020-01-01T18:00", "--announce")
    assert result.returncode == 2
    assert "--starts Wed 01 Jan 2020 18:00 CST is in the past" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    soon = (utcnow() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%MZ")
    result = add(database_url, "--starts", soon, "--remind", "1d,1h", "--announce")
    assert result.returncode == 2
    assert "--remind 1d: that reminder would be due" in result.stderr
    assert "already past" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    # The defaults (a day and an hour before) keep what is still ahead, and say so.
    result = add(database_url, "--starts", soon, "--no-announce")
    assert result.returncode == 0, result.stderr
    assert "no reminder 1d before: that time has passed" in result.stdout


async def test_list_and_cancel(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await subscribe(session_factory, (731, "en", None), (732, "es", None), (733, "en", None))
    assert add(database_url, "--starts", LATER, "--announce").returncode == 0
    assert add(database_url, "--starts", f"{FUTURE}-04-01T09:00", "--no-announce").returncode == 0
    listed = json.loads(cli(database_url, "event", "list", "--json").stdout)
    assert [(e["id"], e["announced"], e["reminders_pending"]) for e in listed] == [
        (1, True, 2),
        (2, False, 2),
    ]
    assert listed[0]["starts"] == f"{FUTURE}-03-05T18:00-06:00"
    text = cli(database_url, "event", "list").stdout
    assert "Family Math Night" in text and "announced" in text

    # The announcement reached 731 and 732; 733's was still waiting when it was cancelled.
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Delivery)
            .where(Delivery.chat_id.in_([731, 732]))
            .values(status=DeliveryStatus.DELIVERED)
        )
    result = cli(database_url, "event", "cancel", "1")
    assert result.returncode == 0, result.stderr
    assert "telling 2 families who heard about it" in result.stdout
    told = await announced_to(session_factory, CANCELLATION)
    assert set(told) == {731, 732}
    assert "cancelled" in told[731] and "se canceló" in told[732]
    again = cli(database_url, "event", "cancel", "1")
    assert again.returncode == 2 and "already cancelled" in again.stderr
    missing = cli(database_url, "event", "cancel", "99")
    assert missing.returncode == 2 and "there is no event 99" in missing.stderr
    assert [e["id"] for e in json.loads(cli(database_url, "event", "list", "--json").stdout)] == [2]
