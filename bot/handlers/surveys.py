"""Families answering surveys and polls: one question at a time, with buttons, in one message
that turns into the next question (and at the end into the thanks).

Callback data ``sq:<run>:<position>:<action>[:<option>]``; actions b (start or go on), o (an
option: single choice answers, multiple choice ticks), d (done ticking), k (skip), t (other:
the next text is the answer), p (later). The position makes an old button harmless: the family
gets the question it is on. Progress is in the database, so a restart loses nothing; /survey
brings back the question a family stopped at. While an "other" answer is awaited, the family's
next text is that answer, not a search (GROUP, tried first).
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.i18n import Translate, translator
from bot.render import escape, keyboard
from bot.services import Caller, caller, services
from knowledge.models import SurveyRun
from knowledge.survey_answers import POLL, Action, Step, open_progress, press
from knowledge.survey_answers import answer_other as record_other
from knowledge.surveys import Survey

GROUP = -6  # before everything else, SMS numbered replies (-5) included: the text is the answer
# chat_data: runs this chat finished since the bot started. In memory only: the database keeps
# no list of who answered; it stops a double tap on a poll from counting twice.
FINISHED_KEY = "surveys_finished"
ACTIONS: dict[str, Action] = {
    "b": "begin",
    "o": "option",
    "d": "done",
    "k": "skip",
    "t": "other",
    "p": "pause",
}
PATTERN = r"^sq:\d{1,12}:\d{1,3}:[bodktp](:\d{1,3})?$"


def _data(run_id: int, position: int, action: str, option: int | None = None) -> str:
    parts = ["sq", str(run_id), str(position), action]
    return ":".join(parts + ([str(option)] if option is not None else []))


def _button(
    label: str, run_id: int, position: int, action: str, option: int | None = None
) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=_data(run_id, position, action, option))


def _as_json(rows: list[list[InlineKeyboardButton]]) -> dict[str, Any]:
    return {
        "inline_keyboard": [
            [{"text": b.text, "callback_data": b.callback_data} for b in row] for row in rows
        ]
    }


# --- what families read ----------------------------------------------------------------------


def _question_view(step: Step, _: Translate, language: str) -> tuple[str, list[list[Any]]]:
    """A question as text and buttons (the ticked ones marked)."""
    question = step.question
    assert question is not None
    run, survey = step.run, step.survey
    if run.kind == POLL:
        head = "📊 <b>" + escape(_("A quick question from your school")) + "</b>"
    else:
        count = f"{step.position + 1}/{len(survey.questions)}"
        head = f"📋 <b>{escape(survey.titled(language))}</b> · {count}"
    lines = [head, "", "<b>" + escape(question.asks(language)) + "</b>"]
    if question.kind == "multiple":
        lines.append("<i>" + escape(_("Tick all that apply, then press Done.")) + "</i>")
    rows: list[list[Any]] = []
    for index, option in enumerate(question.options):
        mark = "✅ " if index in step.ticked else ""
        rows.append([_button(mark + option.label(language), run.id, step.position, "o", index)])
    if question.other:
        rows.append([_button("✏️ " + _("Other (write it)"), run.id, step.position, "t")])
    last = []
    if question.kind == "multiple":
        last.append(_button("✔️ " + _("Done"), run.id, step.position, "d"))
    if question.skip:
        last.append(_button("⏭ " + _("Skip"), run.id, step.position, "k"))
    if run.kind != POLL:
        last.append(_button("⏸ " + _("Later"), run.id, step.position, "p"))
    rows.append(last)
    return "\n".join(lines), rows


def question_view(step: Step, language: str) -> tuple[str, Any]:
    text, rows = _question_view(step, translator(language), language)
    return text, keyboard(rows)


class ChatSurveyTexts:
    """The invitation the outbox carries, in the family's language (jobs.surveys.SurveyTexts)."""

    def invitation(self, run: SurveyRun, survey: Survey, language: str) -> str:
        _ = translator(language)
        if run.kind == POLL:
            text, _rows = _question_view(Step("ask", run, survey), _, language)
            return text
        lines = ["📋 <b>" + escape(survey.titled(language)) + "</b>", ""]
        if survey.intro:
            lines.append(escape(survey.intro.get(language) or survey.intro["en"]))
        lines.append(
            "<i>"
            + escape(
                _("{count} questions. Skip any, stop and go on later.").format(
                    count=len(survey.questions)
                )
            )
            + "</i>"
        )
        return "\n".join(lines)

    def invitation_markup(self, run: SurveyRun, survey: Survey, language: str) -> dict[str, Any]:
        _ = translator(language)
        if run.kind == POLL:
            _text, rows = _question_view(Step("ask", run, survey), _, language)
            return _as_json(rows)
        return _as_json([[_button("▶️ " + _("Start"), run.id, 0, "b")]])


def _finished_text(step: Step, _: Translate, language: str) -> str:
    thanks = step.survey.thanks
    if thanks:
        return "🙏 " + escape(thanks.get(language) or thanks["en"])
    return "🙏 " + escape(_("Thank you! Your answers were saved, without your name."))


def _paused_text(step: Step, _: Translate, language: str) -> str:
    return (
        "⏸ <b>"
        + escape(step.survey.titled(language))
        + "</b>\n"
        + escape(
            _(
                "Your answers so far are saved. Tap Continue when you have a moment, "
                "or send /survey."
            )
        )
    )


def _other_prompt(step: Step, _: Translate, language: str) -> str:
    question = step.question
    assert question is not None
    return (
        "<b>"
        + escape(question.asks(language))
        + "</b>\n✏️ "
        + escape(_("Type your answer in a few words and send it."))
    )


# --- the family's presses and texts ----------------------------------------------------------


async def survey_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press on a survey question (or [Start], [Continue])."""
    query = update.callback_query
    assert query is not None and query.data is not None
    who = await caller(update, context)
    _ = who._
    parts = query.data.split(":")
    run_id, position, action = int(parts[1]), int(parts[2]), ACTIONS[parts[3]]
    option = int(parts[4]) if len(parts) > 4 else None
    chat_data = context.chat_data if context.chat_data is not None else {}
    finished: set[int] = chat_data.setdefault(FINISHED_KEY, set())
    if run_id in finished:  # a double tap on a poll, an old [Start]: answered already
        await query.answer(_("You have answered this one already. Thank you!"))
        return
    async with services(context).transaction() as session:
        step = await press(
            session,
            run_id,
            who.chat_id,
            position=position,
            action=action,
            option=option,
            language=who.language,
        )
    if step is None:
        await query.answer(_("That survey has ended. Thank you!"))
        return
    if step.state == "gone":
        await query.answer(_("You have answered this one already. Thank you!"))
        return
    if step.state == "finished":
        finished.add(run_id)
    if step.state == "stale":
        await query.answer(_("That one is answered already. Here is where you are."))
    else:
        await query.answer()
    await _show(update, context, who, step, edit=True)


async def _show(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller, step: Step, *, edit: bool
) -> None:
    """Show the step: edit the message pressed, or send a new one (after a typed answer)."""
    _ = who._
    markup = None
    if step.state == "finished":
        text = _finished_text(step, _, who.language)
    elif step.state == "paused":
        text = _paused_text(step, _, who.language)
        markup = keyboard([[_button("▶️ " + _("Continue"), step.run.id, step.position, "b")]])
    elif step.state == "other":
        text = _other_prompt(step, _, who.language)
        markup = keyboard([[_button("↩️ " + _("Back"), step.run.id, step.position, "b")]])
        services(context).typing_other.add(who.chat_id)
    else:
        text, markup = question_view(step, who.language)
    query = update.callback_query
    if edit and query is not None and query.message is not None:
        await query.edit_message_text(text, reply_markup=markup)
        return
    message = update.effective_message
    assert message is not None
    await message.reply_text(text, reply_markup=markup)


async def other_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """While a family is asked to write its "other" answer, its next text is that answer."""
    app = services(context)
    chat = update.effective_chat
    if chat is None or chat.id not in app.typing_other:
        return  # not writing one: the usual handlers answer
    message = update.effective_message
    assert message is not None and message.text is not None
    who = await caller(update, context)
    async with app.transaction() as session:
        step = await record_other(session, who.chat_id, message.text)
    app.typing_other.discard(chat.id)
    if step is None:
        return
    if step.state == "finished" and context.chat_data is not None:
        context.chat_data.setdefault(FINISHED_KEY, set()).add(step.run.id)
    await _show(update, context, who, step, edit=False)
    raise ApplicationHandlerStop


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller) -> None:
    """/survey from a family: the question it stopped at, or say there is none open."""
    message = update.effective_message
    assert message is not None
    async with services(context).transaction() as session:
        progress = await open_progress(session, who.chat_id)
        step = (
            await press(
                session,
                progress.run_id,
                who.chat_id,
                position=progress.position,
                action="begin",
                language=who.language,
            )
            if progress is not None
            else None
        )
    if step is None:
        await message.reply_text(escape(who._("You have no survey to finish. Thank you!")))
        return
    await _show(update, context, who, step, edit=False)
