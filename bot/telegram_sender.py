"""The outbox's `Sender` over python-telegram-bot, and the delivery worker's start and stop.

Telegram's answers map to what the outbox does with the row:
Forbidden (403) -> blocked (the chat is unsubscribed), BadRequest (400) -> failed for good,
RetryAfter (429) -> that chat waits retry_after, NetworkError/TimedOut -> retry later.

The worker gets a Bot of its own (same token and API URL): python-telegram-bot shuts the
application's Bot down before post_shutdown runs, and the worker must be able to finish the
sends on the wire after that. It shares the application's `SendLimiter` (bot_data
"send_limiter"), so replies and the outbox keep within one budget, replies first.
"""

from __future__ import annotations

import json
import logging
import warnings
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, InputFile, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application
from telegram.request import HTTPXRequest

from bot.telegram_request import TrustSuccessRequest
from jobs import scheduler as scheduling
from jobs.delivery import DeliveryWorker
from jobs.outbox import ProgressText
from jobs.sender import (
    ChatUnreachable,
    Outgoing,
    PermanentFailure,
    RateLimited,
    TemporaryFailure,
)
from knowledge.calendar import parse_quiet_hours
from knowledge.sms import texts_in_quiet_hours

log = logging.getLogger(__name__)

SAFETY_NET_JOB = "delivery-safety-net"
SAFETY_NET_SECONDS = 5.0
MAX_IN_FLIGHT = 16


def retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the int-or-timedelta deprecation notice
        value: Any = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """jobs.sender.Sender for a python-telegram-bot Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, outgoing: Outgoing) -> int:
        markup = (
            InlineKeyboardMarkup.de_json(json.loads(outgoing.reply_markup), self.bot)
            if outgoing.reply_markup
            else None
        )
        try:
            if outgoing.attachment is not None:
                message = await self.bot.send_document(
                    chat_id,
                    InputFile(outgoing.attachment, filename=outgoing.attachment_name or "file"),
                    caption=outgoing.text or None,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            else:
                message = await self.bot.send_message(
                    chat_id,
                    outgoing.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
        except TelegramError as error:
            raise outcome_of(error) from error
        return message.message_id

    async def edit(self, chat_id: int, message_id: int, text: str) -> None:
        try:
            await self.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML
            )
        except TelegramError as error:
            raise outcome_of(error) from error


def outcome_of(error: TelegramError) -> Exception:
    """A python-telegram-bot error as what the outbox should do about it."""
    if isinstance(error, Forbidden):
        return ChatUnreachable(error.message)
    if isinstance(error, RetryAfter):
        return RateLimited(retry_seconds(error), error.message)
    if isinstance(error, BadRequest | ChatMigrated):  # BadRequest is a NetworkError: test first
        return PermanentFailure(error.message)
    if isinstance(error, NetworkError):  # TimedOut included
        return TemporaryFailure(error.message)
    return TemporaryFailure(f"{type(error).__name__}: {error.message}")


# --- wiring, called from bot/application.py --------------------------------------------------


async def start_delivery(
    application: Application,  # type: ignore[type-arg]
    describe: ProgressText,
) -> DeliveryWorker:
    """Create the worker with a Bot of its own, start it, and poke it from the scheduler."""
    services = application.bot_data["services"]
    settings = services.settings
    app_request = application.bot.request
    owns_request = isinstance(app_request, TrustSuccessRequest)
    request = (
        TrustSuccessRequest(
            HTTPXRequest(
                connection_pool_size=MAX_IN_FLIGHT + 4,
                connect_timeout=10.0,
                read_timeout=15.0,
                write_timeout=30.0,
                pool_timeout=10.0,
            )
        )
        if owns_request
        else app_request  # tests and the local chat hand the Application an in-process API
    )
    bot = Bot(
        application.bot.token,
        base_url=settings.telegram_api_url,
        request=request,
        get_updates_request=request,  # never polls; saves a second connection pool
    )
    await bot.initialize()
    held = (  # texts wait out quiet hours; Telegram messages do not
        texts_in_quiet_hours(parse_quiet_hours(settings.quiet_hours), settings.zone)
        if settings.sms_enabled
        else None
    )
    worker = DeliveryWorker(
        services.sessions,
        TelegramSender(bot),
        describe=describe,
        max_in_flight=MAX_IN_FLIGHT,
        per_second=settings.telegram_rate_per_second,  # shared among workers on one database
        limiter=application.bot_data.get("send_limiter"),
        held=held,
    )
    await worker.start()
    application.bot_data["delivery"] = worker
    application.bot_data["delivery_bot"] = (bot, owns_request)

    async def poke() -> None:  # a coroutine, so APScheduler runs it on the loop, not a thread
        worker.wake()

    scheduler = application.bot_data.get("scheduler")
    if scheduler is not None:
        scheduling.add_interval_job(
            scheduler, poke, seconds=SAFETY_NET_SECONDS, job_id=SAFETY_NET_JOB
        )
    return worker


async def stop_delivery(application: Application) -> None:  # type: ignore[type-arg]
    """Stop the worker (it finishes what is on the wire), then close its Bot."""
    scheduler = application.bot_data.get("scheduler")
    if scheduler is not None:
        try:
            scheduler.remove_job(SAFETY_NET_JOB)
        except Exception:  # JobLookupError, or already shut down
            pass
    worker: DeliveryWorker | None = application.bot_data.pop("delivery", None)
    if worker is not None:
        await worker.stop()
    bot, owns_request = application.bot_data.pop("delivery_bot", (None, False))
    if bot is not None and owns_request:
        try:
            await bot.shutdown()
        except Exception:
            log.warning("Closing the delivery bot failed", exc_info=True)
