"""End to end: `python -m bot run` as its own process, talking to a loopback Bot API server.

One bot process per backend serves the whole module (each test uses its own chat ids). The
fake answers 400 for HTML Telegram would not parse, text over 4096 characters and callback
data over 64 bytes, so every test also checks that the bot made no such call.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.pool import NullPool

from botapi import Call, FakeBotApi
from harness import empty_database
from knowledge.db import create_engine
from knowledge.models import Chat

COORDINATOR = 880_001
STARTUP_SECONDS = 90
REPLY_SECONDS = 20


@dataclass
class RunningBot:
    api: FakeBotApi
    process: subprocess.Popen[bytes]
    database_url: str
    log: Path

    def errors_for(self, *chat_ids: int) -> list[Call]:
        return [c for c in self.api.errors if c.chat_id in chat_ids or c.chat_id is None]

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


async def _chat_exists(url: str, chat_id: int) -> bool:
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                Chat.__table__.select().where(Chat.__table__.c.id == chat_id)
            )
            return found.first() is not None
    finally:
        await engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def running_bot(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBot]:
    """The bot process on a fresh database of this backend, polling a FakeBotApi."""
    folder = tmp_path_factory.mktemp(f"e2e-{request.param}")
    url = empty_database(request.param, folder)
    api = FakeBotApi().start()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("WEBHOOK_URL", "WEBHOOK_SECRET")},
        **api.env(),
        "DATABASE_URL": url,
        "COORDINATOR_IDS": str(COORDINATOR),
        "PYTHONUNBUFFERED": "1",
    }
    log = folder / "bot.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=env,
            cwd=folder,  # no stray .env file from the developer's checkout
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    bot = RunningBot(api, process, url, log)
    try:
        try:
            api.wait_until_polling(timeout=STARTUP_SECONDS)
        except TimeoutError:
            pytest.fail(f"the bot did not start polling:\n{bot.output()}")
        yield bot
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        api.stop()


def reply_text(call: Call) -> str:
    return str(call.text or call.caption or "")


def wait_for_text(bot: RunningBot, chat_id: int, needle: str, after: int) -> Call:
    """The first successful send or edit in `chat_id` (from call `after` on) containing `needle`."""
    try:
        return bot.api.wait_for(
            lambda c: (
                c.ok
                and c.chat_id == chat_id
                and c.method in ("sendMessage", "editMessageText")
                and needle in reply_text(c)
            ),
            timeout=REPLY_SECONDS,
            after_index=after,
        )
    except TimeoutError as error:
        raise AssertionError(f"{error}\n--- bot output ---\n{bot.output()}") from None


def test_a_typo_still_finds_a_dentist(running_bot: RunningBot) -> None:
    chat, api = 880_101, running_bot.api
    mark = api.mark()
    api.push_message(chat, "dentst for my kid")
    card = wait_for_text(running_bot, chat, "Dental", mark)
    assert "Smiles Dental" in reply_text(card) or "Dental Van" in reply_text(card)
    assert all(len(b["callback_data"].encode()) <= 64 for b in card.buttons if "callback_data" in b)
    assert not running_bot.errors_for(chat)


def test_spanish_question_gets_a_food_answer(running_bot: RunningBot) -> None:
    chat, api = 880_102, running_bot.api
    mark = api.mark()
    api.push_message(chat, "necesito comida", language_code="es")
    reply = api.wait_for_reply(chat, after_index=mark, timeout=REPLY_SECONDS)
    said = reply_text(reply)
    assert "Despensa" in said or "Pantry" in said or "comida" in said.lower()
    assert not running_bot.errors_for(chat)


def test_a_reply_refused_with_429_waits_and_still_arrives(running_bot: RunningBot) -> None:
    """Telegram's flood control on a reply: the answer is late, not lost, and nobody is told
    that something went wrong. Also: a Spanish question from a phone set to English."""
    chat, api = 880_110, running_bot.api
    mark = api.mark()
    api.fail_next("sendMessage", 429, retry_after=1)
    api.push_message(chat, "necesito comida", language_code="en")
    reply = wait_for_text(running_bot, chat, "Esto es lo que encontré", mark)
    refused = [c for c in api.errors if c.chat_id == chat]
    assert [c.error_code for c in refused] == [429]
    assert reply.time - refused[0].time >= 0.9
    sent = [reply_text(c) for c in api.calls[mark:] if c.ok and c.method == "sendMessage"]
    assert not any("Sorry" in text or "⚠️" in text for text in sent)


def test_a_shared_location_asks_what_is_needed_then_lists_distances(
    running_bot: RunningBot,
) -> None:
    chat, api = 880_103, running_bot.api
    mark = api.mark()
    api.push_location(chat, 41.59, -93.62)
    wait_for_text(running_bot, chat, "What do you need near here?", mark)
    api.press(chat, "Food", timeout=REPLY_SECONDS)
    api.press(chat, "Food pantry", timeout=REPLY_SECONDS)
    reply = wait_for_text(running_bot, chat, "Here is what I found", mark)
    assert re.search(r"📍 \d+(\.\d+)? (mi|km|m)\b", reply_text(reply)), reply_text(reply)
    assert any(label in ("👍", "👎") for label in reply.button_labels)
    assert not running_bot.errors_for(chat)


def test_browsing_a_category_to_results(running_bot: RunningBot) -> None:
    chat, api = 880_104, running_bot.api
    mark = api.mark()
    api.push_message(chat, "/start")
    wait_for_text(running_bot, chat, "", mark)
    api.press(chat, "🍎 Food", timeout=REPLY_SECONDS)
    wait_for_text(running_bot, chat, "Food", mark)
    api.press(chat, "Food pantry", timeout=REPLY_SECONDS)
    results = wait_for_text(running_bot, chat, "Pantry", mark)
    assert any("Not what I need" in label for label in results.button_labels)
    assert not api.unanswered_callback_queries
    assert not running_bot.errors_for(chat)


def test_staff_gets_the_mou_document(running_bot: RunningBot) -> None:
    chat, api = 880_105, running_bot.api
    mark = api.mark()
    api.push_message(chat, "/materials mou")
    offer = wait_for_text(running_bot, chat, "Which format", mark)
    assert "MOU" in reply_text(offer)
    api.press(chat, "PDF", timeout=REPLY_SECONDS)
    sent = api.wait_for(
        lambda c: c.ok and c.method == "sendDocument" and c.chat_id == chat,
        timeout=REPLY_SECONDS,
        after_index=mark,
    )
    assert sent.document is not None
    assert sent.document.data.startswith(b"%PDF")
    assert sent.document.file_name == "partnership-mou-template.en.pdf"
    assert "MOU" in reply_text(sent)
    assert not running_bot.errors_for(chat)


def test_toolkit_opens_and_goes_back(running_bot: RunningBot) -> None:
    chat, api = 880_106, running_bot.api
    mark = api.mark()
    api.push_message(chat, "/toolkit")
    wait_for_text(running_bot, chat, "Best practices", mark)
    api.press(chat, "What is a community school", timeout=REPLY_SECONDS)
    wait_for_text(running_bot, chat, "deliberate team effort", mark)
    back_mark = api.mark()
    api.press(chat, "Back to the toolkit", timeout=REPLY_SECONDS)
    listing = wait_for_text(running_bot, chat, "Reports", back_mark)
    assert listing.method == "editMessageText"
    assert not running_bot.errors_for(chat)


def test_a_question_goes_to_a_coordinator_and_the_answer_comes_back(
    running_bot: RunningBot,
) -> None:
    family, api = 880_107, running_bot.api
    mark = api.mark()
    api.push_message(family, "/ask", first_name="Maria", username="maria_family")
    wait_for_text(running_bot, family, "Type your question", mark)
    api.push_message(family, "Where can my kids get winter coats?", first_name="Maria")
    question = wait_for_text(running_bot, COORDINATOR, "winter coats", mark)
    assert "Maria" not in reply_text(question) and str(family) not in reply_text(question)
    wait_for_text(running_bot, family, "school day", mark)

    assert question.message_id is not None
    answer_mark = api.mark()
    api.push_message(
        COORDINATOR,
        "The Family Closet at Lincoln has free coats on Tuesdays.",
        reply_to_message_id=question.message_id,
    )
    answer = wait_for_text(running_bot, family, "Family Closet", answer_mark)
    assert "Answer from the school" in reply_text(answer)
    wait_for_text(running_bot, COORDINATOR, "Sent to the family", answer_mark)
    assert not running_bot.errors_for(family, COORDINATOR)


def test_inline_query_answers_within_limits(running_bot: RunningBot) -> None:
    user, api = 880_108, running_bot.api
    mark = api.mark()
    api.push_inline_query(user, "dentist")
    answer = api.wait_for(
        lambda c: c.method == "answerInlineQuery", timeout=REPLY_SECONDS, after_index=mark
    )
    assert answer.ok, answer.description
    results = answer.params["results"]
    assert 1 <= len(results) <= 50 and "Dental" in results[0]["title"]


def test_forget_deletes_the_chat_row(running_bot: RunningBot) -> None:
    chat, api = 880_109, running_bot.api
    mark = api.mark()
    api.push_message(chat, "/subscribe")  # something worth remembering: now there is a row
    wait_for_text(running_bot, chat, "announcements", mark)
    assert asyncio.run(_chat_exists(running_bot.database_url, chat))
    api.push_message(chat, "/forget")
    wait_for_text(running_bot, chat, "cannot be undone", mark)
    update_id = api.press(chat, "Yes, delete", timeout=REPLY_SECONDS)
    api.wait_for_callback_answer(update_id, timeout=REPLY_SECONDS)
    wait_for_text(running_bot, chat, "I deleted everything", mark)
    assert not asyncio.run(_chat_exists(running_bot.database_url, chat))
    assert not running_bot.errors_for(chat)
