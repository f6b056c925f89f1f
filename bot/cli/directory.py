"""`db upgrade`, `import`, `export` and `search`: the directory and the index."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import UsageError, open_database, parse_point
from bot.config import Settings
from knowledge.content import (
    bump_content_version,
    holds_demo_directory,
    is_materials_file,
    is_toolkit_file,
    load_materials,
    load_toolkit,
    remove_demo_directory,
)
from knowledge.finder import ResourceFinder
from knowledge.hsds import export_directory, import_directory
from knowledge.lexicon import default_lexicon
from knowledge.models import Role
from knowledge.queries import log_search
from knowledge.search import SearchOutcome, SearchQuery
from knowledge.setup import prepare_database

if TYPE_CHECKING:
    from bot.cli.common import Subcommands

EXAMPLES_PER_KIND = 5
# What varies between lines of one kind of problem: quoted values, ids, numbers.
VALUES = re.compile(r"'[^']*'|\"[^\"]*\"|\S*\d\S*")


def register(commands: Subcommands) -> None:
    db = commands.add_parser("db", help="database commands")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = db_commands.add_parser("upgrade", help="apply migrations (creates the database)")
    upgrade.set_defaults(run=command_db_upgrade)

    imports = commands.add_parser(
        "import", help="import an HSDS directory (folder, zip, datapackage.json) or content file"
    )
    imports.add_argument("path")
    imports.add_argument(
        "--keep-demo", action="store_true", help="keep the demo directory alongside this import"
    )
    imports.set_defaults(run=command_import)

    export = commands.add_parser("export", help="export the directory")
    export.add_argument("--format", choices=["hsds"], default="hsds")
    export.add_argument("directory")
    export.set_defaults(run=command_export)

    search = commands.add_parser("search", help="run one query (or a batch) against the index")
    search.add_argument("query", nargs="*")
    search.add_argument("--json", action="store_true")
    search.add_argument("--limit", type=int, default=5)
    search.add_argument("--lang", choices=["en", "es"], default=None)
    search.add_argument("--near", metavar="LAT,LON")
    search.add_argument("--open-now", action="store_true")
    search.add_argument("--batch", metavar="FILE", help="one query per line; '-' for stdin")
    search.add_argument(
        "--as",
        dest="audience",
        choices=[role.value for role in Role],
        default=Role.FAMILY.value,
        help="answer as this person would be answered (default family)",
    )
    search.add_argument(
        "--log", action="store_true", help="save the question for the coordinators' gap report"
    )
    search.set_defaults(run=command_search)


async def command_db_upgrade(settings: Settings, _: argparse.Namespace) -> int:
    async with open_database(settings) as sessions:
        for line in await prepare_database(settings.database_url, sessions, demo=False):
            print(line)
    print("Database is up to date.")
    return 0


async def command_import(settings: Settings, args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    async with open_database(settings) as sessions:
        await prepare_database(settings.database_url, sessions, demo=False)
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


def grouped_lines(lines: list[str]) -> list[str]:
    """At most a few `file:line: reason` lines per file and kind of reason, then a count.

    A directory with 2,000 rows of the same small problem should still be readable; the kind
    is the reason's first words with its ids, numbers and quoted values left out.
    """
    kinds: dict[tuple[str, str], list[str]] = {}
    for line in lines:
        location, _, reason = line.partition(": ")
        kind = " ".join(VALUES.sub("#", reason).split()[:3])
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
                text=text,
                language=args.lang,
                limit=args.limit,
                near=near,
                open_now=args.open_now,
                audience=args.audience,
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
        if args.log:  # trying the search out is not a family's question
            async with sessions() as session, session.begin():
                await log_search(session, outcome)
    if args.json:
        print(json.dumps(_hit_json(outcome), ensure_ascii=False, indent=2))
    elif not outcome.hits:
        saved = " (The question was saved for the coordinators' gap report.)" if args.log else ""
        print(f"No good match.{saved}")
    else:
        if outcome.nearby:
            print(f"Nothing in {outcome.place} itself; nearby:")
        elif outcome.place:
            print(f"For {outcome.place}:")
        for rank, hit in enumerate(outcome.hits, start=1):
            distance = f"  {hit.distance_km:.1f} km" if hit.distance_km is not None else ""
            print(f"{rank}. [{hit.kind}] {hit.title}  ({hit.id}, score {hit.score:.2f}){distance}")
    return 0
