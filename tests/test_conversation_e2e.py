"""End to end: `python -m bot run` as its own process against the loopback Bot API, on SQLite
and PostgreSQL: danger answered first, small talk, the language switching back, /ask across a
restart, and ask-a-person falling back to the school office, in English and Spanish.

The fake answers 400 for HTML Telegram would not parse, so every test also checks that the bot
made no such call.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from botapi import Call, FakeBotApi
from harness import StoppableProcess, reset_postgres

COORDINATOR = 881_001
OFFICE = "(515) 555-0100"
STARTUP_SECONDS = 90
REPLY_SECONDS = 20
WITH_COORDINATOR = {"COORDINATOR_IDS": str(COORDINATOR)}
NOBODY_BUT_THE_OFFICE = {"COORDINATOR_IDS": "", "SCHOOL_OFFICE_PHONE": OFFICE}


@dataclass
class ConversationBot(StoppableProcess):
    """The bot process on one backend: started with a configuration, restarted, or started
    afresh (an empty database) with another one."""

    api: FakeBotApi
    backend: str
    folder: Path
    process: subprocess.Popen[bytes] | None = None
    config: dict[str, str] | None = None
    databases: int = 0
    database_url: str = ""
    starting: bool = False  # the next wait also waits for the bot to come up
    logs: list[Path] = field(default_factory=list)

    def run_with(self, config: dict[str, str]) -> None:
        """Make sure the bot runs with `config`; another configuration starts on a new database."""
        if self.process is not None and self.process.poll() is None and self.config == config:
            return
        self.stop()
        if self.config != config:
            self._new_database()
        self.config = config
        self._start()

    def restart(self) -> None:
        """SIGTERM and start again on the same database: everything in memory is gone."""
        self.stop()
        self._start()

    def _new_database(self) -> None:
        self.databases += 1
        if self.backend == "postgresql":
            self.database_url = os.environ["TEST_DATABASE_URL"]
            asyncio.run(reset_postgres(self.database_url))
        else:
            self.database_url = f"sqlite:///{self.folder / f'bot-{self.databases}.db'}"

    def _start(self) -> None:
        assert self.config is not None
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "HEALTH_"))},
            **self.api.env(),
            "DATABASE_URL": self.database_url,
            "PYTHONUNBUFFERED": "1",
            **self.config,
        }
        self.starting = True
        log = self.folder / f"bot-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                env=env,
                cwd=self.folder,  # no stray .env file from the developer's checkout
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def errors_for(self, *chat_ids: int) -> list[Call]:
        return [c for c in self.api.errors if c.chat_id in chat_ids]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def bot(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConversationBot]:
    if request.param == "postgresql" and not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set")
    api = FakeBotApi().start()
    running = ConversationBot(api, request.param, tmp_path_factory.mktemp("conversation-e2e"))
    try:
        yield running
    finally:
        running.stop()
        api.stop()


def said(call: Call) -> str:
    return str(call.text or call.caption or "")


def wait_for_text(bot: ConversationBot, chat_id: int, needle: str, after: int) -> Call:
    """The first successful send in `chat_id` (from call `after` on) containing `needle`; the
    first wait after a start also waits for the bot to come up."""
    try:
        found = bot.api.wait_for(
            lambda c: (
                c.ok
                and c.chat_id == chat_id
                and c.method in ("sendMessage", "editMessageText")
                and needle in said(c)
            ),
            timeout=STARTUP_SECONDS if bot.starting else REPLY_SECONDS,
            after_index=after,
        )
        bot.starting = False
        return found
    except TimeoutError as error:
        raise AssertionError(f"{error}\n--- bot output ---\n{bot.output()}") from None


def sends_to(bot: ConversationBot, chat_id: int, after: int) -> list[str]:
    return [
        said(c)
        for c in bot.api.calls[after:]
        if c.ok and c.method == "sendMessage" and c.chat_id == chat_id
    ]


def test_danger_is_answered_first_in_both_languages(bot: ConversationBot) -> None:
    bot.run_with(WITH_COORDINATOR)
    chat, api = 881_101, bot.api

    mark = api.mark()
    api.push_message(chat, "my child is not breathing")
    wait_for_text(bot, chat, "Call 911 now", mark)

    mark = api.mark()
    api.push_message(chat, "I'm scared of my boyfriend")
    crisis = wait_for_text(bot, chat, "911", mark)
    assert "+1 800-799-7233" in said(crisis) and "Safe Harbor" in said(crisis)
    results = wait_for_text(bot, chat, "Here is what I found", mark)
    assert said(results).index("Hotline") < said(results).index("Court Advocacy")
    assert crisis.index < results.index  # the numbers come before any result

    mark = api.mark()
    api.push_message(chat + 1, "me quiero morir", language_code="en")
    crisis = wait_for_text(bot, chat + 1, "llame al 911", mark)
    assert "988" in said(crisis) and "Riverbend 24/7 Crisis Line" in said(crisis)
    wait_for_text(bot, chat + 1, "Esto es lo que encontré", mark)

    mark = api.mark()
    api.push_message(chat + 2, "mi esposo me pega", language_code="es")
    wait_for_text(bot, chat + 2, "violencia doméstica", mark)
    wait_for_text(bot, chat + 2, "Esto es lo que encontré", mark)

    mark = api.mark()
    api.push_message(chat + 3, "911")
    wait_for_text(bot, chat + 3, "Call 911 now", mark)
    api.push_message(chat + 3, "someone is following me")
    wait_for_text(bot, chat + 3, "go to a place with other people", mark)
    api.push_message(chat + 3, "hi")  # in order: once this is answered, so are the others
    wait_for_text(bot, chat + 3, "I help families", mark)
    for text in sends_to(bot, chat + 3, mark):
        assert "couldn't find" not in text
    assert not bot.errors_for(chat, chat + 1, chat + 2, chat + 3)


def test_small_talk_and_the_language_switching_back(bot: ConversationBot) -> None:
    bot.run_with(WITH_COORDINATOR)
    chat, api = 881_201, bot.api
    mark = api.mark()
    api.push_message(chat, "hi")
    greeting = wait_for_text(bot, chat, "I help families", mark)
    assert any("Food" in label for label in greeting.button_labels)
    api.push_message(chat, "thank you")
    wait_for_text(bot, chat, "You're welcome", mark)

    api.push_message(chat, "hola")
    hola = wait_for_text(bot, chat, "¡Hola!", mark)
    assert "I will answer in Spanish from now on" in said(hola)  # in the language being left
    assert any("Comida" in label for label in hola.button_labels)

    api.push_message(chat, "I need a dentist for my son")
    back = wait_for_text(bot, chat, "Here is what I found", mark)
    assert "Desde ahora le contesto en inglés" in said(back) and "Dental" in said(back)

    api.push_message(chat, "gracias")
    wait_for_text(bot, chat, "¡De nada!", mark)
    api.push_message(chat, "?")
    wait_for_text(bot, chat, "por ejemplo", mark)
    for text in sends_to(bot, chat, mark):
        assert "couldn't find" not in text and "No encontré" not in text
    assert not bot.errors_for(chat)


def test_a_question_for_a_person_survives_a_restart(bot: ConversationBot) -> None:
    bot.run_with(WITH_COORDINATOR)
    family, api = 881_301, bot.api
    mark = api.mark()
    api.push_message(family, "/ask")
    wait_for_text(bot, family, "Type your question", mark)
    api.push_message(family + 1, "/ask", language_code="es")
    wait_for_text(bot, family + 1, "Escriba su pregunta", mark)

    bot.restart()
    mark = api.mark()
    api.push_message(family, "Where can my kids get winter coats?")
    question = wait_for_text(bot, COORDINATOR, "winter coats", mark)
    assert "Question from a family (English)" in said(question)
    wait_for_text(bot, family, "school day", mark)
    api.push_message(family + 1, "¿Dónde consigo abrigos para mis hijos?", language_code="es")
    question = wait_for_text(bot, COORDINATOR, "abrigos", mark)
    assert "(Spanish)" in said(question)
    wait_for_text(bot, family + 1, "día escolar", mark)
    assert not any("Here is what I found" in t for t in sends_to(bot, family, mark))
    assert not bot.errors_for(family, family + 1, COORDINATOR)


def test_with_nobody_to_answer_ask_a_person_gives_the_office_number(
    bot: ConversationBot,
) -> None:
    bot.run_with(NOBODY_BUT_THE_OFFICE)
    family, api = 881_401, bot.api
    mark = api.mark()
    api.push_message(family, "/start")
    wait_for_text(bot, family, "I help families", mark)
    api.press(family, "Ask a person", timeout=REPLY_SECONDS)
    wait_for_text(bot, family, "Please call the school office: +1 515-555-0100", mark)

    api.push_message(family + 1, "/ask", language_code="es")
    wait_for_text(bot, family + 1, "oficina de la escuela: +1 515-555-0100", mark)
    api.push_message(family + 1, "necesito un dentista", language_code="es")
    wait_for_text(bot, family + 1, "Esto es lo que encontré", mark)  # not taken for a question
    assert not api.unanswered_callback_queries
    assert not bot.errors_for(family, family + 1)
