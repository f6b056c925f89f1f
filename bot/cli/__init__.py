"""`resource-finder`: the command line (also `python -m bot`).

One module per concern registers its subcommands (`register(commands)`), each setting
`run=<coroutine function>`; `main` parses, loads the settings and runs the chosen one.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.cli import coordinators, directory, events, partners, reports, review, running, surveys
from bot.cli.common import UsageError
from bot.config import SettingsError, load_settings
from knowledge.content import ContentFormatError
from knowledge.hsds import DirectoryFormatError
from knowledge.log_privacy import install_log_privacy
from knowledge.log_repeats import install_log_repeats

log = logging.getLogger(__name__)

CONCERNS = (running, directory, events, reports, review, surveys, coordinators, partners)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resource-finder",
        description="Community Schools Resource Finder: the Telegram bot and its tools.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for concern in CONCERNS:
        concern.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    install_log_privacy()
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_log_repeats()  # while the database is down: once a minute, with a count
    try:
        settings = load_settings()
        if args.run is None:  # `run`: blocking, owns its event loop
            return running.command_run(settings)
        return asyncio.run(args.run(settings, args))
    except (SettingsError, UsageError, DirectoryFormatError, ContentFormatError) as error:
        print(f"resource-finder: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
