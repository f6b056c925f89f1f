"""/review for coordinators: families' reports of wrong listings, each with the listing beside
it, and [Apply the fix] or [Dismiss].

Callback data: rv:<report id>:<a|d|n|c> (apply, dismiss, next, cancel the edit) and
rv:<report id>:f:<field> (which field an "other" report is about). Every press checks the
role in the database: the data can be forged. A coordinator typing the corrected value is
recorded in the database (listing_report.editing_by), so a restart loses nothing; that text
is taken here (GROUP, before the family handlers), never searched.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, Message, Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.handlers.events import is_coordinator
from bot.i18n import Translate
from bot.render import button, escape, keyboard, one_line, service_details, trim
from bot.services import Caller, caller, services
from knowledge.listing_changes import Change, InvalidValue
from knowledge.listing_reports import (
    FIXABLE,
    apply_fix,
    count_open,
    dismiss,
    editing_of,
    open_report,
    open_reports,
    ready_fix,
    start_editing,
    stop_editing,
)
from knowledge.models import ListingReport

GROUP = -4  # before the family's report text (-3), the handoff (-2, -1), the search (0)
EDIT_KEY = "review_edit"  # chat_data: a report id being edited, None when known to be none


def problem_label(problem: str, _: Translate) -> str:
    return {
        "phone": "📞 " + _("Wrong phone"),
        "hours": "🕘 " + _("Wrong hours"),
        "address": "📍 " + _("Wrong address"),
        "closed": "🚫 " + _("Closed for good"),
        "other": "✏️ " + _("Something else"),
    }[problem]


def field_label(field: str, _: Translate) -> str:
    return {
        "phone": _("Phone"),
        "hours": _("Hours"),
        "address": _("Address"),
        "closed": _("Closed for good"),
        "status": _("Status"),
    }.get(field, field)


def ask_value(field: str, name: str, _: Translate) -> str:
    texts = {
        "phone": _("Type the right phone number for {service}, or /cancel."),
        "hours": _("Type the right hours for {service}, e.g. “Mon-Fri 9-5, Sat 10-2”, or /cancel."),
        "address": _(
            "Type the right address for {service}, e.g. “500 Oak St, Riverbend, IA 50310”, "
            "or /cancel."
        ),
    }
    return escape(texts[field]).format(service=f"<b>{escape(name)}</b>")


def invalid_value(field: str, _: Translate) -> str:
    texts = {
        "phone": _(
            "That does not look like a phone number. Try again, e.g. (515) 555-0100, or /cancel."
        ),
        "hours": _("I could not read those hours. Try e.g. “Mon-Fri 9-5, Sat 10-2”, or /cancel."),
        "address": _(
            "That does not look like an address. Try again with the street and number, or /cancel."
        ),
    }
    return escape(texts.get(field, texts["address"]))


async def _coordinator_only(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller
) -> bool:
    if await is_coordinator(update, context):
        return True
    message = update.effective_message
    if update.callback_query is not None:
        await update.callback_query.answer(who._("Only coordinators can review reports."))
    elif message is not None:
        await message.reply_text(escape(who._("Only coordinators can review reports.")))
    return False


async def _show(
    message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller, after: int = 0
) -> None:
    """The oldest open report (after report id `after`, for [Next]) with its listing."""
    _ = who._
    app = services(context)
    async with app.sessions() as session:
        queue = await open_reports(session)
        total = await count_open(session)
    later = [r for r in queue if r.id > after] or queue
    if not later:
        await message.reply_text(escape(_("No reports to review. Thank you!")))
        return
    report = later[0]
    position = queue.index(report) + 1
    record = await app.finder.service_record(report.service_id)
    lines = [
        "🛠 <b>"
        + escape(_("Report {number} of {total}").format(number=position, total=total))
        + "</b> · "
        + escape(problem_label(report.problem, _)),
        escape(
            _("Reported on {date}").format(
                date=f"{report.created_at.astimezone(app.settings.zone):%Y-%m-%d}"
            )
            + (" · " + _("after a check-in") if report.source == "check_in" else "")
        ),
    ]
    if report.suggestion:
        lines.append(
            escape(_("The family says: “{text}”").format(text=one_line(report.suggestion, 300)))
        )
    lines += ["", "<i>" + escape(_("The listing now:")) + "</i>"]
    listing = (
        service_details(record, app.local_now(), _)
        if record is not None
        else escape(report.service_id)
    )
    rows: list[list[InlineKeyboardButton]] = [
        [
            button("✅ " + _("Apply the fix"), "rv", str(report.id), "a"),
            button("🗑 " + _("Dismiss"), "rv", str(report.id), "d"),
        ]
    ]
    if total > 1:
        rows.append([button(_("Next") + " ▶️", "rv", str(report.id), "n")])
    await message.reply_text(trim("\n".join(lines) + "\n" + listing), reply_markup=keyboard(rows))


async def review_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The review queue, one report at a time."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    if await _coordinator_only(update, context, who):
        await _show(message, context, who)


def fixed_text(change: Change, name: str, _: Translate) -> str:
    if change.field == "status":
        text = _("Done: {service} is marked closed for good and no longer shows in searches.")
        return escape(text).format(service=f"<b>{escape(name)}</b>")
    head = escape(_("Fixed: {field} of {service}.")).format(
        field=escape(field_label(change.field, _).lower()), service=f"<b>{escape(name)}</b>"
    )
    was = escape(change.old or "—")
    return f"✅ {head}\n{was} → <b>{escape(change.new or '—')}</b>"


async def _apply(
    message: Message,
    context: ContextTypes.DEFAULT_TYPE,
    who: Caller,
    report: ListingReport,
    field: str,
    value: str,
) -> bool:
    """Apply and say so; False (after saying why) when the value does not fit the field."""
    app = services(context)
    try:
        async with app.transaction() as session:
            change = await apply_fix(
                session, report.id, field=field, value=value, coordinator=who.chat_id
            )
    except InvalidValue as error:
        await message.reply_text(invalid_value(error.field, who._))
        return False
    if context.chat_data is not None:
        context.chat_data[EDIT_KEY] = None
    if change is None:
        await message.reply_text(escape(who._("Someone already dealt with that report.")))
    else:
        await app.finder.refresh(force=True)
        record = await app.finder.service_record(report.service_id)
        await message.reply_text(
            fixed_text(change, record.name if record else report.service_id, who._)
        )
    await _show(message, context, who)
    return True


async def review_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Apply the fix], [Dismiss], [Next], a field for an "other" report, [Cancel]."""
    query = update.callback_query
    assert query is not None and query.data is not None
    who = await caller(update, context)
    if not await _coordinator_only(update, context, who):
        return
    await query.answer()
    _ = who._
    app = services(context)
    parts = query.data.split(":")
    report_id = int(parts[1]) if parts[1].isdigit() and len(parts[1]) <= 12 else -1
    action = parts[2]
    message = update.effective_message
    assert message is not None
    if action == "n":
        await _show(message, context, who, after=report_id)
        return
    if action == "c":
        async with app.transaction() as session:
            await stop_editing(session, who.chat_id)
        if context.chat_data is not None:
            context.chat_data[EDIT_KEY] = None
        await query.edit_message_reply_markup(reply_markup=None)
        await message.reply_text(escape(_("OK, nothing changed.")))
        return
    async with app.sessions() as session:
        report = await open_report(session, report_id)
    if report is None:
        await query.edit_message_reply_markup(reply_markup=None)
        await message.reply_text(escape(_("Someone already dealt with that report.")))
        await _show(message, context, who)
        return
    await query.edit_message_reply_markup(reply_markup=None)
    if action == "d":
        async with app.transaction() as session:
            await dismiss(session, report.id, coordinator=who.chat_id)
        app.finder.forget_record(report.service_id)
        await message.reply_text(escape(_("Dismissed.")))
        await _show(message, context, who)
        return
    field = parts[3] if action == "f" and len(parts) > 3 else report.problem
    if field not in FIXABLE:  # "something else": which part of the listing?
        rows = [[button(field_label(f, _), "rv", str(report.id), "f", f)] for f in FIXABLE] + [
            [button(_("Cancel"), "rv", str(report.id), "c")]
        ]
        await message.reply_text(
            escape(_("What should change in the listing?")), reply_markup=keyboard(rows)
        )
        return
    ready = ready_fix(report) if field == report.problem else ("" if field == "closed" else None)
    if ready is not None:
        await _apply(message, context, who, report, field, ready)
        return
    async with app.transaction() as session:
        await start_editing(session, report.id, field=field, coordinator=who.chat_id)
    if context.chat_data is not None:
        context.chat_data[EDIT_KEY] = report.id
    record = await app.finder.service_record(report.service_id)
    await message.reply_text(
        ask_value(field, record.name if record else report.service_id, _),
        reply_markup=keyboard([[button(_("Cancel"), "rv", str(report.id), "c")]]),
    )


async def edit_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A coordinator's text while a fix waits for its value is that value."""
    chat_data = context.chat_data if context.chat_data is not None else {}
    if chat_data.get(EDIT_KEY, 0) is None:
        return
    who = await caller(update, context)
    if not who.is_coordinator:
        chat_data[EDIT_KEY] = None
        return
    app = services(context)
    async with app.sessions() as session:
        report = await editing_of(session, who.chat_id)
    chat_data[EDIT_KEY] = report.id if report else None
    if report is None or report.editing_field is None:
        return
    message = update.effective_message
    assert message is not None and message.text is not None
    if not await is_coordinator(update, context):
        return
    await _apply(message, context, who, report, report.editing_field, message.text)
    raise ApplicationHandlerStop


async def cancel_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel while typing a fix: nothing changes (otherwise /cancel is someone else's)."""
    chat_data = context.chat_data if context.chat_data is not None else {}
    if chat_data.get(EDIT_KEY, 0) is None:
        return
    who = await caller(update, context)
    async with services(context).transaction() as session:
        editing = await editing_of(session, who.chat_id)
        if editing is not None:
            await stop_editing(session, who.chat_id)
    chat_data[EDIT_KEY] = None
    if editing is None:
        return
    message = update.effective_message
    assert message is not None
    await message.reply_text(escape(who._("OK, nothing changed.")))
    raise ApplicationHandlerStop
