"""`resource-finder`: the command line (also `python -m bot`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings, SettingsError, load_settings
from knowledge.content import (
    ContentFormatError,
    bump_content_version,
    holds_demo_directory,
    is_materials_file,
    is_toolkit_file,
    load_materials,
    load_toolkit,
    remove_demo_directory,
)
from knowledge.db import create_engine, create_sessionmaker
from knowledge.events import create_event, parse_offsets
from knowledge.finder import ResourceFinder
from knowledge.hsds import DirectoryFormatError, export_directory, import_directory
from knowledge.lexicon import default_lexicon
from knowledge.migrate import upgrade_database_async
from knowledge.queries import log_search
from knowledge.search import SearchOutcome, SearchQuery

log = logging.getLogger(__name__)


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit status 2."""


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.database_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


def parse_point(text: str) -> tuple[float, float]:
    try:
        latitude, longitude = (float(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"--near expects LAT,LON such as 41.59,-93.62, not '{text}'") from None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise UsageError(f"--near {text}: latitude or longitude out of range")
    return latitude, longitude


# --- commands -------------------------------------------------------------------------------


async def command_db_upgrade(settings: Settings, _: argparse.Namespace) -> int:
    await upgrade_database_async(settings.database_url)
    print("Database is up to date.")
    return 0


async def command_import(settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    await upgrade_database_async(settings.database_url)
    async with open_database(settings) as sessions, sessions() as session, session.begin():
        if path.suffix.lower() in (".yaml", ".yml"):
            if is_toolkit_file(path):
                print(f"Toolkit: {await load_toolkit(session, path)} entries imported.")
            elif is_materials_file(path):
                print(f"Sample materials: {await load_materials(session, path)} imported.")
            else:
                raise UsageError(f"{path}: not a toolkit or materials file (see README)")
            await bump_content_version(session)
            return 0
        replaced_demo = await holds_demo_directory(session) and not args.keep_demo
        if replaced_demo:
            await remove_demo_directory(session)
        report = await import_directory(session, path)
        for line in grouped_lines(report.problems + report.warnings):
            print(line)
        for line in report.summary_lines():
            print(line)
        if not report.ok:
            raise UsageError(f"{path}: nothing could be imported")
        if replaced_demo:
            print("The demo directory was removed: your directory replaces it.")
        await bump_content_version(session)
    return 0


async def command_export(settings: Settings, args: argparse.Namespace) -> int:
    target = Path(args.directory)
    async with open_database(settings) as sessions, sessions() as session:
        written = await export_directory(session, target)
    for name, count in written.items():
        print(f"{name}: {count} rows")
    print(f"Wrote HSDS 3.0 CSV to {target}")
    return 0


EXAMPLES_PER_KIND = 5


def grouped_lines(lines: list[str]) -> list[str]:
    """At most a few `file:line: reason` lines per file and kind of reason, then a count.

    A directory with 2,000 rows of the same small problem should still be readable.
    """
    kinds: dict[tuple[str, str], list[str]] = {}
    for line in lines:
        location, _, reason = line.partition(": ")
        kind = " ".join(reason.split()[:2])
        kinds.setdefault((location.split(":")[0], kind), []).append(line)
    shown: list[str] = []
    for examples in kinds.values():
        shown += examples[:EXAMPLES_PER_KIND]
        if len(examples) > EXAMPLES_PER_KIND:
            shown.append(f"  … and {len(examples) - EXAMPLES_PER_KIND} more like this")
    return shown


def _hit_json(outcome: SearchOutcome) -> list[dict[str, object]]:
    return [
        {
            "id": hit.id,
            "kind": hit.kind,
            "title": hit.title,
            "score": hit.score,
            **({"distance_km": hit.distance_km} if hit.distance_km is not None else {}),
        }
        for hit in outcome.hits
    ]


async def command_search(settings: Settings, args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    near = parse_point(args.near) if args.near else None
    if args.batch is None and not args.query:
        raise UsageError("search needs a QUERY or --batch FILE")
    async with open_database(settings) as sessions:
        finder = ResourceFinder(sessions, default_lexicon(), settings.zone)
        await finder.refresh(force=True)

        def query_for(text: str) -> SearchQuery:
            return SearchQuery(
                text=text, language=args.lang, limit=args.limit, near=near, open_now=args.open_now
            )

        if args.batch is not None:
            source = sys.stdin if args.batch == "-" else open(args.batch, encoding="utf-8")  # noqa: SIM115
            with source:
                for line in source:
                    text = line.rstrip("\n")
                    if not text.strip():
                        continue
                    started = time.perf_counter()
                    outcome = finder.search(query_for(text))
                    elapsed = (time.perf_counter() - started) * 1000
                    record = {
                        "query": text,
                        "results": _hit_json(outcome),
                        "elapsed_ms": round(elapsed, 3),
                    }
                    print(json.dumps(record, ensure_ascii=False))
            return 0

        text = " ".join(args.query)
        outcome = finder.search(query_for(text))
        async with sessions() as session, session.begin():
            await log_search(session, outcome)
    if args.json:
        print(json.dumps(_hit_json(outcome), ensure_ascii=False, indent=2))
    elif not outcome.hits:
        print("No good match. (The question was saved for the coordinators' gap report.)")
    else:
        for rank, hit in enumerate(outcome.hits, start=1):
            distance = f"  {hit.distance_km:.1f} km" if hit.distance_km is not None else ""
            print(f"{rank}. [{hit.kind}] {hit.title}  ({hit.id}, score {hit.score:.2f}){distance}")
    return 0


def parse_moment(option: str, text: str, settings: Settings) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option} expects ISO 8601 such as 2026-12-03T18:00, not '{text}'"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=settings.zone)


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


async def command_chat(settings: Settings, args: argparse.Namespace) -> int:
    from bot.local_chat import run_local_chat

    return await run_local_chat(settings, role=args.role, language=args.lang)


def command_run(settings: Settings) -> int:
    """Blocking: python-telegram-bot runs its own event loop for polling or the webhook."""
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


# --- parsing ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="resource-finder",
        description="Community Schools Resource Finder: the Telegram bot and its tools.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("run", help="run the bot (long polling; webhook when WEBHOOK_URL is set)")

    chat = commands.add_parser("chat", help="talk to the bot locally, no Telegram needed")
    chat.add_argument(
        "--as", dest="role", choices=["family", "staff", "coordinator"], default="family"
    )
    chat.add_argument("--lang", choices=["en", "es"], default=None)

    db = commands.add_parser("db", help="database commands")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_commands.add_parser("upgrade", help="apply migrations (creates the database)")

    imports = commands.add_parser(
        "import", help="import an HSDS directory (folder, zip, datapackage.json) or content file"
    )
    imports.add_argument("path")
    imports.add_argument(
        "--keep-demo", action="store_true", help="keep the demo directory alongside this import"
    )

    export = commands.add_parser("export", help="export the directory")
    export.add_argument("--format", choices=["hsds"], default="hsds")
    export.add_argument("directory")

    search = commands.add_parser("search", help="run one query (or a batch) against the index")
    search.add_argument("query", nargs="*")
    search.add_argument("--json", action="store_true")
    search.add_argument("--limit", type=int, default=5)
    search.add_argument("--lang", choices=["en", "es"], default=None)
    search.add_argument("--near", metavar="LAT,LON")
    search.add_argument("--open-now", action="store_true")
    search.add_argument("--batch", metavar="FILE", help="one query per line; '-' for stdin")

    event = commands.add_parser("event", help="events")
    event_commands = event.add_subparsers(dest="event_command", required=True, metavar="COMMAND")
    add = event_commands.add_parser("add", help="create an event and its reminders")
    add.add_argument("--title", required=True)
    add.add_argument("--starts", required=True, help="ISO 8601; local TIMEZONE if no offset")
    add.add_argument("--ends", help="ISO 8601 (default: an hour after the start)")
    add.add_argument("--where")
    add.add_argument("--remind", help="e.g. 1d,1h,10m (default: 1d,1h)")
    return parser


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "chat": command_chat,
    "db": command_db_upgrade,
    "import": command_import,
    "export": command_export,
    "search": command_search,
    "event": command_event_add,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings()
        if args.command == "run":
            return command_run(settings)
        return asyncio.run(COMMANDS[args.command](settings, args))
    except (SettingsError, UsageError, DirectoryFormatError, ContentFormatError) as error:
        print(f"resource-finder: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
