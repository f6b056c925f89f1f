"""The freshness line on a service's card ("✔️ Checked 3 months ago"), and its
[Report a problem] button. Kept apart from render.py, which many hands edit."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from babel.dates import format_timedelta
from telegram import InlineKeyboardButton

from bot.i18n import Translate, supported_language
from knowledge.directory import ServiceRecord
from knowledge.freshness import SEVERAL_REPORTS, STALE_AFTER_DAYS


def freshness_line(record: ServiceRecord, now: datetime, _: Translate) -> str | None:
    """When the listing was last checked, or a warning to call first; None when unknown."""
    if record.open_reports >= SEVERAL_REPORTS:
        return "⚠️ " + html.escape(_("Families reported problems with this listing: call first."))
    checked = record.last_checked(now.tzinfo or UTC)
    if checked is None:
        return None
    age = now.date() - checked
    if age.days <= 0:
        return "✔️ " + html.escape(_("Checked today"))
    # The catalog names its own language, so the words match the rest of the card.
    # Translators: the language code of this catalog ("es"), not a word to translate.
    locale = supported_language(_("en"))
    when = format_timedelta(-age, granularity="day", add_direction=True, locale=locale)
    if age.days > STALE_AFTER_DAYS:
        return "⚠️ " + html.escape(
            _("May be out of date: call first (checked {when}).").format(when=when)
        )
    return "✔️ " + html.escape(_("Checked {when}").format(when=when))


def report_problem_button(service_id: str, _: Translate) -> InlineKeyboardButton:
    from bot.render import button  # render imports this module

    return button("⚠️ " + _("Report a problem"), "rp", service_id)
