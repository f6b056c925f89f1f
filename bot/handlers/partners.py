"""Partners keep their listings current: `/invite partner ORG` (coordinators), the partner's
welcome after `/join CODE`, and the answers to "Is this still right?".

Callback data: pv:<check id>:<ok|phone|hours|address|no|gone|c> (still right, change a field,
no longer offered, yes remove it, cancel). Every press checks in the database that the chat
speaks for the listing's organization: the data can be forged. A partner typing a new value is
recorded in the database (listing_check.editing_by), so a restart loses nothing; that text is
taken here (GROUP, before everything else), never searched. Partners see their own listings
and nothing of families.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Message, Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.handlers.review import ask_value, fixed_text, invalid_value
from bot.i18n import Translate, translator
from bot.render import button, escape, keyboard, service_details, trim
from bot.services import Caller, caller, services
from knowledge.directory import ServiceRecord
from knowledge.listing_changes import Change, InvalidValue
from knowledge.models import ListingCheck, Role, utcnow
from knowledge.partners import (
    EDITABLE,
    NotTheirListing,
    change_field,
    check_for,
    confirm,
    editing_of,
    find_organizations,
    organizations_of,
    schedule_checks,
    start_editing,
    stop_editing,
    withdraw,
)
from knowledge.roles import create_invitation, display_code

GROUP = -7  # before survey answers (-6), number replies (-5), review (-4), reports, the search
EDIT_KEY = "partner_edit"  # chat_data: a check id being edited, None when known to be none


def answer_labels(_: Translate) -> dict[str, str]:
    return {
        "ok": "✅ " + _("Still right"),
        "phone": "📞 " + _("Change phone"),
        "hours": "🕘 " + _("Change hours"),
        "address": "📍 " + _("Change address"),
        "no": "🚫 " + _("No longer offered"),
    }


class ChatListingCheckTexts:
    """The question as the partner reads it, in its language: the card and the buttons."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone

    def question(self, record: ServiceRecord, language: str) -> str:
        _ = translator(language)
        head = (
            "🔎 <b>"
            + escape(_("Is this still right?"))
            + "</b>\n"
            + escape(_("Families see this listing of yours. One tap if nothing changed."))
        )
        now = datetime.now(self.zone)
        return trim(head + "\n\n" + service_details(record, now, _))

    def question_markup(self, check_id: int, language: str) -> dict[str, Any]:
        labels = answer_labels(translator(language))
        rows = [["ok"], ["phone", "hours"], ["address"], ["no"]]
        return {
            "inline_keyboard": [
                [{"text": labels[code], "callback_data": f"pv:{check_id}:{code}"} for code in row]
                for row in rows
            ]
        }


# --- invitations and the welcome ----------------------------------------------------------------


async def invite_partner(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller, wanted: str
) -> None:
    """`/invite partner ORG` (ORG: an organization's id or words of its name), coordinators only
    (the caller checked): a one-time code that links whoever redeems it to that organization."""
    message = update.effective_message
    assert message is not None
    _ = who._
    app = services(context)
    async with app.transaction() as session:
        matches = await find_organizations(session, wanted)
        invitation = None
        if len(matches) == 1:
            invitation = await create_invitation(
                session, role=Role.PARTNER, created_by=who.chat_id, organization_id=matches[0].id
            )
    if invitation is None:
        if not matches:
            text = escape(
                _("I know no organization called “{name}”. Use its name or its id.").format(
                    name=wanted
                )
                if wanted
                else _("Which organization? Send /invite partner and its name or id.")
            )
        else:
            text = escape(_("Several organizations match. Send /invite partner and the id:"))
            text += "".join(
                f"\n• {escape(org.name)}: <code>{escape(org.id)}</code>" for org in matches
            )
        await message.reply_text(text)
        return
    until = invitation.expires_at.astimezone(app.settings.zone)
    await message.reply_text(
        escape(
            _("Invitation for a partner of {organization}. It works once, until {date}.").format(
                organization=matches[0].name, date=until.strftime("%Y-%m-%d")
            )
        )
        + "\n"
        + escape(_("They send me this message:"))
        + f"\n<code>/join {escape(display_code(invitation.code))}</code>"
    )


async def welcome_partner(
    message: Message, context: ContextTypes.DEFAULT_TYPE, who: Caller
) -> None:
    """After a partner's /join: which organization, what will happen; its services get their
    first "Is this still right?" scheduled at once."""
    _ = who._
    app = services(context)
    async with app.transaction() as session:
        names = [org.name for org in await organizations_of(session, who.chat_id)]
        await schedule_checks(session, utcnow(), app.settings.verify_every)
    # The welcome goes first: once the checks are re-armed their cards share this chat's
    # one-message-a-second budget, and the partner should read why they come before they do.
    await message.reply_text(
        escape(
            _("Welcome! You keep the listings of {organization} current.").format(
                organization=", ".join(names) or "—"
            )
        )
        + "\n"
        + escape(
            _(
                "From time to time I will show you each of its services as families see it and "
                "ask whether it is still right: one tap if it is, or send me the change."
            )
        )
    )
    verification = context.bot_data.get("verification")
    if verification is not None:
        await verification.rearm()


# --- answers ----------------------------------------------------------------------------------


def _check_id(data: str) -> tuple[int, str]:
    parts = data.split(":")
    check_id = int(parts[1]) if parts[1].isdigit() and len(parts[1]) <= 12 else -1
    return check_id, parts[2]


async def _service_name(context: ContextTypes.DEFAULT_TYPE, service_id: str) -> str:
    record = await services(context).finder.service_record(service_id)
    return record.name if record else service_id


async def _after_change(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The search index and the cards follow the change at once."""
    await services(context).finder.refresh(force=True)


async def check_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Still right], [Change phone|hours|address], [No longer offered] and its confirmation."""
    query = update.callback_query
    assert query is not None and query.data is not None
    who = await caller(update, context)
    _ = who._
    app = services(context)
    check_id, action = _check_id(query.data)
    message = update.effective_message
    assert message is not None
    every = app.settings.verify_every
    try:
        async with app.transaction() as session:
            check = await check_for(session, check_id, who.chat_id)
            service_id = check.service_id
            change: Change | None = None
            if action == "ok":
                today = app.local_now().date()
                change = await confirm(session, check_id, who.chat_id, today=today, every=every)
            elif action == "gone":
                change = await withdraw(session, check_id, who.chat_id, every=every)
            elif action in EDITABLE:
                await start_editing(session, check_id, who.chat_id, action)
            elif action == "c":
                await stop_editing(session, who.chat_id)
    except (LookupError, NotTheirListing):
        await query.answer(_("Only the organization's partners can answer this."))
        return
    await query.answer()
    name = await _service_name(context, service_id)
    bold = f"<b>{escape(name)}</b>"
    if action == "ok":
        await query.edit_message_reply_markup(reply_markup=None)
        await _after_change(context)
        await message.reply_text(
            "✅ "
            + escape(_("Thank you! {service} is marked as checked today.")).format(service=bold)
        )
    elif action == "no":
        await message.reply_text(
            escape(
                _("Remove {service} from the directory? Families will no longer find it.")
            ).format(service=bold),
            reply_markup=keyboard(
                [
                    [button("🚫 " + _("Yes, remove it"), "pv", str(check_id), "gone")],
                    [button(_("Cancel"), "pv", str(check_id), "c")],
                ]
            ),
        )
    elif action == "gone" and change is not None:
        await query.edit_message_reply_markup(reply_markup=None)
        await _after_change(context)
        await message.reply_text(fixed_text(change, name, _))
    elif action in EDITABLE:
        if context.chat_data is not None:
            context.chat_data[EDIT_KEY] = check_id
        await message.reply_text(
            ask_value(action, name, _),
            reply_markup=keyboard([[button(_("Cancel"), "pv", str(check_id), "c")]]),
        )
    else:  # cancel
        if context.chat_data is not None:
            context.chat_data[EDIT_KEY] = None
        await query.edit_message_reply_markup(reply_markup=None)
        await message.reply_text(escape(_("OK, nothing changed.")))


async def _editing(context: ContextTypes.DEFAULT_TYPE, who: Caller) -> ListingCheck | None:
    """The check this chat is typing a value for, if any (None quickly for families)."""
    chat_data = context.chat_data if context.chat_data is not None else {}
    if chat_data.get(EDIT_KEY, 0) is None:
        return None
    if who.role == Role.FAMILY:
        chat_data[EDIT_KEY] = None
        return None
    async with services(context).sessions() as session:
        check = await editing_of(session, who.chat_id)
    chat_data[EDIT_KEY] = check.id if check else None
    return check


async def edit_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A partner's text while a change waits for its value is that value."""
    who = await caller(update, context)
    check = await _editing(context, who)
    if check is None or check.editing_field is None:
        return
    message = update.effective_message
    assert message is not None and message.text is not None
    app = services(context)
    try:
        async with app.transaction() as session:
            change = await change_field(
                session,
                check.id,
                who.chat_id,
                check.editing_field,
                message.text,
                every=app.settings.verify_every,
            )
    except InvalidValue as error:
        await message.reply_text(invalid_value(error.field, who._))
        raise ApplicationHandlerStop from None
    except (LookupError, NotTheirListing):
        async with app.transaction() as session:
            await stop_editing(session, who.chat_id)
        if context.chat_data is not None:
            context.chat_data[EDIT_KEY] = None
        return
    if context.chat_data is not None:
        context.chat_data[EDIT_KEY] = None
    await _after_change(context)
    name = await _service_name(context, check.service_id)
    await message.reply_text(
        fixed_text(change, name, who._) + "\n" + escape(who._("Thank you! Families see it now."))
    )
    raise ApplicationHandlerStop


async def cancel_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel while typing a change: nothing changes (otherwise /cancel is someone else's)."""
    who = await caller(update, context)
    if await _editing(context, who) is None:
        return
    async with services(context).transaction() as session:
        await stop_editing(session, who.chat_id)
    if context.chat_data is not None:
        context.chat_data[EDIT_KEY] = None
    message = update.effective_message
    assert message is not None
    await message.reply_text(escape(who._("OK, nothing changed.")))
    raise ApplicationHandlerStop
