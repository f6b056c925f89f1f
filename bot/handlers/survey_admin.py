"""Coordinators' surveys and polls: /survey (pick a survey, an audience, [Send]; results) and
/poll (a one-question poll written in the message; results).

Every press reads the role from the database, never from the client. Buttons carry only ids:
``sv:p:<survey>`` drafts a run, ``sv:a:<run>:<school|all>`` sets its audience, ``sv:s:<run>``
sends it through the outbox (once: the draft flips in one statement), ``sv:x:<run>`` drops
it, ``sv:r:<run>`` shows the results of that run's survey.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.handlers import surveys as family_side
from bot.i18n import Translate
from bot.render import button, escape, keyboard, split_message
from bot.services import Caller, caller, services
from jobs.surveys import send_survey
from knowledge.models import Role, SurveyRun
from knowledge.roles import role_of
from knowledge.subscriptions import School, count_subscribers, schools
from knowledge.survey_answers import (
    POLL,
    SurveyTally,
    discard_run,
    draft_of,
    draft_run,
    option_label,
    ordered_options,
    sent_runs,
    survey_of,
    tallies,
)
from knowledge.surveys import MAX_LABEL, OTHER, SKIP, available_surveys, poll_survey
from knowledge.text import short_hash

ALL = "all"
MAX_POLL_QUESTION = 300
MAX_POLL_OPTIONS = 10


async def _coordinator(update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller) -> bool:
    """Whether the chat is a coordinator now (the database says); refuse kindly if not."""
    app = services(context)
    async with app.transaction() as session:
        role = await role_of(session, who.chat_id, app.settings.coordinator_ids)
    if role == Role.COORDINATOR:
        return True
    refusal = who._("Sorry, only coordinators can do that.")
    await context.bot.send_message(who.chat_id, escape(refusal))
    return False


def _share(count: int, total: int) -> str:
    return f"{count / total:.0%}" if total else "–"


def _find_school(options: list[School], value: str) -> School | None:
    """A school from callback data: its id, or '#' and its hash when the id was too long."""
    return next((s for s in options if value in (s.id, "#" + short_hash(s.id))), None)


# --- /survey ---------------------------------------------------------------------------------


async def survey_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/survey: coordinators pick a survey to send (or see results); families go on with theirs."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    if who.role != Role.COORDINATOR:
        await family_side.resume(update, context, who)
        return
    if not await _coordinator(update, context, who):
        return
    _ = who._
    app = services(context)
    rows = [
        [button("📋 " + survey.titled(who.language), "sv", "p", survey.id)]
        for survey in available_surveys(app.settings.surveys_dir).values()
    ]
    async with app.sessions() as session:
        recent = await sent_runs(session)
    rows += _result_buttons(recent, _, who.language)
    await message.reply_text(
        escape(_("Which survey do you want to send to families?"))
        + "\n"
        + escape(_("You choose who gets it and confirm before anything is sent.")),
        reply_markup=keyboard(rows),
    )


def _result_buttons(
    runs: list[SurveyRun], _: Translate, language: str
) -> list[list[InlineKeyboardButton]]:
    return [
        [
            button(
                "📊 "
                + _("Results: {title}").format(title=survey_of(run).titled(language))[:50]
                + (f" ({run.sent_at:%m-%d})" if run.sent_at else ""),
                "sv",
                "r",
                str(run.id),
            )
        ]
        for run in runs
    ]


async def _preview(
    session: AsyncSession, run: SurveyRun, _: Translate, language: str
) -> tuple[str, InlineKeyboardMarkup]:
    survey = survey_of(run)
    audience = await count_subscribers(session, run.school_id)
    options = await schools(session)
    target = next((s for s in options if s.id == run.school_id), None)
    if run.kind == POLL:
        question = survey.questions[0]
        head = (
            "📊 <b>"
            + escape(question.asks(language))
            + "</b>\n"
            + "\n".join("• " + escape(option.label(language)) for option in question.options)
        )
    else:
        head = "📋 <b>{title}</b>\n{count}".format(
            title=escape(survey.titled(language)),
            count=escape(_("{count} questions.").format(count=len(survey.questions))),
        )
    where = escape(target.name) if target else escape(_("all schools"))
    lines = [
        head,
        "",
        escape(_("For {where}. Subscribers who will get it: {count}")).format(
            where=where, count=audience
        ),
    ]
    rows = []
    if len(options) > 1:
        for value, label in [(None, _("All schools")), *((s.id, s.name) for s in options)]:
            chosen = "✅ " if value == run.school_id else ""
            rows.append([button(chosen + label, "sv", "a", str(run.id), value or ALL)])
    rows.append(
        [
            button("📤 " + _("Send"), "sv", "s", str(run.id)),
            button("✖️ " + _("Cancel"), "sv", "x", str(run.id)),
        ]
    )
    return "\n".join(lines), keyboard(rows)


async def survey_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pick, target, send, cancel a survey or poll, or see its results (coordinators only)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    _ = who._
    if not await _coordinator(update, context, who):
        return
    app = services(context)
    parts = query.data.split(":")
    action = parts[1] if len(parts) > 1 else ""
    if action == "p":
        survey = available_surveys(app.settings.surveys_dir).get(parts[2] if len(parts) > 2 else "")
        if survey is None:
            await query.edit_message_text(escape(_("That survey is no longer available.")))
            return
        async with app.transaction() as session:
            fresh = await draft_run(session, survey, created_by=who.chat_id)
            shown, buttons = await _preview(session, fresh, _, who.language)
        await query.edit_message_text(shown, reply_markup=buttons)
        return
    run_id = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else -1
    if action == "r":
        await _show_results(update, context, who, run_id)
        return
    markup: InlineKeyboardMarkup | None
    async with app.transaction() as session:
        run = await draft_of(session, run_id, who.chat_id)
        if run is None:
            text, markup = escape(_("That survey was already sent or cancelled.")), None
        elif action == "x":
            await discard_run(session, run.id, who.chat_id)
            text, markup = escape(_("Cancelled. Nothing was sent.")), None
        elif action == "a" and len(parts) > 3:
            chosen = _find_school(await schools(session), parts[3])
            if (chosen.id if chosen else None) == run.school_id:
                return  # already so: editing to the same text is an error in Telegram
            run.school_id = chosen.id if chosen else None
            text, markup = await _preview(session, run, _, who.language)
        elif action == "s":
            if await count_subscribers(session, run.school_id) == 0:
                await context.bot.send_message(
                    who.chat_id,
                    escape(_("Nobody is subscribed there yet, so there is no one to send it to.")),
                )
                return
            sent = await send_survey(
                session,
                run.id,
                created_by=who.chat_id,
                school_id=run.school_id,
                texts=family_side.ChatSurveyTexts(),
            )
            if sent is None:
                text, markup = escape(_("That survey was already sent or cancelled.")), None
            else:
                text = "📤 " + escape(
                    _("Sent to {count} families. Their answers come in as they reply.").format(
                        count=sent[1]
                    )
                )
                markup = keyboard(_result_buttons([sent[0]], _, who.language))
        else:
            return
    await query.edit_message_text(text, reply_markup=markup)


# --- results ---------------------------------------------------------------------------------


def results_text(tally: SurveyTally, _: Translate, language: str) -> str:
    """Per question and option: how many and what share of those who answered it."""
    survey = tally.survey
    lines = [
        "📊 <b>" + escape(survey.titled(language)) + "</b>",
        escape(
            _("Families who started: {started}. Finished: {finished}.").format(
                started=tally.started, finished=tally.finished
            )
        ),
    ]
    for question in survey.questions:
        answered = tally.answered[question.id]
        lines += ["", "<b>" + escape(question.asks(language)) + "</b>"]
        seen = [option for q, option in tally.counts if q == question.id]
        for option_id in ordered_options(question, seen):
            count = tally.counts[(question.id, option_id)]
            if option_id == SKIP:
                if count:
                    lines.append("   " + escape(_("skipped: {count}").format(count=count)))
                continue
            label = (
                _("Other") if option_id == OTHER else option_label(question, option_id, language)
            )
            lines.append(f"• {escape(label)}: {count} ({_share(count, answered)})")
    return "\n".join(lines)


async def _show_results(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller, run_id: int
) -> None:
    async with services(context).sessions() as session:
        run = await session.get(SurveyRun, run_id)
        found = await tallies(session, run.survey_id) if run is not None else []
    if not found:
        await context.bot.send_message(who.chat_id, escape(who._("No answers yet.")))
        return
    for part in split_message(results_text(found[0], who._, who.language)):
        await context.bot.send_message(who.chat_id, part)


# --- /poll -----------------------------------------------------------------------------------


def read_poll(text: str) -> tuple[str, list[str]]:
    """The question and the choices: one per line after /poll, or separated by "|"."""
    body = text.split(None, 1)[1] if len(text.split(None, 1)) > 1 else ""
    parts = body.split("|") if "|" in body else body.splitlines()
    cleaned = [" ".join(part.split()) for part in parts]
    cleaned = [part.lstrip("-•*").strip() for part in cleaned if part]
    return (cleaned[0], cleaned[1:]) if cleaned else ("", [])


def _poll_problem(question: str, options: list[str], _: Translate) -> str | None:
    if not question or len(options) < 2:
        return _("Write the question and at least two choices, one per line.")
    if len(options) > MAX_POLL_OPTIONS:
        return _("At most {count} choices, please.").format(count=MAX_POLL_OPTIONS)
    if len(question) > MAX_POLL_QUESTION:
        return _("Keep the question under {count} characters.").format(count=MAX_POLL_QUESTION)
    if any(len(option) > MAX_LABEL for option in options):
        return _("Keep each choice under {count} characters.").format(count=MAX_LABEL)
    if len(set(options)) < len(options):
        return _("Two choices are the same.")
    return None


async def poll_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/poll QUESTION, then one choice per line: preview, audience, [Send] (coordinators)."""
    message = update.effective_message
    assert message is not None and message.text is not None
    who = await caller(update, context)
    if not await _coordinator(update, context, who):
        return
    _ = who._
    app = services(context)
    question, options = read_poll(message.text)
    problem = _poll_problem(question, options, _)
    if problem is not None:
        async with app.sessions() as session:
            recent = [run for run in await sent_runs(session, limit=20) if run.kind == POLL][:5]
        example = (
            _("Which evening suits family math night?")
            + "\n"
            + "\n".join([_("Tuesday"), _("Wednesday"), _("Thursday")])
        )
        await message.reply_text(
            escape(problem)
            + "\n\n"
            + escape(_("For example:"))
            + "\n<code>/poll "
            + escape(example)
            + "</code>",
            reply_markup=keyboard(_result_buttons(recent, _, who.language)) if recent else None,
        )
        return
    async with app.transaction() as session:
        run = await draft_run(
            session, poll_survey(question, options), created_by=who.chat_id, kind=POLL
        )
        text, markup = await _preview(session, run, _, who.language)
    await message.reply_text(text, reply_markup=markup)
