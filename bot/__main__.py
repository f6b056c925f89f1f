"""Composition root: Settings -> build_application() -> polling, webhook, or SMS only."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from telegram import Update

from bot.application import build_application
from bot.config import Settings
from bot.webhook import serve_webhook

log = logging.getLogger(__name__)


def run_bot(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM: long polling, or a webhook server when WEBHOOK_URL is set.

    Blocking: python-telegram-bot (polling) or the webhook server owns the event loop.
    """
    application = build_application(settings)
    if settings.webhook_url:
        asyncio.run(serve_webhook(application, settings))
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)


def run_sms_only(settings: Settings) -> None:
    """Run with Twilio and no Telegram token: the same handlers, answering texts only."""
    asyncio.run(serve_sms_only(settings))


async def serve_sms_only(settings: Settings) -> None:
    """Until SIGTERM or SIGINT. The handlers' calls for other chats (setMyCommands, getMe) are
    answered in-process: there is no Telegram to reach."""
    from bot.local_chat import LOCAL_TOKEN, InProcessBotApi

    application = build_application(settings, request=InProcessBotApi(), token=LOCAL_TOKEN)
    application.bot_data["set_commands"] = False
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with application:
        if application.post_init:
            await application.post_init(application)
        await application.start()
        log.info("Answering texts only (no TELEGRAM_BOT_TOKEN)")
        await stop.wait()
        log.info("Stopping: finishing the texts in flight")
        server = application.bot_data.pop("sms_server", None)
        if server is not None:
            server.stop()
        await application.stop()
        if application.post_shutdown:
            await application.post_shutdown(application)


def main() -> None:
    from bot.cli import main as cli_main

    sys.exit(cli_main())


if __name__ == "__main__":
    main()
