"""End to end, as a coordinator and partners would do it: `python -m bot run` as its own process
against the loopback Bot API, with VERIFY_EVERY=20s.

A coordinator makes a partner code in the chat (`/invite partner food bank`), another comes
from the command line (`partner invite`); partners `/join` with them, in English and Spanish.
Each of their organization's services arrives as "Is this still right?" with the card; one
partner confirms one service and changes the phone of another; the card and
`report stale --json` reflect it, and the confirmed service is asked again VERIFY_EVERY later.
Families' searches and needs-survey answers rank needs in `report assets --json`.

Only arrival is asserted, with generous timeouts, never timings.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.pool import NullPool

from botapi import Call, FakeBotApi
from harness import BotProcess, running_bot
from knowledge.db import create_engine, create_sessionmaker
from knowledge.models import Chat
from knowledge.surveys import NEEDS_SURVEY, available_surveys

COORDINATOR = 896_001
PARTNER_EN, PARTNER_ES, FAMILY, FAMILY_ES, FAMILY_SURVEY = (
    896_101,
    896_102,
    896_201,
    896_202,
    896_203,
)
REPLY_SECONDS = 20
QUESTION_SECONDS = 90  # VERIFY_EVERY is 20 s; a loaded machine
FOOD_BANK_SERVICES = 5  # the demo food bank's active services
CODE = re.compile(r"/join ([A-Z0-9]{5}-[A-Z0-9]{5})")


@pytest.fixture(params=["sqlite", "postgresql"])
def bot(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BotProcess]:
    yield from running_bot(
        request.param,
        tmp_path,
        {
            "COORDINATOR_IDS": str(COORDINATOR),
            "VERIFY_EVERY": "20s",
            "REMINDER_CHECK_SECONDS": "1",
        },
    )


def said(call: Call) -> str:
    return str(call.text or call.caption or "")


def sent(
    api: FakeBotApi, chat_id: int, needle: str, after: int, timeout: float = REPLY_SECONDS
) -> Call:
    return api.wait_for(
        lambda c: (
            c.ok
            and c.chat_id == chat_id
            and c.method in ("sendMessage", "editMessageText", "sendPhoto")
            and needle in said(c)
        ),
        timeout=timeout,
        after_index=after,
    )


def say(api: FakeBotApi, chat_id: int, text: str, needle: str, language: str = "en") -> str:
    mark = api.mark()
    api.push_message(chat_id, text, language_code=language)
    return said(sent(api, chat_id, needle, mark))


def question_about(api: FakeBotApi, chat_id: int, service: str, after: int) -> Call:
    """The "Is this still right?" message about `service` (its card has the name in bold)."""
    return api.wait_for(
        lambda c: (
            c.ok
            and c.chat_id == chat_id
            and c.method == "sendMessage"
            and any(str(b.get("callback_data", "")).startswith("pv:") for b in c.buttons)
            and f"<b>{service}</b>" in said(c)
        ),
        timeout=QUESTION_SECONDS,
        after_index=after,
    )


def answer(api: FakeBotApi, chat_id: int, question: Call, code: str) -> None:
    data = next(
        str(b["callback_data"])
        for b in question.buttons
        if str(b.get("callback_data", "")).endswith(f":{code}")
    )
    assert question.message_id is not None
    update_id = api.push_callback(chat_id, question.message_id, data)
    api.wait_for_callback_answer(update_id, timeout=REPLY_SECONDS)


def questions_to(api: FakeBotApi, chat_id: int, after: int = 0) -> list[Call]:
    return [
        c
        for c in api.calls[after:]
        if c.ok
        and c.chat_id == chat_id
        and c.method == "sendMessage"
        and any(str(b.get("callback_data", "")).startswith("pv:") for b in c.buttons)
    ]


def subscribe(url: str, *chats: tuple[int, str]) -> None:
    """Families already subscribed, as if they had sent /subscribe (the survey's audience)."""

    async def work(session):  # type: ignore[no-untyped-def]
        for chat_id, language in chats:
            chat = await session.get(Chat, chat_id)
            if chat is None:
                session.add(Chat(id=chat_id, language=language, subscribed=True))
            else:
                chat.subscribed = True

    engine = create_engine(url, poolclass=NullPool)

    async def run() -> None:
        try:
            async with create_sessionmaker(engine)() as session, session.begin():
                await work(session)
        finally:
            await engine.dispose()

    asyncio.run(run())


def answer_needing_rent_help(api: FakeBotApi, chat_id: int, after: int) -> None:
    """Start the survey, tick "Help paying rent or bills", skip every other question."""
    survey = available_surveys()[NEEDS_SURVEY]
    first = api.wait_for(
        lambda c: (
            c.ok
            and c.chat_id == chat_id
            and any(str(b.get("callback_data", "")).startswith("sq:") for b in c.buttons)
        ),
        timeout=QUESTION_SECONDS,
        after_index=after,
    )
    run_id = next(
        str(b["callback_data"]).split(":")[1]
        for b in first.buttons
        if str(b.get("callback_data", "")).startswith("sq:")
    )
    assert first.message_id is not None

    def tap(data: str, expect: str) -> None:
        mark = api.mark()
        update_id = api.push_callback(chat_id, first.message_id, data)  # type: ignore[arg-type]
        api.wait_for_callback_answer(update_id, timeout=REPLY_SECONDS)
        sent(api, chat_id, expect, mark)

    def at(position: int) -> str:
        return (
            f"· {position + 1}/{len(survey.questions)}"
            if position < len(survey.questions)
            else "🙏"
        )

    tap(f"sq:{run_id}:0:b", at(0))
    for position, question in enumerate(survey.questions):
        base = f"sq:{run_id}:{position}"
        if question.id == "housing":
            rent = next(i for i, o in enumerate(question.options) if o.id == "rent-bills")
            tap(f"{base}:o:{rent}", at(position))  # ticked
            tap(f"{base}:d", at(position + 1))
        else:
            tap(f"{base}:k", at(position + 1))


def test_partners_keep_their_listings_current(bot: BotProcess) -> None:
    api = bot.api

    # Families ask, in both languages: dentists more than food (the asset map ranks by this).
    for family, question in (
        (FAMILY, "dentist for my kid"),
        (FAMILY, "dentist"),
        (FAMILY_ES, "dentista para mi hijo"),
    ):
        mark = api.mark()
        api.push_message(family, question)
        api.wait_for_reply(family, after_index=mark, timeout=REPLY_SECONDS)
    mark = api.mark()
    api.push_message(FAMILY, "food pantry")
    api.wait_for_reply(FAMILY, after_index=mark, timeout=REPLY_SECONDS)

    # A stranger cannot make partner codes; a coordinator can, by the organization's name.
    assert "only coordinators" in say(api, FAMILY, "/invite partner food bank", "coordinators")
    invited = say(api, COORDINATOR, "/invite partner food bank", "/join")
    assert "Riverbend Community Food Bank" in invited
    code = CODE.search(invited)
    assert code is not None
    ambiguous = say(api, COORDINATOR, "/invite partner family", "org-")
    assert "<code>org-family-health</code>" in ambiguous
    assert "<code>org-youth-center</code>" in ambiguous
    assert "called “pizza”" in say(api, COORDINATOR, "/invite partner pizza", "pizza")

    # The food bank's partner joins; every service it offers arrives as a question.
    start = api.mark()
    welcome = say(api, PARTNER_EN, f"/join {code.group(1)}", "Welcome")
    assert "You keep the listings of Riverbend Community Food Bank current" in welcome
    assert "does not work" in say(api, FAMILY, f"/join {code.group(1)}", "code")  # once only
    pantry = question_about(api, PARTNER_EN, "Saturday Food Pantry", start)
    supper = question_about(api, PARTNER_EN, "Community Supper", start)
    assert "Is this still right?" in said(pantry)
    assert [b["text"] for b in pantry.buttons] == [
        "✅ Still right",
        "📞 Change phone",
        "🕘 Change hours",
        "📍 Change address",
        "🚫 No longer offered",
    ]
    api.wait_for(
        lambda c: len(questions_to(api, PARTNER_EN, start)) >= FOOD_BANK_SERVICES,
        timeout=QUESTION_SECONDS,
        after_index=start,
    )

    # [Still right] on one; a new phone for another.
    mark = api.mark()
    answer(api, PARTNER_EN, pantry, "ok")
    assert "marked as checked today" in said(sent(api, PARTNER_EN, "Thank you", mark))
    mark = api.mark()
    answer(api, PARTNER_EN, supper, "phone")
    sent(api, PARTNER_EN, "Type the right phone number", mark)
    assert "does not look like a phone" in say(api, PARTNER_EN, "call us", "phone")
    changed = say(api, PARTNER_EN, "515 555 0177", "Fixed")
    assert "(515) 555-0177" in changed

    # The families' card shows the new number and the confirmation.
    mark = api.mark()
    api.push_message(FAMILY, "community supper")
    api.wait_for_reply(FAMILY, after_index=mark, timeout=REPLY_SECONDS)
    mark = api.mark()
    update_id = api.press(FAMILY, "ℹ️ 1.", timeout=REPLY_SECONDS)
    api.wait_for_callback_answer(update_id, timeout=REPLY_SECONDS)
    card = said(sent(api, FAMILY, "☎", mark))
    assert "Community Supper" in card and "515-555-0177" in card
    mark = api.mark()
    api.push_message(FAMILY, "saturday food pantry")
    api.wait_for_reply(FAMILY, after_index=mark, timeout=REPLY_SECONDS)
    mark = api.mark()
    update_id = api.press(FAMILY, "ℹ️ 1.", timeout=REPLY_SECONDS)
    api.wait_for_callback_answer(update_id, timeout=REPLY_SECONDS)
    assert "Checked today" in said(sent(api, FAMILY, "Saturday Food Pantry", mark))

    # `report stale --json`: the confirmed one is gone; the changed one stays (a new phone is
    # not a confirmation of the rest), with its partner and the day it changed.
    stale = {row["service_id"]: row for row in json.loads(bot.cli("report", "stale", "--json"))}
    assert "svc-saturday-food-pantry" not in stale
    assert stale["svc-community-supper"]["partners"] == 1
    assert stale["svc-community-supper"]["last_changed"] is not None
    assert stale["svc-smiles-dental"]["partners"] == 0

    # VERIFY_EVERY later the confirmed listing is asked again.
    api.wait_for(
        lambda c: (
            c.ok
            and c.chat_id == PARTNER_EN
            and "<b>Saturday Food Pantry</b>" in said(c)
            and "Is this still right?" in said(c)
            and c.message_id != pantry.message_id
        ),
        timeout=QUESTION_SECONDS,
        after_index=start,
    )

    # A Spanish-speaking partner, with a code from the command line, is asked in Spanish.
    printed = bot.cli("partner", "invite", "org-family-health")
    code = CODE.search(printed)
    assert code is not None and "Riverbend Family Health Center" in printed
    start = api.mark()
    bienvenida = say(api, PARTNER_ES, f"/join {code.group(1)}", "bienvenida", language="es")
    assert "Riverbend Family Health Center" in bienvenida
    pregunta = api.wait_for(
        lambda c: (
            c.ok
            and c.chat_id == PARTNER_ES
            and "¿Sigue siendo correcto?" in said(c)
            and "<b>Smiles Dental Clinic</b>" in said(c)
        ),
        timeout=QUESTION_SECONDS,
        after_index=start,
    )
    mark = api.mark()
    answer(api, PARTNER_ES, pregunta, "ok")
    assert "revisado hoy" in said(sent(api, PARTNER_ES, "Gracias", mark))
    # The food bank's partner is not asked about the health center's services.
    assert not any("Smiles Dental" in said(c) for c in questions_to(api, PARTNER_EN))

    stale = {row["service_id"] for row in json.loads(bot.cli("report", "stale", "--json"))}
    assert "svc-smiles-dental" not in stale

    # Two families answer the needs survey (sent from the command line, through the outbox):
    # both need help with rent, which nobody searched for; everything else they skip.
    subscribe(bot.database_url, (FAMILY_SURVEY, "en"), (FAMILY_ES, "es"))
    mark = api.mark()
    bot.cli("survey", "send", NEEDS_SURVEY)
    for family in (FAMILY_SURVEY, FAMILY_ES):
        answer_needing_rent_help(api, family, mark)

    # The asset map ranks needs with the search and survey counts: dentists (3 searches,
    # 2 services), rent help (2 surveys, 3 services), then food (2 searches, 5 services).
    assets = json.loads(bot.cli("report", "assets", "--json"))
    needs = [row["need"] for row in assets]
    by_need = {row["need"]: row for row in assets}
    rent = by_need["rent-help"]
    assert (rent["searches"], rent["survey_answers"], rent["families_asked"]) == (0, 2, 2)
    assert needs.index("dental") < needs.index("rent-help") < needs.index("food-pantry")
    # "food pantry" and, looking for a card above, "saturday food pantry".
    assert by_need["dental"]["searches"] == 3 and by_need["food-pantry"]["searches"] == 2
    assert by_need["dental"]["families_asked"] == 3
    assert needs.index("dental") < needs.index("food-pantry")
    assert by_need["food-pantry"]["weekends"] is True  # the Saturday pantry
    assert "Lincoln Elementary Community School" in by_need["dental"]["nearest_by_school"]

    # /stats shows the asset map as pictures.
    mark = api.mark()
    api.push_message(COORDINATOR, "/stats")
    chart = sent(api, COORDINATOR, "most families asking per service", mark, timeout=60)
    assert chart.photo is not None and chart.photo.data.startswith(b"\x89PNG")
    sent(api, COORDINATOR, "Stars are schools", mark, timeout=60)
