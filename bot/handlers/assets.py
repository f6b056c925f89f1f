"""The asset map in /stats: a chart of needs (families who asked beside the services meeting
each) and a map picture of schools and services, drawn from the coordinates."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from telegram import Message

from bot.render import escape
from bot.services import BotServices, Caller
from knowledge.assets import asset_map, assets_chart, assets_map_picture
from knowledge.models import utcnow

PERIOD = timedelta(days=90)  # as `report assets` by default


async def send_asset_map(
    message: Message, who: Caller, app: BotServices, until: datetime | None = None
) -> None:
    """Two pictures for coordinators (the caller checked); nothing when no need shows yet."""
    _ = who._
    until = until or utcnow()
    async with app.sessions() as session:
        assets = await asset_map(
            session,
            app.finder.lexicon,
            app.settings.zone,
            until - PERIOD,
            until,
            index=app.finder.index,
            language=who.language,
        )
    if not assets.needs:
        return
    chart = await asyncio.to_thread(
        assets_chart,
        assets.needs,
        _("Where needs outrun services (last 90 days)"),
        _("Families who asked"),
        _("Services"),
    )
    await message.reply_photo(
        photo=chart,
        caption=escape(
            _("Needs with the most families asking per service first. `report assets` has all.")
        ),
    )
    picture = await asyncio.to_thread(
        assets_map_picture,
        assets.needs,
        assets.documents,
        assets.schools,
        _("Schools and the services for the biggest gaps"),
        _("School"),
    )
    if picture is not None:
        await message.reply_photo(
            photo=picture,
            caption=escape(
                _("Stars are schools; each colour is one need (families who asked / services).")
            ),
        )
