"""/stats for coordinators: what families asked this week, what they didn't find, a chart, and
the asset map (needs against services, and a map picture)."""

from __future__ import annotations

import asyncio

from babel.dates import format_skeleton
from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers.assets import send_asset_map
from bot.handlers.events import is_coordinator
from bot.handlers.outcomes import send_outcomes
from bot.i18n import Translate, supported_language
from bot.render import escape, one_line, trim
from bot.services import caller, services
from knowledge.crisis import KINDS, DangerCounts, count_dangers
from knowledge.models import utcnow
from knowledge.stats import community_stats, stats_chart


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The week's numbers, the gap report, and a chart of top and unmet needs."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    _ = who._
    if not await is_coordinator(update, context):
        await message.reply_text(escape(_("Only coordinators can see the statistics.")))
        return
    app = services(context)
    lexicon = app.finder.lexicon
    async with app.sessions() as session:
        stats = await community_stats(session, utcnow(), stopwords=lexicon.stopwords)
        dangers = await count_dangers(session, stats.since, stats.until)

    def label(key: str) -> str:
        concept = lexicon.concept(key)
        return concept.label.get(who.language) or concept.label.get("en", key) if concept else key

    since = format_skeleton(
        "MMMEd", stats.since, tzinfo=app.settings.zone, locale=supported_language(who.language)
    )
    lines = [
        "📊 <b>" + escape(_("The last 7 days (since {date})").format(date=since)) + "</b>",
        "",
        escape(_("Subscribers: {count}").format(count=stats.subscribers)),
        escape(
            _("Searches: {count} ({unanswered} found nothing good)").format(
                count=stats.searches, unanswered=stats.unanswered
            )
        ),
        escape(
            _("Feedback: 👍 {helpful} helpful · 👎 {not_helpful} not helpful").format(
                helpful=stats.helpful, not_helpful=stats.not_helpful
            )
        ),
        escape(danger_line(dangers, _)),
        "",
        "<b>" + escape(_("Top needs")) + "</b>",
    ]
    if stats.top_needs:
        lines += [
            f"{n}. {escape(label(key))}: {count}"
            for n, (key, count) in enumerate(stats.top_needs, start=1)
        ]
    else:
        lines.append(escape(_("No searches yet.")))
    lines += ["", "<b>" + escape(_("Gaps: questions that found nothing good")) + "</b>"]
    if stats.gaps:
        for gap in stats.gaps:
            head = f"{escape(label(gap.concept))}: " if gap.concept else ""
            lines.append(f"• {head}“{escape(one_line(gap.example, 80))}” ×{gap.count}")
    else:
        lines.append(escape(_("None this week.")))
    await message.reply_text(trim("\n".join(lines)))
    await send_outcomes(message, who, app, stats.since, stats.until)
    if not stats.is_empty:
        png = await asyncio.to_thread(
            stats_chart,
            stats,
            label,
            _("Top needs this week"),
            _("Unmet needs this week"),
            _("Nothing yet"),
            _("Searches"),
        )
        await message.reply_photo(
            photo=png, caption=escape(_("Top needs and unmet needs this week."))
        )
    await send_asset_map(message, who, app)


def danger_line(dangers: DangerCounts, _: Translate) -> str:
    """How often the crisis reply fired, and for what: counts only (no text was ever kept)."""
    names = {
        "emergency": _("emergency"),
        "suicide": _("suicide or self-harm"),
        "abuse": _("abuse or violence"),
        "threat": _("followed or threatened"),
    }
    total = _("Crisis replies: {count}").format(count=dangers.replies)
    kinds = ", ".join(f"{names[k]} {dangers.by_kind[k]}" for k in KINDS if dangers.by_kind.get(k))
    return f"🚨 {total}" + (f" ({kinds})" if kinds else "")
