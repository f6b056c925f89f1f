"""One error handler: the user gets an apology, coordinators an alert, and not a flood of them."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes, MessageHandler, filters

from bot.handlers.common import ErrorAlerts
from harness import COORDINATOR_ID, BotHarness, texts

FAMILY = 611


async def explode(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    raise RuntimeError("database on fire")


async def test_an_unexpected_error_apologises_and_alerts_once(bot: BotHarness) -> None:
    bot.application.add_handler(MessageHandler(filters.Regex("^boom$"), explode), group=-10)
    calls = await bot.send(FAMILY, "boom")
    to_family = [c for c in calls if c.params.get("chat_id") == FAMILY]
    to_coordinator = [c for c in calls if c.params.get("chat_id") == COORDINATOR_ID]
    assert "Sorry, something went wrong" in texts(to_family)
    assert "RuntimeError in message" in texts(to_coordinator)
    assert "database on fire" not in texts(to_coordinator)  # details stay in the log
    again = await bot.send(FAMILY, "boom")
    assert [c for c in again if c.params.get("chat_id") == COORDINATOR_ID] == []
    assert "Sorry, something went wrong" in texts(again)


def test_alerts_resume_after_the_window_with_a_count() -> None:
    alerts = ErrorAlerts(window=600)
    assert alerts.should_alert("X", now=0) == 0
    assert alerts.should_alert("X", now=10) is None
    assert alerts.should_alert("X", now=20) is None
    assert alerts.should_alert("Y", now=30) == 0  # another kind is not held back
    assert alerts.should_alert("X", now=700) == 2
