"""Inline mode: `@bot dentist` in any chat offers service cards to share; and the deep links
shared outside the bot (`/start svc-<id or hash>` on those cards, `/start ev-<id>` for events)
opening the service or event in the bot."""

from __future__ import annotations

import re
from datetime import datetime

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot import render
from bot.freshness import report_problem_button
from bot.handlers import events
from bot.i18n import Translate, supported_language, translator
from bot.render import escape, one_line
from bot.services import Caller, services
from knowledge.calendar import rsvps_of
from knowledge.directory import ServiceRecord
from knowledge.models import Event
from knowledge.search import SearchQuery
from knowledge.text import short_hash

PAGE_SIZE = 10
MAX_RESULTS = 50  # Telegram's limit per answer; also where paging stops
CACHE_SECONDS = 30
MAX_QUERY_CHARACTERS = 200
START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _start_parameter(service_id: str) -> str:
    """`svc-<id>`, or `svc-<hash>` when the id has characters a deep link cannot carry."""
    candidate = f"svc-{service_id}"
    return candidate if START_PARAMETER.fullmatch(candidate) else f"svc-{short_hash(service_id)}"


def _result_id(service_id: str) -> str:
    return service_id if 1 <= len(service_id.encode()) <= 64 else short_hash(service_id)


def inline_card(record: ServiceRecord, now: datetime, _: Translate) -> str:
    """The compact card sent into the chat: name, phone, address, today's hours."""
    lines = [f"<b>{escape(one_line(record.name, 200))}</b>"]
    if record.description:
        lines.append(escape(one_line(record.description, 200)))
    phone = render.phone_line(record.phones[:1], _)
    if phone:
        lines.append(phone)
    where = render.street_address(record)  # not a mailing address: a place to go
    if where:
        lines.append(f"📍 {escape(one_line(where, 200))}")
    hours = render.today_hours(record.hours, record.local(now), _)
    if hours:
        lines.append(f"🕘 {escape(hours)}")
    return "\n".join(lines)


def _article(
    record: ServiceRecord, now: datetime, _: Translate, bot_username: str | None
) -> InlineQueryResultArticle:
    markup = None
    if bot_username:
        link = f"https://t.me/{bot_username}?start={_start_parameter(record.id)}"
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton("ℹ️ " + _("More in the bot"), url=link)]]
        )
    return InlineQueryResultArticle(
        id=_result_id(record.id),
        title=one_line(record.name, 100),
        description=one_line(record.description or record.organization or "", 100) or None,
        input_message_content=InputTextMessageContent(
            inline_card(record, now, _), parse_mode=ParseMode.HTML
        ),
        reply_markup=markup,
    )


async def answer_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`@bot dentist`: up to 50 service cards, ten at a time; an empty query only offers the bot."""
    inline = update.inline_query
    assert inline is not None
    language_code = inline.from_user.language_code if inline.from_user else None
    _ = translator(language_code)
    text = " ".join(inline.query.split())[:MAX_QUERY_CHARACTERS]
    offset = int(inline.offset) if inline.offset.isdigit() else 0
    open_bot = InlineQueryResultsButton(
        text=_("Open the bot to browse categories"), start_parameter="inline"
    )
    if not text or offset >= MAX_RESULTS:
        await inline.answer([], cache_time=CACHE_SECONDS, is_personal=False, button=open_bot)
        return
    app = services(context)
    await app.finder.refresh()
    outcome = app.finder.search(
        SearchQuery(
            text=text,
            language=supported_language(language_code),
            limit=min(PAGE_SIZE, MAX_RESULTS - offset),
            offset=offset,
            kinds=frozenset({"service"}),
        )
    )
    now = app.local_now()
    results = []
    for hit in outcome.hits:
        record = await app.finder.service_record(hit.id)
        if record is not None:
            results.append(_article(record, now, _, context.bot.username))
    shown = offset + len(outcome.hits)
    next_offset = str(shown) if outcome.hits and shown < min(outcome.total, MAX_RESULTS) else ""
    await inline.answer(
        results,
        cache_time=CACHE_SECONDS,
        is_personal=False,
        next_offset=next_offset,
        button=open_bot if offset == 0 and not results else None,
    )


async def open_shared_service(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller, reference: str
) -> bool:
    """`/start svc-<id or hash>` from a shared card: the service's details; False if unknown."""
    message = update.effective_message
    assert message is not None
    app = services(context)
    await app.finder.refresh()
    record = await app.finder.service_record(reference)
    if record is None and (service_id := app.finder.index.id_for_hash(reference)):
        record = await app.finder.service_record(service_id)
    if record is None:
        return False
    rows = [[render.button("📍 " + who._("Map"), "m", record.id)]] if record.mappable else []
    rows.append([report_problem_button(record.id, who._)])
    await message.reply_text(
        render.service_details(record, app.local_now(), who._),
        reply_markup=render.keyboard(rows) if rows else None,
        disable_web_page_preview=True,
    )
    return True


async def open_shared_event(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller, reference: str
) -> bool:
    """`/start ev-<id>`: the event's card with RSVP buttons; False if unknown or cancelled."""
    message = update.effective_message
    assert message is not None
    if not reference.isdigit() or len(reference) > 9:
        return False
    app = services(context)
    async with app.sessions() as session:
        event = await session.get(Event, int(reference))
        if event is None or event.cancelled_at is not None:
            return False
        chosen = (await rsvps_of(session, who.chat_id, [event.id])).get(event.id)
    await message.reply_text(
        events.event_card(event, app.settings.zone, who.language, chosen=chosen),
        reply_markup=events.rsvp_keyboard(event.id, who._, chosen, calendar=True),
    )
    return True
