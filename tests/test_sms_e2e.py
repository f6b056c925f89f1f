"""End to end by text message: `python -m bot run` as its own process, Twilio played by the
loopback fake (tests/twilioapi), on SQLite and PostgreSQL.

- SMS only (no Telegram token): a family texts a question in English and in Spanish, gets
  short numbered cards, replies a number (after a restart too) and gets the details with the
  phone and a map link; unsigned or forged posts get 403; a MessageSid posted twice is answered
  once; HELP says who the bot is and how to stop; every text is within three segments.
- Telegram and SMS together: numbers JOIN; one says STOP (one confirmation, then nothing);
  a coordinator broadcasts on Telegram and each subscribed number gets it once by SMS (a
  number Twilio reports opted out is dropped, not retried), the report counts both channels;
  an event's announcement (date, time, place, .ics link) and reminder reach an SMS
  subscriber, who answers YES; FORGET removes the number.

Arrival and counts are asserted with generous timeouts; timings never are.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from botapi import FakeBotApi
from harness import StoppableProcess
from knowledge.db import create_engine, create_sessionmaker
from knowledge.models import Chat, SmsNumber, utcnow
from twilioapi import FakeTwilio, is_gsm7, segments

COORDINATOR = 770_001
FAMILY_EN = "+15551230001"
FAMILY_ES = "+15551230002"
SUBSCRIBER = "+15551230003"
QUITTER = "+15551230004"
GONE = "+15551230005"  # opted out at Twilio's end without the bot hearing of it
STARTUP_SECONDS = 90
REPLY_SECONDS = 30
TEXT = "Family night is Thursday at 6 pm"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class SmsBot(StoppableProcess):
    """`python -m bot run` with Twilio set (and Telegram when `api` is given)."""

    twilio: FakeTwilio
    database_url: str
    folder: Path
    api: FakeBotApi | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    def start(self) -> None:
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("WEBHOOK_", "HEALTH_", "TELEGRAM_", "TWILIO_", "SMS_"))
            },
            **self.twilio.env(),
            **(self.api.env() if self.api else {}),
            "DATABASE_URL": self.database_url,
            "COORDINATOR_IDS": str(COORDINATOR),
            "SMS_WEBHOOK_URL": self.webhook,
            "SMS_PORT": str(self.port),
            "SMS_RATE_PER_SECOND": "10",
            "WEBHOOK_LISTEN": "127.0.0.1",
            "QUIET_HOURS": "off",  # the tests must not depend on the hour they run at
            "REMINDER_CHECK_SECONDS": "2",
            "PYTHONUNBUFFERED": "1",
        }
        log = self.folder / f"sms-bot-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "-v", "run"],
                env=env,
                cwd=self.folder,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the bot exited:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"{self.webhook[:-4]}/healthz", timeout=1) as r:  # noqa: S310
                    if r.status == 200 and (self.api is None or self._polling()):
                        return
            except OSError:
                pass
            time.sleep(0.2)
        pytest.fail(f"the bot did not come up:\n{self.output()}")

    def _polling(self) -> bool:
        assert self.api is not None
        try:
            self.api.wait_until_polling(timeout=1)
            return True
        except TimeoutError:
            return False

    def text(self, number: str, body: str, **kwargs: object) -> int:
        return self.twilio.text(self.webhook, number, body, **kwargs)  # type: ignore[arg-type]

    def ask(self, number: str, body: str, contains: str = "") -> str:
        """Text the bot and return its (first) answer."""
        before = len(self.twilio.sent_to(number))
        assert self.text(number, body) == 200
        try:
            return self.twilio.wait_for_text(number, before, contains, REPLY_SECONDS).body
        except TimeoutError:
            pytest.fail(f"no answer to {body!r} containing {contains!r}:\n{self.output()}")


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
async def bots() -> AsyncIterator[list[SmsBot]]:
    started: list[SmsBot] = []
    yield started
    for bot in started:
        await asyncio.to_thread(bot.stop)


async def start(bot: SmsBot, bots: list[SmsBot]) -> SmsBot:
    bots.append(bot)
    await asyncio.to_thread(bot.start)
    return bot


def post_oversized(url: str) -> int:
    """A 1 MB post: refused (or the connection cut) before the bot reads it."""
    request = urllib.request.Request(url, data=b"Body=" + b"x" * 1_000_000)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return -1


def assert_within_three_segments(twilio: FakeTwilio) -> None:
    over = [(m.to, m.segments, m.body) for m in twilio.messages if m.segments > 3]
    assert not over, over


async def test_a_family_texts_questions_in_english_and_spanish(
    twilio: FakeTwilio, database_url: str, tmp_path: Path, bots: list[SmsBot]
) -> None:
    bot = await start(SmsBot(twilio, database_url, tmp_path), bots)

    # Only Twilio may post texts: unsigned, forged or for another URL, they get 403.
    assert await asyncio.to_thread(bot.text, FAMILY_EN, "food", signed=False) == 403
    forged = FakeTwilio(auth_token="not-the-real-token-0123456789abcd")
    assert await asyncio.to_thread(forged.text, bot.webhook, FAMILY_EN, "food") == 403
    assert await asyncio.to_thread(post_oversized, bot.webhook) != 200  # capped, never read
    assert not twilio.messages

    cards = await asyncio.to_thread(bot.ask, FAMILY_EN, "food pantry")
    assert "1. " in cards and "2. " in cards
    assert "Reply 1-3 for details, M for more, 0 for the menu." in cards
    assert re.search(r"\+1 515-555-\d{4}", cards)  # the phone is on the card

    # The numbers work after a restart: the choices are in the database.
    await asyncio.to_thread(bot.stop)
    await asyncio.to_thread(bot.start)
    details = await asyncio.to_thread(bot.ask, FAMILY_EN, "1")
    assert re.search(r"Call (Main: )?\+1 515-555-\d{4}", details)
    assert "https://maps.google.com/?q=" in details
    assert segments(details) <= 2  # a card within two segments
    more = await asyncio.to_thread(bot.ask, FAMILY_EN, "M")
    assert "4. " in more

    spanish = await asyncio.to_thread(bot.ask, FAMILY_ES, "necesito comida para mis hijos")
    assert "Responda" in spanish and "1. " in spanish
    detalles = await asyncio.to_thread(bot.ask, FAMILY_ES, "2")
    assert "Llame al" in detalles and "https://maps.google.com/?q=" in detalles

    # Twilio retries a webhook it thinks failed: the same MessageSid is answered once.
    before = len(twilio.sent_to(FAMILY_EN))
    assert await asyncio.to_thread(bot.text, FAMILY_EN, "dentist", sid="SM" + "d" * 32) == 200
    assert await asyncio.to_thread(bot.text, FAMILY_EN, "dentist", sid="SM" + "d" * 32) == 200
    await asyncio.to_thread(twilio.wait_for_text, FAMILY_EN, before, "Reply", REPLY_SECONDS)
    await asyncio.sleep(3)
    assert len(twilio.sent_to(FAMILY_EN)) == before + 1

    help_text = await asyncio.to_thread(bot.ask, FAMILY_EN, "help")
    assert "STOP" in help_text and "HELP" in help_text

    assert_within_three_segments(twilio)
    # GSM-7 where the text allows: no curly quote, dash or emoji turned a text into UCS-2.
    assert all(is_gsm7(m.body) for m in twilio.messages), [m.body for m in twilio.messages]
    assert not any(m.to not in (FAMILY_EN, FAMILY_ES) for m in twilio.messages)
    logs = bot.output()
    assert FAMILY_EN not in logs and FAMILY_ES not in logs  # numbers never in the log


async def numbers(database_url: str) -> dict[str, tuple[int, bool]]:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = (await session.execute(select(SmsNumber))).scalars().all()
            return {r.address: (r.id, r.opted_out) for r in rows}
    finally:
        await engine.dispose()


async def subscribed_numbers(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return int(
                await session.scalar(
                    select(func.count()).where(Chat.subscribed.is_(True), Chat.id >= 2**53)
                )
                or 0
            )
    finally:
        await engine.dispose()


def fetch(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
        return str(response.headers["Content-Type"]), response.read()


def add_event(bot: SmsBot, title: str, starts_in: timedelta, remind: str) -> None:
    starts = (utcnow() + starts_in).replace(microsecond=0).isoformat()
    env = {**os.environ, "DATABASE_URL": bot.database_url}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "event", "add", "--title", title, "--starts", starts]
        + ["--where", "Lincoln cafeteria", "--remind", remind, "--announce"],
        env=env,
        cwd=bot.folder,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()


async def test_broadcasts_events_and_stop_reach_numbers_through_the_outbox(
    twilio: FakeTwilio, database_url: str, tmp_path: Path, bots: list[SmsBot]
) -> None:
    api = FakeBotApi().start()
    try:
        bot = await start(SmsBot(twilio, database_url, tmp_path, api=api), bots)
        for number in (SUBSCRIBER, QUITTER, GONE):
            joined = await asyncio.to_thread(bot.ask, number, "JOIN")
            assert "announcements" in joined
        assert await subscribed_numbers(database_url) == 3

        # STOP: one confirmation, subscriptions end, and nothing more is sent.
        stopped = await asyncio.to_thread(bot.ask, QUITTER, "stop")
        assert "START" in stopped
        quitter_texts = len(twilio.sent_to(QUITTER))
        assert await asyncio.to_thread(bot.text, QUITTER, "food") == 200
        twilio.opt_out(GONE)  # Twilio refuses it with 21610 from now on

        # A coordinator on Telegram broadcasts; the numbers are subscribers like any chat.
        api.push_message(COORDINATOR, f"/broadcast {TEXT}")
        preview = await api.await_reply(COORDINATOR, timeout=REPLY_SECONDS)
        assert "Subscribers who will get it: 2" in str(preview.text), str(preview.text)
        update_id = await api.apress(COORDINATOR, "Send", timeout=REPLY_SECONDS)
        await asyncio.to_thread(api.wait_for_callback_answer, update_id, REPLY_SECONDS)
        report = await api.await_for(
            lambda c: c.ok and c.chat_id == COORDINATOR and "Broadcast finished" in str(c.text),
            timeout=120,
        )
        assert "Recipients: 2" in str(report.text), str(report.text)
        await asyncio.to_thread(twilio.wait_for_text, SUBSCRIBER, 0, TEXT, REPLY_SECONDS)
        await asyncio.sleep(3)
        assert sum(TEXT in m.body for m in twilio.sent_to(SUBSCRIBER)) == 1
        assert len(twilio.sent_to(QUITTER)) == quitter_texts
        assert (GONE, 21610) in twilio.refused
        assert sum(to == GONE and code == 21610 for to, code in twilio.refused) == 1
        assert (await numbers(database_url))[GONE][1] is True  # opted out: not tried again

        # An event: its announcement (date, time, place, .ics link), YES, then its reminder.
        before = len(twilio.sent_to(SUBSCRIBER))
        await asyncio.to_thread(add_event, bot, "Science Fair", timedelta(minutes=2), "1m")
        announcement = await asyncio.to_thread(
            twilio.wait_for_text, SUBSCRIBER, before, "Science Fair", 60
        )
        assert "Lincoln cafeteria" in announcement.body and " at " in announcement.body
        link = re.search(r"(http://127\.0\.0\.1:\d+/files/\S+\.ics)", announcement.body)
        assert link, announcement.body
        kind, content = await asyncio.to_thread(fetch, link.group(1))
        assert kind.startswith("text/calendar") and b"Science Fair" in content
        answer = await asyncio.to_thread(bot.ask, SUBSCRIBER, "yes")
        assert "See you there" in answer
        reminder = await asyncio.to_thread(
            twilio.wait_for_text, SUBSCRIBER, before, "Reminder", 120
        )
        assert "Science Fair" in reminder.body
        await asyncio.sleep(3)
        assert sum("Reminder" in m.body for m in twilio.sent_to(SUBSCRIBER)) == 1

        # FORGET, confirmed: the number itself is gone.
        asked = await asyncio.to_thread(bot.ask, SUBSCRIBER, "FORGET")
        assert "YES" in asked
        done = await asyncio.to_thread(bot.ask, SUBSCRIBER, "YES")
        assert "deleted everything" in done
        assert SUBSCRIBER not in await numbers(database_url)

        assert_within_three_segments(twilio)
        assert not [c for c in api.errors if c.method != "getUpdates"], bot.output()
        assert SUBSCRIBER not in bot.output()
    finally:
        api.stop()
