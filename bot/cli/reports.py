"""`report …`: numbers for coordinators and funders, as text, JSON (`--json`) or CSV (`--csv`).

A report is a module-level function registered with `add_report`; it gets a session and the
parsed arguments and returns a `knowledge.reports.ReportTable`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import UsageError, open_database
from bot.cli.partners import build_assets, build_stale
from bot.cli.review import build_outcomes
from bot.cli.surveys import build_needs
from bot.config import Settings
from knowledge.lexicon import default_lexicon
from knowledge.migrate import upgrade_database_async
from knowledge.models import utcnow
from knowledge.reports import ReportFormat, ReportTable, write_report
from knowledge.stats import community_stats

if TYPE_CHECKING:
    from bot.cli.common import Subcommands

BuildReport = Callable[[AsyncSession, Settings, argparse.Namespace], Awaitable[ReportTable]]


def register(commands: Subcommands) -> None:
    report = commands.add_parser(
        "report", help="reports for coordinators and funders (text, --json or --csv)"
    )
    reports = report.add_subparsers(dest="report", required=True, metavar="REPORT")
    gaps = add_report(reports, "gaps", "what families asked that found nothing good", build_gaps)
    add_period(gaps)
    add_period(
        add_report(
            reports, "outcomes", "did families get help, per need and service", build_outcomes
        ),
        default_days=30,
    )
    add_report(reports, "stale", "services nobody confirmed in 12 months", build_stale)
    add_period(
        add_report(reports, "assets", "the asset map: needs, demand and supply", build_assets),
        default_days=90,
    )
    needs = add_report(reports, "needs", "needs-assessment answers per question", build_needs)
    needs.add_argument("survey_id", nargs="?", metavar="SURVEY_ID", help="one survey only")


def add_report(
    reports: Subcommands,
    name: str,
    help_text: str,
    build: BuildReport,
) -> argparse.ArgumentParser:
    """A `report NAME` subcommand with the shared output options; returns it for extra ones."""
    parser = reports.add_parser(name, help=help_text)
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", dest="format", action="store_const", const="json")
    output.add_argument("--csv", dest="format", action="store_const", const="csv")
    parser.set_defaults(format="text", run=_runner(build))
    return parser


def add_period(parser: argparse.ArgumentParser, default_days: int = 7) -> None:
    """--since/--until DATE (YYYY-MM-DD, the community's days); default the last week."""
    parser.add_argument("--since", help=f"YYYY-MM-DD (default: {default_days} days ago)")
    parser.add_argument("--until", help="YYYY-MM-DD, included (default: today)")
    parser.set_defaults(default_days=default_days)


def period(settings: Settings, args: argparse.Namespace) -> tuple[datetime, datetime]:
    """The [since, until) moments the --since/--until options name."""
    zone = settings.zone
    until = (
        datetime.combine(_day("--until", args.until) + timedelta(days=1), time(), tzinfo=zone)
        if args.until
        else utcnow()
    )
    since = (
        datetime.combine(_day("--since", args.since), time(), tzinfo=zone)
        if args.since
        else until - timedelta(days=args.default_days)
    )
    if since >= until:
        raise UsageError("--since must be before --until")
    return since, until


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option} expects a date such as 2026-09-01, not '{text}'") from None


def _runner(build: BuildReport) -> Callable[[Settings, argparse.Namespace], Awaitable[int]]:
    async def run(settings: Settings, args: argparse.Namespace) -> int:
        await upgrade_database_async(settings.database_url)
        async with open_database(settings) as sessions, sessions() as session:
            table = await build(session, settings, args)
        report_format: ReportFormat = args.format
        write_report(table, report_format, sys.stdout)
        return 0

    return run


# --- the reports --------------------------------------------------------------------------------


async def build_gaps(
    session: AsyncSession, settings: Settings, args: argparse.Namespace
) -> ReportTable:

    since, until = period(settings, args)
    lexicon = default_lexicon()
    stats = await community_stats(session, until, period=until - since, stopwords=lexicon.stopwords)
    return ReportTable(
        columns=("need", "count", "example"),
        rows=[
            {"need": gap.concept or "", "count": gap.count, "example": gap.example}
            for gap in stats.gaps
        ],
        title=f"Questions that found nothing good, {since:%Y-%m-%d} to {until:%Y-%m-%d}",
    )
