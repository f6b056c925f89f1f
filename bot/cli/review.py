"""`review list`: the families' reports waiting for a coordinator, as /review shows them; and
`report outcomes` (registered by bot/cli/reports.py): did families get help?"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import open_database
from bot.config import Settings
from knowledge.listing_reports import review_table
from knowledge.migrate import upgrade_database_async
from knowledge.outcomes import outcomes, outcomes_table
from knowledge.reports import ReportFormat, ReportTable, write_report

if TYPE_CHECKING:
    from bot.cli.common import Subcommands


def register(commands: Subcommands) -> None:
    review = commands.add_parser("review", help="families' reports of wrong listings")
    review_commands = review.add_subparsers(dest="review_command", required=True, metavar="COMMAND")
    listing = review_commands.add_parser("list", help="the review queue, oldest first")
    output = listing.add_mutually_exclusive_group()
    output.add_argument("--json", dest="format", action="store_const", const="json")
    output.add_argument("--csv", dest="format", action="store_const", const="csv")
    listing.set_defaults(format="text", run=command_review_list)


async def command_review_list(settings: Settings, args: argparse.Namespace) -> int:
    await upgrade_database_async(settings.database_url)
    async with open_database(settings) as sessions, sessions() as session:
        table = await review_table(session)
    report_format: ReportFormat = args.format
    write_report(table, report_format, sys.stdout)
    return 0


async def build_outcomes(
    session: AsyncSession, settings: Settings, args: argparse.Namespace
) -> ReportTable:
    from bot.cli.reports import period  # reports registers this builder

    since, until = period(settings, args)
    return outcomes_table(await outcomes(session, since, until))
