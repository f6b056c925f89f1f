"""`run` and `chat`: the bot itself, on Telegram or on this terminal."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from bot.config import Settings

if TYPE_CHECKING:
    from bot.cli.common import Subcommands


def register(commands: Subcommands) -> None:
    run = commands.add_parser(
        "run",
        help="run the bot (long polling; webhook when WEBHOOK_URL is set; texts with TWILIO_*)",
    )
    run.set_defaults(run=None)  # blocking: main() calls command_run outside asyncio.run

    chat = commands.add_parser("chat", help="talk to the bot locally, no Telegram needed")
    chat.add_argument(
        "--as", dest="role", choices=["family", "staff", "coordinator"], default="family"
    )
    chat.add_argument("--lang", choices=["en", "es"], default=None)
    chat.set_defaults(run=command_chat)


async def command_chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.local_chat import run_local_chat

    return await run_local_chat(settings, role=args.role, language=args.lang)


def command_run(settings: Settings) -> int:
    """Blocking: python-telegram-bot runs its own event loop for polling or the webhook."""
    if not settings.telegram_bot_token and settings.sms_enabled:
        from bot.__main__ import run_sms_only

        run_sms_only(settings)
        return 0
    if not settings.telegram_bot_token:
        print(
            "No TELEGRAM_BOT_TOKEN set: starting the local chat instead "
            "(type a question, Ctrl-D to quit).",
            file=sys.stderr,
        )
        return asyncio.run(command_chat(settings, argparse.Namespace(role="family", lang=None)))
    from bot.__main__ import run_bot

    run_bot(settings)
    return 0
