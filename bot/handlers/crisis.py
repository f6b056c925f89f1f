"""The crisis reply: danger in a message is answered first, with numbers to call, in one message.

911 (or the community's EMERGENCY_NUMBER) comes first; then, for the kinds the message showed,
the crisis line (CRISIS_LINE / CRISIS_TEXT_LINE), the domestic-violence hotline (DV_HOTLINE) and
the directory's own crisis and domestic-violence lines, each with a number a phone offers to
call. Search results come after it (bot/handlers/conversation.py), never instead of it.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.config import Settings
from bot.i18n import Translate
from bot.render import escape, phone_line
from bot.services import Caller, services, switch_language
from knowledge.crisis import Danger, default_crisis_signals, directory_lines, record_danger
from knowledge.directory import ServiceRecord
from knowledge.phones import dialable

log = logging.getLogger(__name__)


def crisis_text(
    danger: Danger, lines: dict[str, list[ServiceRecord]], settings: Settings, _: Translate
) -> str:
    """One short message: the emergency number, then what fits the kinds of danger."""
    emergency = escape(dialable(settings.emergency_number))
    if "emergency" in danger.kinds:
        first = "🚑 <b>" + escape(_("Call {number} now.")).format(number=emergency) + "</b> "
        first += escape(_("Stay on the line: they will tell you what to do until help comes."))
    else:
        first = (
            "🚨 <b>"
            + escape(_("If you or someone else is in danger right now, call {number}.")).format(
                number=emergency
            )
            + "</b>"
        )
        if "threat" in danger.kinds:
            first += " " + escape(_("If you can, go to a place with other people around."))
    parts = [first]
    if "suicide" in danger.kinds and (settings.crisis_line or settings.crisis_text_line):
        parts.append("💬 " + _crisis_line(settings, _))
    if "abuse" in danger.kinds and settings.dv_hotline:
        parts.append(
            "🏠 "
            + escape(
                _(
                    "Hurt or threatened by someone close to you? The domestic violence hotline "
                    "answers day and night, in confidence: {number}"
                )
            ).format(number=escape(dialable(settings.dv_hotline)))
        )
    shown: set[str] = set()
    for kind in danger.kinds:
        for record in lines.get(kind, []):
            if record.id in shown:
                continue
            shown.add(record.id)
            numbers = phone_line(record.phones, _)
            parts.append(f"<b>{escape(record.name)}</b>" + (f"\n{numbers}" if numbers else ""))
    return "\n\n".join(parts)


def _crisis_line(settings: Settings, _: Translate) -> str:
    call, text = settings.crisis_line, settings.crisis_text_line
    if call and call == text:
        how = _("call or text {number}").format(number=escape(dialable(call)))
    elif call and text:
        how = _("call {number} or text {text}").format(
            number=escape(dialable(call)), text=escape(dialable(text))
        )
    elif call:
        how = _("call {number}").format(number=escape(dialable(call)))
    else:
        how = _("text {number}").format(number=escape(dialable(text)))
    return escape(
        _("Thinking about suicide, or worried about someone who is? Any time, day or night: {how}.")
    ).format(how=how)


async def answer_danger(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller, danger: Danger
) -> tuple[Caller, list[ServiceRecord]]:
    """Send the crisis reply before anything else, then count it (kinds only). Returns the
    caller, now in the language the message was written in, and the lines shown."""
    message = update.effective_message
    assert message is not None
    if danger.language and danger.language != who.language:
        who = await switch_language(context, who, danger.language)
    app = services(context)
    await app.finder.refresh()
    lines = await directory_lines(app.finder, default_crisis_signals(), danger.kinds)
    await message.reply_text(
        crisis_text(danger, lines, app.settings, who._), disable_web_page_preview=True
    )
    try:
        async with app.transaction() as session:
            await record_danger(session, danger)
    except Exception:  # the count must never cost the person the rest of the answer
        log.exception("Could not count a crisis reply")
    shown = {record.id: record for kind in danger.kinds for record in lines.get(kind, [])}
    return who, list(shown.values())
