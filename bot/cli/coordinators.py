"""`coordinators list` and `coordinators remove CHAT_ID`: as /coordinators does in the chat.

Those from COORDINATOR_IDS change only there (and take effect at the next start); invited ones
can be removed here, for instance when the last coordinator who could do it in the chat left.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.cli.common import UsageError, open_database
from bot.config import Settings
from knowledge.migrate import upgrade_database_async
from knowledge.reports import ReportFormat, ReportTable, write_report
from knowledge.roles import list_coordinators, remove_coordinator

if TYPE_CHECKING:
    from bot.cli.common import Subcommands


def register(commands: Subcommands) -> None:
    parser = commands.add_parser("coordinators", help="list coordinators; remove invited ones")
    actions = parser.add_subparsers(dest="coordinators_command", required=True, metavar="COMMAND")
    listing = actions.add_parser("list", help="every coordinator, and where the role came from")
    output = listing.add_mutually_exclusive_group()
    output.add_argument("--json", dest="format", action="store_const", const="json")
    output.add_argument("--csv", dest="format", action="store_const", const="csv")
    listing.set_defaults(format="text", run=command_list)
    remove = actions.add_parser("remove", help="an invited coordinator becomes a family again")
    remove.add_argument("chat_id", help="the chat number `coordinators list` shows")
    remove.set_defaults(run=command_remove)


async def command_list(settings: Settings, args: argparse.Namespace) -> int:
    await upgrade_database_async(settings.database_url)
    async with open_database(settings) as sessions, sessions() as session:
        entries = await list_coordinators(session, settings.coordinator_ids)
    rows: list[Mapping[str, Any]] = [
        {"chat_id": e.chat_id, "from": "COORDINATOR_IDS" if e.configured else "invitation"}
        for e in entries
    ]
    report_format: ReportFormat = args.format
    write_report(ReportTable(["chat_id", "from"], rows, "Coordinators"), report_format, sys.stdout)
    return 0


async def command_remove(settings: Settings, args: argparse.Namespace) -> int:
    if not args.chat_id.lstrip("-").isdecimal() or len(args.chat_id) > 20:
        raise UsageError(f"expected a chat number such as 123456789, not '{args.chat_id}'")
    chat_id = int(args.chat_id)
    if chat_id in settings.coordinator_ids:
        raise UsageError(f"{chat_id} is in COORDINATOR_IDS: remove it there and restart the bot")
    await upgrade_database_async(settings.database_url)
    async with open_database(settings) as sessions, sessions() as session, session.begin():
        removed = await remove_coordinator(session, chat_id, settings.coordinator_ids)
    if not removed:
        print(f"{chat_id} is not an invited coordinator; nothing changed.")
        return 1
    print(f"{chat_id} is not a coordinator any more (the bot reads it at its next message).")
    return 0
