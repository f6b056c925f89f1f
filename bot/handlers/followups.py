"""Closing the loop with families: the check-in after a card ("Did you get help?"), its
answers, and reporting a problem with a listing.

Callback data (all validated: the check-in must be the chat's own, the service must exist):
fu:<id>:<y|r|t|n|w|x> a check-in's answer (x: no more check-ins), rp:<ref> report a problem,
rpk:<problem>:<ref> what is wrong, rps:<id> send without the right value, rpc:<id> cancel.
While a family types the right value, its text is the report's, not a search (GROUP, tried
before the others); the draft is in the database, so a restart loses nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardButton, Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.i18n import Translate, translator
from bot.render import button, escape, keyboard
from bot.services import Caller, caller, services
from knowledge.finder import ResourceFinder
from knowledge.followups import (
    ANSWER_CODES,
    DETAIL_OPEN,
    STOP_CODE,
    Answer,
    answer_check_in,
    check_in_of,
    count_outcome,
    schedule_check_in,
    stop_check_ins,
)
from knowledge.listing_reports import discard_drafts, draft_of, start_report, submit_report
from knowledge.models import Role, Service
from knowledge.search import words_of

log = logging.getLogger(__name__)

GROUP = -3  # before a coordinator's relayed reply (-2), ask-a-person (-1), the search (0)


# --- texts the scheduler sends (jobs/ knows no catalogs) -----------------------------------------


def answer_labels(_: Translate) -> dict[str, str]:
    return {
        "y": "✅ " + _("Yes, I got help"),
        "r": "📵 " + _("Couldn't reach them"),
        "t": "🚫 " + _("Not eligible / turned away"),
        "n": "⏳ " + _("Didn't go yet"),
        "w": "⚠️ " + _("The information was wrong"),
    }


class ChatCheckInTexts:
    """The check-in as the family reads it, in its language, with its buttons."""

    def check_in(self, service_name: str, language: str, again: bool) -> str:
        _ = translator(language)
        question = _("Did you get help from {service}?").format(
            service=f"<b>{escape(service_name)}</b>"
        )
        lead = _("A few days ago you had not gone yet.") + " " if again else ""
        return (
            "👋 "
            + lead
            + question
            + "\n"
            + escape(_("Your answer helps the school know which services work for families."))
        )

    def check_in_markup(self, follow_up_id: int, language: str) -> dict[str, Any]:
        _ = translator(language)
        rows = [[(label, f"fu:{follow_up_id}:{code}")] for code, label in answer_labels(_).items()]
        rows.append([("🔕 " + _("No more check-ins"), f"fu:{follow_up_id}:{STOP_CODE}")])
        return {
            "inline_keyboard": [
                [{"text": text, "callback_data": data} for text, data in row] for row in rows
            ]
        }


# --- after a card: count it, and owe a check-in --------------------------------------------------


def need_for(finder: ResourceFinder, state: dict[str, Any] | None) -> str | None:
    """The need the family was looking into: the category it browsed, or the one its words
    named ("dentist for my kid" -> dental)."""
    state = state or {}
    if state.get("concept"):
        return str(state["concept"])
    text = state.get("text")
    if not text:
        return None
    index = finder.index
    concepts, _evidence = index.find_concepts([index.read_word(w) for w in words_of(text)])
    return max(concepts, key=lambda c: concepts[c]) if concepts else None


async def after_details(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller, service_id: str
) -> None:
    """A family opened a service's details or map: count it, and check in later (the rules are
    knowledge.followups'). Never in the way of the answer: a failure here is only logged."""
    app = services(context)
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        return
    need = need_for(app.finder, (context.chat_data or {}).get("search"))
    try:
        async with app.transaction() as session:
            await count_outcome(session, DETAIL_OPEN, service_id, need)
            scheduled = (
                await schedule_check_in(
                    session,
                    chat_id=who.chat_id,
                    service_id=service_id,
                    need=need,
                    language=who.language,
                    delay=app.settings.follow_up_delay,
                )
                if who.role == Role.FAMILY
                else None
            )
    except Exception:
        log.exception("Could not record a detail open")
        return
    follow_ups = context.bot_data.get("follow_ups")
    if scheduled is not None and follow_ups is not None:
        await follow_ups.rearm()


# --- the check-in's answers ----------------------------------------------------------------------


def _finder_buttons(need: str | None, _: Translate) -> list[list[InlineKeyboardButton]]:
    rows = [[button("🔎 " + _("Other places for this need"), "con", need)]] if need else []
    rows.append([button("🙋 " + _("Ask a person"), "ask")])
    return rows


def problem_buttons(
    service_id: str, _: Translate, after_check_in: bool = False
) -> list[list[InlineKeyboardButton]]:
    problems = [
        ("📞 " + _("Wrong phone"), "phone"),
        ("🕘 " + _("Wrong hours"), "hours"),
        ("📍 " + _("Wrong address"), "address"),
        ("🚫 " + _("Closed for good"), "closed"),
        ("✏️ " + _("Something else"), "other"),
    ]
    # "c:" marks a report that came from a check-in's "The information was wrong".
    via = ("c",) if after_check_in else ()
    return [[button(label, "rpk", problem, *via, service_id)] for label, problem in problems]


async def check_in_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An answer to "Did you get help?" (or [No more check-ins]), from the chat it was sent to."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _prefix, raw_id, code = query.data.split(":")
    who = await caller(update, context)
    _ = who._
    app = services(context)
    follow_up_id = int(raw_id) if raw_id.isdigit() and len(raw_id) <= 12 else -1
    if code == STOP_CODE:
        async with app.transaction() as session:
            mine = await check_in_of(session, follow_up_id, who.chat_id)
            if mine is not None:
                await stop_check_ins(session, who.chat_id)
        if mine is None:
            await query.answer(_("That button has expired. Type your question or use /start."))
            return
        await query.answer()
        await query.edit_message_text(
            escape(_("OK, no more check-ins. Thank you for using the bot.")),
            reply_markup=None,
        )
        return
    async with app.transaction() as session:
        result = await answer_check_in(
            session,
            follow_up_id,
            who.chat_id,
            ANSWER_CODES[code],
            ask_again_after=app.settings.follow_up_delay,
        )
        service = await session.get(Service, result.follow_up.service_id) if result else None
    if result is None or service is None:
        await query.answer(_("That button has expired. Type your question or use /start."))
        return
    if not result.counted:
        await query.answer(_("Thank you, we have your answer already."))
        return
    await query.answer(_("Thank you!"))
    chosen = answer_labels(_)[code]
    question = ChatCheckInTexts().check_in(service.name, who.language, again=False)
    await query.edit_message_text(
        question.split("\n")[0] + "\n" + escape(_("Your answer: {answer}").format(answer=chosen)),
        reply_markup=None,
    )
    await _after_answer(update, who, result.answer, result.asks_again, result.follow_up, service)


async def _after_answer(
    update: Update, who: Caller, answer: Answer, asks_again: bool, follow_up: Any, service: Service
) -> None:
    _ = who._
    message = update.effective_message
    assert message is not None
    need = follow_up.need
    if answer == Answer.GOT_HELP:
        text, rows = _("That is good to hear. Thank you for telling us!"), []
    elif answer == Answer.COULD_NOT_REACH:
        text = _(
            "Sorry you could not reach them. Maybe another place can help, "
            "or a person at the school."
        )
        rows = _finder_buttons(need, _)
        rows.append([button("⚠️ " + _("Report a problem"), "rp", service.id)])
    elif answer == Answer.TURNED_AWAY:
        text = _("Sorry they could not help. Here are other ways to find help.")
        rows = _finder_buttons(need, _)
    elif answer == Answer.NOT_YET:
        text = (
            _("OK. I will ask once more in a few days.")
            if asks_again
            else _("OK, thank you. I won't ask again about this one.")
        )
        rows = []
    else:
        text = _("Sorry about that. What was wrong with {service}?").format(
            service=f"<b>{escape(service.name)}</b>"
        )
        await message.reply_text(
            text, reply_markup=keyboard(problem_buttons(service.id, _, after_check_in=True))
        )
        return
    await message.reply_text(
        text if "<b>" in text else escape(text), reply_markup=keyboard(rows) if rows else None
    )


# --- report a problem ----------------------------------------------------------------------------


async def report_problem(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Report a problem] on a card: what is wrong?"""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    app = services(context)
    record = await app.finder.service_record(app.finder.resolve(query.data.split(":", 1)[1]))
    message = update.effective_message
    assert message is not None
    if record is None:
        await message.reply_text(
            escape(who._("Sorry, that listing is no longer in the directory."))
        )
        return
    await message.reply_text(
        who._("What is wrong with {service}?").format(service=f"<b>{escape(record.name)}</b>"),
        reply_markup=keyboard(problem_buttons(record.id, who._)),
    )


def _prompt(problem: str, _: Translate) -> str:
    # The msgids are spelled out so that extraction finds them.
    texts = {
        "phone": _("What is the right phone number? Type it below, or tap Skip."),
        "hours": _("What are the right hours? For example “Mon-Fri 9-5, Sat 10-2”. Or tap Skip."),
        "address": _("What is the right address? Type it below, or tap Skip."),
        "other": _("Tell us in a few words what is wrong."),
    }
    return texts[problem]


async def choose_problem(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The family picked what is wrong: file it, or ask for the right value first."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    _ = who._
    app = services(context)
    _prefix, problem, reference = query.data.split(":", 2)
    source = "check_in" if reference.startswith("c:") else "card"
    service_id = app.finder.resolve(reference.removeprefix("c:"))
    async with app.transaction() as session:
        started = await start_report(
            session, service_id=service_id, problem=problem, chat_id=who.chat_id, source=source
        )
        report_id = started[0].id if started else None
        status = started[0].status if started else None
    if started is None or report_id is None:
        await query.edit_message_text(
            escape(_("Sorry, that listing is no longer in the directory.")), reply_markup=None
        )
        return
    if not started[1]:
        await query.edit_message_text(
            escape(_("You told us about this already. Thank you! A coordinator will check it.")),
            reply_markup=None,
        )
        return
    if status == "open":  # closed for good: nothing more to ask
        app.finder.forget_record(service_id)
        await query.edit_message_text(_thanks(_), reply_markup=None)
        return
    app.reporting.add(who.chat_id)
    rows = [[button(_("Skip"), "rps", str(report_id))]] if problem != "other" else []
    rows.append([button(_("Cancel"), "rpc", str(report_id))])
    await query.edit_message_text(escape(_prompt(problem, _)), reply_markup=keyboard(rows))


def _thanks(_: Translate) -> str:
    return escape(
        _("Thank you! A coordinator will check it and fix the listing. This helps every family.")
    )


async def _submit(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    who: Caller,
    report_id: int,
    text: str | None,
) -> bool:
    app = services(context)
    async with app.transaction() as session:
        report = await submit_report(session, report_id, who.chat_id, text)
        service_id = report.service_id if report else None
    app.reporting.discard(who.chat_id)
    if service_id is not None:
        app.finder.forget_record(service_id)
    return service_id is not None


async def skip_suggestion(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Skip]: send the report without the right value."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    raw = query.data.split(":", 1)[1]
    sent = raw.isdigit() and await _submit(update, context, who, int(raw), None)
    await query.edit_message_text(
        _thanks(who._) if sent else escape(who._("That report was sent or cancelled already.")),
        reply_markup=None,
    )


async def cancel_report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Cancel]: drop the draft."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    who = await caller(update, context)
    async with services(context).transaction() as session:
        await discard_drafts(session, who.chat_id)
    services(context).reporting.discard(who.chat_id)
    await query.edit_message_text(escape(who._("OK, nothing was sent.")), reply_markup=None)


async def report_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """While a report waits for its text, the family's next message is that text."""
    app = services(context)
    chat = update.effective_chat
    if chat is None or chat.id not in app.reporting:
        return  # no report waits for its text: the usual handlers answer
    message = update.effective_message
    assert message is not None and message.text is not None
    who = await caller(update, context)
    async with app.sessions() as session:
        draft = await draft_of(session, who.chat_id)
    app.reporting.discard(chat.id)
    if draft is None:
        return
    await _submit(update, context, who, draft.id, message.text)
    await message.reply_text(_thanks(who._))
    raise ApplicationHandlerStop
