"""End to end, as a coordinator and families would do it: `python -m bot run` as its own process
against the loopback Bot API, on SQLite and PostgreSQL.

The coordinator sends the built-in needs survey with /survey to 50 subscribers (half of them
read Spanish); 30 families answer every question, some writing an "other" answer, some
stopping with [Later] and going on after the bot restarted (with [Continue] or /survey);
10 answer two questions and stop; 10 never start. `report needs --json` then shows 40 started,
30 finished and, per question and option, the counts the families' choices add up to. A quick
poll goes out with /poll and its results reach the coordinator.

Only arrival and counts are asserted, with generous timeouts, never timings.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.pool import NullPool

from botapi import Call, FakeBotApi
from harness import BotProcess, running_bot
from knowledge.db import create_engine, create_sessionmaker
from knowledge.models import Chat, SurveyProgress
from knowledge.surveys import NEEDS_SURVEY, available_surveys

COORDINATOR = 896_001
FAMILIES = list(range(896_101, 896_151))  # 50 subscribers
FINISHING = FAMILIES[:30]
PAUSING = set(FINISHING[:6])  # stop at question 6, go on after a restart
WRITING_OTHER = set(FINISHING[::7])  # "other" for the language question
STOPPING = FAMILIES[30:40]  # two answers, then nothing
REPLY_SECONDS = 30
# A person taps no faster than this; the bot mutes a chat that sends more than 20 updates in
# 10 seconds (bot/updates.py), so the test's families keep a human pace. Input, not a timing.
HUMAN_PAUSE = 0.6
SURVEY = available_surveys()[NEEDS_SURVEY]
QUESTIONS = len(SURVEY.questions)


def spanish(chat_id: int) -> bool:
    return chat_id % 2 == 0


def pick(chat_id: int, question: int) -> int:
    """The option a family chooses: a fixed rule, so the test knows the counts."""
    return (chat_id + question) % len(SURVEY.questions[question].options)


@pytest.fixture(params=["sqlite", "postgresql"])
def bot(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BotProcess]:
    yield from running_bot(
        request.param,
        tmp_path,
        {"COORDINATOR_IDS": str(COORDINATOR)},
    )


async def _database(url: str, work):  # type: ignore[no-untyped-def]
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


def seed_subscribers(url: str) -> None:
    async def work(session):  # type: ignore[no-untyped-def]
        for chat_id in FAMILIES:
            language = "es" if spanish(chat_id) else "en"
            session.add(Chat(id=chat_id, language=language, subscribed=True))

    asyncio.run(_database(url, work))


def progress_rows(url: str) -> int:
    async def work(session):  # type: ignore[no-untyped-def]
        return await session.scalar(select(func.count()).select_from(SurveyProgress))

    return int(asyncio.run(_database(url, work)))


def said(call: Call) -> str:
    return str(call.text or call.caption or "")


def sent(api: FakeBotApi, chat_id: int, needle: str, after: int) -> Call:
    return api.wait_for(
        lambda c: (
            c.ok
            and c.chat_id is not None
            and int(c.chat_id) == chat_id
            and c.method in ("sendMessage", "editMessageText")
            and needle in said(c)
        ),
        timeout=REPLY_SECONDS,
        after_index=after,
    )


def press(api: FakeBotApi, chat_id: int, label: str) -> None:
    update_id = api.press(chat_id, label, timeout=REPLY_SECONDS)
    api.wait_for_callback_answer(update_id, timeout=REPLY_SECONDS)


@dataclass
class Family:
    """One family answering in its chat: the message the survey lives in, and where it is."""

    api: FakeBotApi
    chat_id: int
    run_id: int
    message_id: int
    position: int = 0

    def tap(self, data: str, expect: str) -> Call:
        time.sleep(HUMAN_PAUSE)
        mark = self.api.mark()
        update_id = self.api.push_callback(self.chat_id, self.message_id, data)
        self.api.wait_for_callback_answer(update_id, timeout=REPLY_SECONDS)
        return sent(self.api, self.chat_id, expect, mark)

    def at(self, position: int) -> str:
        return f"· {position + 1}/{QUESTIONS}" if position < QUESTIONS else "🙏"

    def start(self) -> None:
        shown = self.tap(f"sq:{self.run_id}:0:b", self.at(0))
        question = "¿Cuántas personas" if spanish(self.chat_id) else "How many people"
        assert question in said(shown)

    def answer(self, until: int = QUESTIONS) -> None:
        while self.position < until:
            k = self.position
            base = f"sq:{self.run_id}:{k}"
            if SURVEY.questions[k].id == "language" and self.chat_id in WRITING_OTHER:
                self.tap(f"{base}:t", "✏️")
                mark = self.api.mark()
                language = "es" if spanish(self.chat_id) else "en"
                self.api.push_message(self.chat_id, "Mixteco", language_code=language)
                shown = sent(self.api, self.chat_id, self.at(k + 1), mark)
                assert shown.message_id is not None and shown.method == "sendMessage"
                self.message_id = shown.message_id  # the next question came as a new message
            elif SURVEY.questions[k].kind == "multiple":
                self.tap(f"{base}:o:{pick(self.chat_id, k)}", self.at(k))  # ticked
                self.tap(f"{base}:d", self.at(k + 1))
            else:
                self.tap(f"{base}:o:{pick(self.chat_id, k)}", self.at(k + 1))
            self.position += 1

    def pause(self) -> None:
        words = "guardadas" if spanish(self.chat_id) else "saved"
        self.tap(f"sq:{self.run_id}:{self.position}:p", words)

    def resume_with_survey_command(self) -> None:
        mark = self.api.mark()
        language = "es" if spanish(self.chat_id) else "en"
        self.api.push_message(self.chat_id, "/survey", language_code=language)
        shown = sent(self.api, self.chat_id, self.at(self.position), mark)
        assert shown.message_id is not None
        self.message_id = shown.message_id


def test_the_needs_survey_end_to_end(bot: BotProcess) -> None:
    api = bot.api
    seed_subscribers(bot.database_url)

    # The coordinator picks the needs survey, sees the audience, sends it.
    mark = api.mark()
    api.push_message(COORDINATOR, "/survey")
    sent(api, COORDINATOR, "Which survey", mark)
    press(api, COORDINATOR, "Family survey")
    sent(api, COORDINATOR, "Subscribers who will get it: 50", mark)
    press(api, COORDINATOR, "Send")
    sent(api, COORDINATOR, "Sent to 50 families", mark)

    invitations: dict[int, Call] = {}
    for chat_id in FAMILIES:
        title = "Encuesta para familias" if spanish(chat_id) else "Family survey"
        invitations[chat_id] = sent(api, chat_id, title, mark)
    for call in invitations.values():
        assert all(len(b["callback_data"].encode()) <= 64 for b in call.buttons)
    start_data = invitations[FAMILIES[0]].buttons[0]["callback_data"]
    run_id = int(start_data.split(":")[1])

    def family(chat_id: int) -> Family:
        message_id = invitations[chat_id].message_id
        assert message_id is not None
        return Family(api, chat_id, run_id, message_id)

    families = {chat_id: family(chat_id) for chat_id in FINISHING + STOPPING}

    def first_part(chat_id: int) -> None:
        one = families[chat_id]
        one.start()
        if chat_id in STOPPING:
            one.answer(until=2)
        elif chat_id in PAUSING:
            one.answer(until=5)
            one.pause()
        else:
            one.answer()

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(first_part, FINISHING + STOPPING))

    # A restart while some are paused: their progress is in the database.
    assert progress_rows(bot.database_url) == len(PAUSING) + len(STOPPING)
    bot.stop()
    bot.start()

    def go_on(chat_id: int) -> None:
        one = families[chat_id]
        if sorted(PAUSING).index(chat_id) % 2:
            one.resume_with_survey_command()
        else:
            word = "Continuar" if spanish(chat_id) else "Continue"
            mark = api.mark()
            press(api, chat_id, word)
            sent(api, chat_id, one.at(one.position), mark)
        one.answer()

    with ThreadPoolExecutor(max_workers=len(PAUSING)) as pool:
        list(pool.map(go_on, sorted(PAUSING)))
    assert progress_rows(bot.database_url) == len(STOPPING)  # finished ones name no chat

    # The report: started, finished, and per question and option what the choices add up to.
    rows = json.loads(bot.cli("report", "needs", NEEDS_SURVEY, "--json"))
    by_key = {(r["question"], r["option"]): r for r in rows}
    assert by_key[("", "started")]["count"] == 40
    assert by_key[("", "finished")]["count"] == 30
    assert by_key[("", "finished")]["share"] == 0.75
    for k, question in enumerate(SURVEY.questions):
        expected: Counter[str] = Counter()
        for chat_id in FINISHING:
            if question.id == "language" and chat_id in WRITING_OTHER:
                expected["other"] += 1
            else:
                expected[question.options[pick(chat_id, k)].id] += 1
        for option in question.options:
            row = by_key[(question.id, option.id)]
            assert row["count"] == expected[option.id], (question.id, option.id)
            assert row["share"] == round(expected[option.id] / 30, 4)
            assert row["label"] == option.en
        assert by_key[(question.id, "skip")]["count"] == 0
        if question.other:
            assert by_key[(question.id, "other")]["count"] == expected["other"]
    assert not any(str(chat_id) in json.dumps(rows) for chat_id in FAMILIES)
    csv_text = bot.cli("report", "needs", "--csv")
    assert csv_text.startswith("survey,question,option,label,count,share")

    # A quick poll; the results reach the coordinator.
    mark = api.mark()
    api.push_message(COORDINATOR, "/poll Which evening suits family math night?\nTuesday\nThursday")
    sent(api, COORDINATOR, "Subscribers who will get it: 50", mark)
    press(api, COORDINATOR, "Send")
    sent(api, COORDINATOR, "Sent to 50 families", mark)
    for chat_id in FAMILIES[:4]:
        sent(api, chat_id, "family math night", mark)
        press(api, chat_id, "Thursday")
    sent(api, FAMILIES[0], "🙏", mark)
    mark = api.mark()
    press(api, COORDINATOR, "Results")
    results = said(sent(api, COORDINATOR, "Families who started: 4. Finished: 4.", mark))
    assert "Thursday: 4 (100%)" in results
    assert not [c for c in api.errors if c.method != "getUpdates"], bot.output()
