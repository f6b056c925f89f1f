"""`event ...`: events and their reminders from the command line."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.common import UsageError, open_database, parse_moment
from bot.config import Settings
from knowledge.content import bump_content_version
from knowledge.events import create_event, parse_offsets
from knowledge.migrate import upgrade_database_async

if TYPE_CHECKING:
    from bot.cli.common import Subcommands


def register(commands: Subcommands) -> None:
    event = commands.add_parser("event", help="events")
    event_commands = event.add_subparsers(dest="event_command", required=True, metavar="COMMAND")
    add = event_commands.add_parser("add", help="create an event and its reminders")
    add.add_argument("--title", required=True)
    add.add_argument("--starts", required=True, help="ISO 8601; local TIMEZONE if no offset")
    add.add_argument("--ends", help="ISO 8601 (default: an hour after the start)")
    add.add_argument("--where")
    add.add_argument("--remind", help="e.g. 1d,1h,10m (default: 1d,1h)")
    add.set_defaults(run=command_event_add)


async def command_event_add(settings: Settings, args: argparse.Namespace) -> int:
    starts = parse_moment("--starts", args.starts, settings)
    ends = parse_moment("--ends", args.ends, settings) if args.ends else None
    if ends is not None and ends <= starts:
        raise UsageError("--ends must be after --starts")
    try:
        offsets = parse_offsets(args.remind) if args.remind is not None else None
    except ValueError as error:
        raise UsageError(f"--remind: {error}") from None
    if not args.title.strip():
        raise UsageError("--title must not be empty")
    await upgrade_database_async(settings.database_url)
    async with open_database(settings) as sessions, sessions() as session, session.begin():
        event = await create_event(
            session,
            title=args.title,
            starts_at=starts,
            ends_at=ends,
            where=args.where,
            reminders=offsets,
        )
        await bump_content_version(session)
        local = event.starts_at.astimezone(settings.zone)
        until = f" to {event.ends.astimezone(settings.zone):%H:%M}" if event.ends_at else ""
        print(f"Event {event.id}: {event.title}, {local:%a %d %b %Y %H:%M %Z}{until}")
        for reminder in event.reminders:
            print(f"  reminder at {reminder.due_at.astimezone(settings.zone):%a %d %b %H:%M}")
    return 0
