"""Composition root: Settings -> build_application() -> polling or webhook."""

from __future__ import annotations

import asyncio
import sys

from telegram import Update

from bot.application import build_application
from bot.config import Settings
from bot.webhook import serve_webhook


def run_bot(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM: long polling, or a webhook server when WEBHOOK_URL is set.

    Blocking: python-telegram-bot (polling) or the webhook server owns the event loop.
    """
    application = build_application(settings)
    if settings.webhook_url:
        asyncio.run(serve_webhook(application, settings))
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)


def main() -> None:
    from bot.cli import main as cli_main

    sys.exit(cli_main())


if __name__ == "__main__":
    main()
