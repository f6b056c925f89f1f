"""The outcomes part of /stats: did families get help? A chart of check-in answers per need."""

from __future__ import annotations

import asyncio
from datetime import datetime

from telegram import Message

from bot.render import escape
from bot.services import BotServices, Caller
from knowledge.outcomes import OutcomeCounts, outcomes, outcomes_chart


def _summary(total: OutcomeCounts, who: Caller) -> str:
    _ = who._
    return _(
        "Check-ins: {sent} sent, {answered} answered: {got_help} got help, {could_not_reach} "
        "could not reach them, {turned_away} turned away, {wrong} found wrong information."
    ).format(
        sent=total.check_ins_sent,
        answered=total.answered,
        got_help=total.answers["got_help"],
        could_not_reach=total.answers["could_not_reach"],
        turned_away=total.answers["turned_away"],
        wrong=total.answers["wrong_information"],
    )


async def send_outcomes(
    message: Message, who: Caller, app: BotServices, since: datetime, until: datetime
) -> None:
    """The period's check-in answers per need, as a PNG with a one-line summary; nothing when
    no check-in went out."""
    _ = who._
    lexicon = app.finder.lexicon
    async with app.sessions() as session:
        result = await outcomes(session, since, until)
    total = OutcomeCounts()
    for group in result.needs:
        total.check_ins_sent += group.total.check_ins_sent
        for key, count in group.total.answers.items():
            total.answers[key] += count
    if not total.check_ins_sent and not total.answered:
        return

    def label(need: str | None) -> str:
        concept = lexicon.concept(need) if need else None
        if concept is None:
            return need or _("Need not known")
        return concept.label.get(who.language) or concept.label.get("en", need or "")

    png = await asyncio.to_thread(
        outcomes_chart,
        result,
        label,
        _("Did families get help? Answers to check-ins"),
        {
            "got_help": _("Got help"),
            "could_not_reach": _("Couldn't reach them"),
            "turned_away": _("Turned away"),
            "wrong_information": _("Wrong information"),
            "not_yet": _("Didn't go yet"),
        },
        _("Answers"),
    )
    caption = escape(_summary(total, who))
    if png is None:
        await message.reply_text(caption)
    else:
        await message.reply_photo(photo=png, caption=caption)
