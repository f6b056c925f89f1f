"""Who may act: roles by user, not chat; only private chats; buttons checked; coordinators
from COORDINATOR_IDS at start, and invited ones that coordinators can list and remove."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update
from telegram.ext import CallbackQueryHandler, ContextTypes

from bot.local_chat import Call, callback_update, message_update
from harness import COORDINATOR_ID, BotHarness, bot_with_settings, buttons, texts
from knowledge.models import Chat, Role

FAMILY = 7401
INVITED = 7402
OUT_OF_DATE = "That button is out of date"


def answers(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method == "answerCallbackQuery"]


def sent(calls: list[Call]) -> list[Call]:
    return [c for c in calls if c.method not in ("answerCallbackQuery",)]


def to(calls: list[Call], chat_id: int) -> list[Call]:
    return [c for c in calls if c.params.get("chat_id") == chat_id]


async def test_forged_button_data_is_out_of_date_not_an_error(bot: BotHarness) -> None:
    huge = "9" * 30
    for data in (
        f"rsvp:{huge}:1",
        f"ev:{huge}",
        f"evi:{huge}",
        f"evm:{huge}:c",
        f"fb:{huge}:1",
        f"fu:{huge}:y",
        f"rv:{huge}:a",
        "rsvp:2147483648:1",  # one past an Integer column
        "ne:d:2026-13-45",
        "ne:t:9999",
    ):
        calls = await bot.press_data(FAMILY, data)
        [answer] = answers(calls)
        assert OUT_OF_DATE in str(answer.params.get("text")), data
        assert sent(calls) == [], data  # no apology, no alert to the coordinators


async def test_a_button_on_a_message_shared_inline_is_answered_kindly(bot: BotHarness) -> None:
    for data in ("m:svc-1", "rp:svc-1", "d:svc-1", "rsvp:1:1"):
        update = callback_update(FAMILY, {}, data)
        del update["callback_query"]["message"]
        update["callback_query"]["inline_message_id"] = "AAAA-inline"
        calls = await bot._feed(update)
        [answer] = answers(calls)
        assert OUT_OF_DATE in str(answer.params.get("text")), data
        assert sent(calls) == [], data


def group_message(text: str, user_id: int) -> dict[str, Any]:
    update = message_update(user_id, text)
    update["message"]["chat"] = {"id": -100777, "type": "supergroup", "title": "PTA"}
    return update


async def test_groups_hear_nothing_not_even_refusals(bot: BotHarness) -> None:
    for text in ("/start", "/broadcast hi", "/coordinators", "dentist", "/invite staff"):
        assert await bot._feed(group_message(text, COORDINATOR_ID)) == []
        assert await bot._feed(group_message(text, FAMILY)) == []
    group = {"message_id": 5, "date": 0, "chat": {"id": -100777, "type": "supergroup"}}
    calls = await bot._feed(callback_update(FAMILY, group, "cats"))
    assert [c.method for c in calls] == ["answerCallbackQuery"]  # the spinner stops, quietly
    assert not answers(calls)[0].params.get("text")


async def test_an_error_in_a_group_is_not_apologised_for_there(bot: BotHarness) -> None:
    async def explode(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        raise RuntimeError("boom")

    bot.application.add_handler(CallbackQueryHandler(explode, pattern="^boom"), group=-200)
    group = {"message_id": 5, "date": 0, "chat": {"id": -100777, "type": "supergroup"}}
    calls = await bot._feed(callback_update(FAMILY, group, "boom"))
    assert to(calls, -100777) == []


def business_update(text: str, user_id: int, chat_id: int) -> dict[str, Any]:
    update = message_update(chat_id, text)
    message = update.pop("message")
    message["from"]["id"] = user_id
    message["business_connection_id"] = "biz-1"
    return {**update, "business_message": message}


async def test_business_updates_cannot_act_as_the_coordinator(bot: BotHarness) -> None:
    for text in ("/broadcast come now", "/invite coordinator", "/coordinators", "/stats"):
        # The coordinator's business account, talking with a customer; and the reverse.
        assert await bot._feed(business_update(text, COORDINATOR_ID, FAMILY)) == []
        assert await bot._feed(business_update(text, FAMILY, COORDINATOR_ID)) == []


async def test_error_alerts_are_one_per_type_of_error(bot: BotHarness) -> None:
    async def explode(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        raise LookupError("forged")

    bot.application.add_handler(CallbackQueryHandler(explode, pattern="^boom"), group=-200)
    alerts = 0
    for n in range(5):  # five different data, one type of error
        calls = await bot.press_data(FAMILY, f"boom:{n}")
        alerts += len(to(calls, COORDINATOR_ID))
    assert alerts == 1


async def invite_coordinator(bot: BotHarness, chat_id: int) -> None:
    calls = await bot.send(COORDINATOR_ID, "/invite coordinator")
    code = texts(calls).split("/join ")[-1].split("<")[0].strip()
    assert "You are a coordinator now" in texts(await bot.send(chat_id, f"/join {code}"))


async def role(database_url: str, chat_id: int) -> Role | None:
    from knowledge.db import create_engine, create_sessionmaker

    engine = create_engine(database_url)
    try:
        sessions: async_sessionmaker[AsyncSession] = create_sessionmaker(engine)
        async with sessions() as session:
            row = await session.get(Chat, chat_id)
        return None if row is None else Role(row.role)
    finally:
        await engine.dispose()


async def test_coordinator_ids_are_the_truth_at_start(database_url: str) -> None:
    async with bot_with_settings(database_url, coordinator_ids=f"{COORDINATOR_ID},7403") as bot:
        await bot.send(7403, "/subscribe")  # a row is made for both
        await bot.send(COORDINATOR_ID, "/subscribe")
        await invite_coordinator(bot, INVITED)
    assert await role(database_url, 7403) == Role.COORDINATOR
    async with bot_with_settings(database_url, coordinator_ids=str(COORDINATOR_ID)) as bot:
        assert "only coordinators" in texts(await bot.send(7403, "/broadcast hi"))
        assert "Preview" in texts(await bot.send(INVITED, "/broadcast hi"))  # invited: kept
    assert await role(database_url, 7403) == Role.FAMILY
    assert await role(database_url, INVITED) == Role.COORDINATOR


async def test_coordinators_list_and_remove_invited_ones(bot: BotHarness) -> None:
    await invite_coordinator(bot, INVITED)
    assert "Preview" in texts(await bot.send(INVITED, "/broadcast hi"))
    listing = await bot.send(COORDINATOR_ID, "/coordinators")
    assert f"chat {COORDINATOR_ID} (COORDINATOR_IDS)" in texts(listing)
    assert f"chat {INVITED} (invited)" in texts(listing)
    [(label, data)] = buttons(listing[-1])  # COORDINATOR_IDS ones cannot be removed here
    assert str(INVITED) in label

    assert "only coordinators" in texts(await bot.press_data(FAMILY, data))
    assert "only coordinators" in texts(await bot.send(FAMILY, "/coordinators"))
    calls = await bot.press_data(COORDINATOR_ID, data)
    assert "is not a coordinator any more" in texts(calls)
    assert "only coordinators" in texts(await bot.send(INVITED, "/broadcast hi"))
    again = await bot.press_data(COORDINATOR_ID, data)  # pressed twice, or by two coordinators
    assert "nothing changed" in texts(again)
    removed = await bot.press_data(COORDINATOR_ID, f"crm:{COORDINATOR_ID}")
    assert "nothing changed" in texts(removed)  # COORDINATOR_IDS change only in the settings


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "COORDINATOR_IDS": str(COORDINATOR_ID)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, timeout=120
    )


async def test_the_cli_lists_and_removes_invited_coordinators(database_url: str) -> None:
    async with bot_with_settings(database_url) as bot:
        await invite_coordinator(bot, INVITED)
    listing = cli(database_url, "coordinators", "list", "--json")
    assert json.loads(listing.stdout) == [
        {"chat_id": COORDINATOR_ID, "from": "COORDINATOR_IDS"},
        {"chat_id": INVITED, "from": "invitation"},
    ]
    refused = cli(database_url, "coordinators", "remove", str(COORDINATOR_ID))
    assert refused.returncode == 2 and "COORDINATOR_IDS" in refused.stderr
    assert cli(database_url, "coordinators", "remove", "x; DROP").returncode == 2
    removed = cli(database_url, "coordinators", "remove", str(INVITED))
    assert removed.returncode == 0, removed.stderr
    assert await role(database_url, INVITED) == Role.FAMILY
    assert cli(database_url, "coordinators", "remove", str(INVITED)).returncode == 1
