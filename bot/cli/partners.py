"""`partner invite ORG_ID`, and the reports `report stale` (listings nobody confirmed in 12
months) and `report assets` (the asset map: needs, demand and supply)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import UsageError, open_database
from bot.config import Settings
from knowledge.assets import asset_map, nearest_text
from knowledge.lexicon import default_lexicon
from knowledge.migrate import upgrade_database_async
from knowledge.models import Organization, Role, utcnow
from knowledge.partners import stale_listings
from knowledge.reports import ReportTable
from knowledge.roles import create_invitation, display_code

if TYPE_CHECKING:
    from bot.cli.common import Subcommands

CLI_CREATOR = 0  # Invitation.created_by for codes made at the command line (no chat)


def register(commands: Subcommands) -> None:
    partner = commands.add_parser("partner", help="partner organizations and their staff")
    actions = partner.add_subparsers(dest="partner_action", required=True, metavar="ACTION")
    invite = actions.add_parser(
        "invite",
        help="a one-time code that links whoever sends /join CODE to the organization",
    )
    invite.add_argument("organization_id", metavar="ORG_ID", help="the HSDS organization id")
    invite.set_defaults(run=command_invite)


async def command_invite(settings: Settings, args: argparse.Namespace) -> int:
    await upgrade_database_async(settings.database_url)
    async with open_database(settings) as sessions, sessions() as session, session.begin():
        organization = await session.get(Organization, args.organization_id)
        if organization is None:
            raise UsageError(f"no organization with the id '{args.organization_id}'")
        invitation = await create_invitation(
            session,
            role=Role.PARTNER,
            created_by=CLI_CREATOR,
            organization_id=organization.id,
        )
    until = invitation.expires_at.astimezone(settings.zone)
    print(f"Invitation for a partner of {organization.name}, once, until {until:%Y-%m-%d}.")
    print(f"They send the bot: /join {display_code(invitation.code)}")
    return 0


async def build_stale(
    session: AsyncSession, settings: Settings, args: argparse.Namespace
) -> ReportTable:
    today = utcnow().astimezone(settings.zone).date()
    rows: list[Mapping[str, Any]] = [
        {
            "service_id": listing.service_id,
            "service": listing.service,
            "organization": listing.organization,
            "partners": listing.partners,
            "assured_date": listing.assured_date,
            "last_changed": listing.last_changed.astimezone(settings.zone).date()
            if listing.last_changed
            else None,
            "asked_at": listing.asked_at.astimezone(settings.zone) if listing.asked_at else None,
        }
        for listing in await stale_listings(session, today)
    ]
    return ReportTable(
        columns=(
            "service_id",
            "service",
            "organization",
            "partners",
            "assured_date",
            "last_changed",
            "asked_at",
        ),
        rows=rows,
        title=f"Services nobody confirmed in the last 12 months (as of {today:%Y-%m-%d}); "
        "partners: how many can be asked",
    )


async def build_assets(
    session: AsyncSession, settings: Settings, args: argparse.Namespace
) -> ReportTable:
    from bot.cli.reports import period  # the shared --since/--until reading

    since, until = period(settings, args)
    assets = await asset_map(session, default_lexicon(), settings.zone, since, until)
    return ReportTable(
        columns=(
            "need",
            "label",
            "families_asked",
            "searches",
            "survey_answers",
            "services",
            "farthest_km",
            "nearest_by_school",
            "evenings",
            "weekends",
        ),
        rows=[
            {
                "need": need.need,
                "label": need.label,
                "families_asked": need.families_asked,
                "searches": need.searches,
                "survey_answers": need.survey_answers,
                "services": need.services,
                "farthest_km": _km(need.farthest_km, args.format),
                "nearest_by_school": nearest_text(need),
                "evenings": need.evenings,
                "weekends": need.weekends,
            }
            for need in assets.needs
        ],
        title=_assets_title(since, until),
    )


def _km(value: float | None, report_format: str) -> float | str | None:
    """A number in JSON and CSV; "0.7 km" in text, which would print 0.7 as a share (70%)."""
    if value is None or report_format != "text":
        return value
    return f"{value:.1f} km"


def _assets_title(since: datetime, until: datetime) -> str:
    return (
        f"Needs and the services meeting them, {since:%Y-%m-%d} to {until:%Y-%m-%d}: "
        "biggest gap (families who asked per service) first"
    )
