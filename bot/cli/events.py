"""`event add | list | cancel`: events and their reminders from the command line.

`event add` never tells families by surprise: `--announce` queues the announcement (the running
bot's outbox sends it), `--no-announce` keeps the event quiet; with neither it asks in a
terminal and refuses otherwise. Times in the past, and reminders that would already be due,
are refused with one line saying what to change.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import UsageError, open_database, parse_moment
from bot.config import Settings
from bot.handlers.event_cards import ChatEventTexts
from jobs.reminders import ANNOUNCEMENT, announce_event, notify_told
from knowledge.calendar import cancel_event, rsvp_counts, upcoming_events
from knowledge.content import bump_content_version
from knowledge.durations import format_duration
from knowledge.events import DEFAULT_REMINDERS, create_event, parse_offsets
from knowledge.migrate import upgrade_database_async
from knowledge.models import Event, Message, Reminder, ReminderStatus, utcnow
from knowledge.reports import ReportTable, write_report
from knowledge.subscriptions import School, count_subscribers, schools

if TYPE_CHECKING:
    from bot.cli.common import Subcommands

YES = ("y", "yes", "s", "si", "sí")


def register(commands: Subcommands) -> None:
    event = commands.add_parser("event", help="events")
    event_commands = event.add_subparsers(dest="event_command", required=True, metavar="COMMAND")
    add = event_commands.add_parser("add", help="create an event and its reminders")
    add.add_argument("--title", required=True)
    add.add_argument("--starts", required=True, help="ISO 8601; local TIMEZONE if no offset")
    add.add_argument("--ends", help="ISO 8601 (default: an hour after the start)")
    add.add_argument("--where")
    add.add_argument("--remind", help="e.g. 1d,1h,10m, or none (default: 1d,1h)")
    add.add_argument("--school", help="only this school's families (its id or name)")
    telling = add.add_mutually_exclusive_group()
    telling.add_argument(
        "--announce",
        dest="announce",
        action="store_true",
        default=None,
        help="tell subscribed families now",
    )
    telling.add_argument(
        "--no-announce",
        dest="announce",
        action="store_false",
        help="create it quietly (it shows in /events; only families who say Going get reminders)",
    )
    add.set_defaults(run=command_event_add)

    listing = event_commands.add_parser("list", help="upcoming events")
    listing.add_argument("--json", action="store_true", help="a JSON list of objects")
    listing.set_defaults(run=command_event_list)

    cancel = event_commands.add_parser("cancel", help="cancel an event and tell the families")
    cancel.add_argument("id", type=int, metavar="ID")
    cancel.set_defaults(run=command_event_cancel)


# --- event add -----------------------------------------------------------------------------------


def _local(moment: datetime, settings: Settings) -> str:
    return f"{moment.astimezone(settings.zone):%a %d %b %Y %H:%M %Z}"


def _reminders(
    text: str | None, starts: datetime, now: datetime, settings: Settings
) -> tuple[list[timedelta], list[timedelta]]:
    """(reminders to keep, default reminders left out because they are already past)."""
    if text is None:
        ahead = [offset for offset in DEFAULT_REMINDERS if starts - offset > now]
        return ahead, [offset for offset in DEFAULT_REMINDERS if offset not in ahead]
    if text.strip().lower() in ("none", "no", "0"):
        return [], []
    try:
        offsets = parse_offsets(text)
    except ValueError as error:
        raise UsageError(f"--remind: {error}") from None
    minutes_left = (starts - now) // timedelta(minutes=1) * timedelta(minutes=1)
    for offset in offsets:
        if starts - offset <= now:
            raise UsageError(
                f"--remind {format_duration(offset)}: that reminder would be due "
                f"{_local(starts - offset, settings)}, already past (the event starts in "
                f"{format_duration(minutes_left)}); choose shorter ones, or --remind none"
            )
    return offsets, []


def find_school(found: list[School], wanted: str) -> School:
    """A school by id, by name (any case), or by a part of its name that only it has."""
    folded = wanted.strip().casefold()
    for school in found:
        if wanted == school.id or folded == school.name.casefold():
            return school
    partial = [school for school in found if folded and folded in school.name.casefold()]
    if len(partial) == 1:
        return partial[0]
    known = "; ".join(f"{school.name} ({school.id})" for school in found) or "none"
    raise UsageError(f"--school '{wanted}' is not one school of the directory; schools: {known}")


async def _ask_to_announce(session: AsyncSession, school_id: str | None) -> bool:
    """In a terminal: ask. Elsewhere (cron, a script): refuse, since nobody can answer."""
    if not sys.stdin.isatty():
        raise UsageError(
            "say --announce to tell subscribed families now, or --no-announce "
            "(not asking: no terminal to answer in)"
        )
    audience = await count_subscribers(session, school_id)
    answer = await asyncio.to_thread(
        input, f"Announce it now to {audience} subscribed families? [y/N] "
    )
    return answer.strip().lower() in YES


async def command_event_add(settings: Settings, args: argparse.Namespace) -> int:
    now = utcnow()
    starts = parse_moment("--starts", args.starts, settings)
    ends = parse_moment("--ends", args.ends, settings) if args.ends else None
    if not args.title.strip():
        raise UsageError("--title must not be empty")
    if starts <= now:
        raise UsageError(
            f"--starts {_local(starts, settings)} is in the past (now {_local(now, settings)})"
        )
    if ends is not None and ends <= starts:
        raise UsageError("--ends must be after --starts")
    offsets, left_out = _reminders(args.remind, starts, now, settings)
    await upgrade_database_async(settings.database_url)
    async with open_database(settings) as sessions, sessions() as session, session.begin():
        school = find_school(await schools(session), args.school) if args.school else None
        school_id = school.id if school else None
        announce = args.announce
        if announce is None:
            announce = await _ask_to_announce(session, school_id)
        event = await create_event(
            session,
            title=args.title,
            starts_at=starts,
            ends_at=ends,
            where=args.where,
            school_id=school_id,
            reminders=offsets,
            announce=announce,
        )
        told = 0
        if announce:
            told = await announce_event(
                session, event, ChatEventTexts(settings.zone), settings.zone
            )
        await bump_content_version(session)
        until = f" to {event.ends.astimezone(settings.zone):%H:%M}" if event.ends_at else ""
        print(f"Event {event.id}: {event.title}, {_local(event.starts_at, settings)}{until}")
        print(f"  for: {school.name if school else 'all schools'}")
        for reminder in event.reminders:
            print(f"  reminder at {reminder.due_at.astimezone(settings.zone):%a %d %b %H:%M}")
        for offset in left_out:
            print(f"  no reminder {format_duration(offset)} before: that time has passed")
        if announce:
            print(f"  announcing to {told} subscribed families (the running bot sends it)")
        else:
            print("  not announced: it shows in /events; only families who say Going get reminders")
    return 0


# --- event list, event cancel ---------------------------------------------------------------------


async def command_event_list(settings: Settings, args: argparse.Namespace) -> int:
    await upgrade_database_async(settings.database_url)
    async with open_database(settings) as sessions, sessions() as session:
        events = await upcoming_events(session, utcnow(), every_school=True, limit=1000)
        ids = [event.id for event in events]
        counts = await rsvp_counts(session, ids)
        names = {school.id: school.name for school in await schools(session)}
        announced = set(
            await session.scalars(
                select(Event.id).where(
                    Event.id.in_(ids),
                    exists().where(Message.event_id == Event.id, Message.kind == ANNOUNCEMENT),
                )
            )
        )
        rows = await session.execute(
            select(Reminder.event_id, func.count())
            .where(Reminder.event_id.in_(ids), Reminder.status == ReminderStatus.PENDING)
            .group_by(Reminder.event_id)
        )
        pending = {event_id: int(count) for event_id, count in rows}
    zone = settings.zone
    table = ReportTable(
        columns=(
            "id", "title", "starts", "ends", "where", "school", "announced",
            "reminders_pending", "going", "not_going",
        ),
        rows=[
            {
                "id": event.id,
                "title": event.title,
                "starts": event.starts_at.astimezone(zone).isoformat(timespec="minutes"),
                "ends": event.ends.astimezone(zone).isoformat(timespec="minutes"),
                "where": event.where or "",
                "school": names.get(event.school_id, event.school_id) if event.school_id else "",
                "announced": event.id in announced,
                "reminders_pending": pending.get(event.id, 0),
                "going": counts[event.id].going,
                "not_going": counts[event.id].not_going,
            }
            for event in events
        ],
        title="Upcoming events",
    )  # fmt: skip
    write_report(table, "json" if args.json else "text", sys.stdout)
    return 0


async def command_event_cancel(settings: Settings, args: argparse.Namespace) -> int:
    await upgrade_database_async(settings.database_url)
    async with open_database(settings) as sessions, sessions() as session, session.begin():
        existing = await session.get(Event, args.id)
        if existing is None:
            raise UsageError(f"there is no event {args.id}; see `resource-finder event list`")
        event = await cancel_event(session, args.id)
        if event is None:
            raise UsageError(f"event {args.id} ({existing.title}) is already cancelled")
        told = await notify_told(
            session, event, ChatEventTexts(settings.zone), settings.zone, cancelled=True
        )
        await bump_content_version(session)
    print(f"Cancelled event {event.id}: {event.title}, {_local(event.starts_at, settings)}")
    print(f"  its reminders are off; telling {told} families who heard about it")
    return 0
