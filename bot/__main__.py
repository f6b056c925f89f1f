"""Composition root: Settings -> build_application() -> polling or webhook."""

from __future__ import annotations

import sys

from telegram import Update

from bot.application import build_application
from bot.config import Settings


def run_bot(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM: long polling, or a webhook server when WEBHOOK_URL is set.

    python-telegram-bot owns the event loop here, so this is a plain (blocking) function.
    """
    application = build_application(settings)
    if settings.webhook_url:
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path="telegram",
            webhook_url=settings.webhook_url.rstrip("/") + "/telegram",
            secret_token=settings.webhook_secret or None,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)


def main() -> None:
    from bot.cli import main as cli_main

    sys.exit(cli_main())


if __name__ == "__main__":
    main()
