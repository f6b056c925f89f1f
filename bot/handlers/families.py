"""What families touch: free-text search, results, details, map, categories, nearby."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot import render
from bot.freshness import report_problem_button
from bot.handlers import followups, staff
from bot.handlers.handoff import can_ask
from bot.i18n import uses_miles
from bot.keyboards import (
    categories_keyboard,
    concepts_keyboard,
    location_request_keyboard,
    results_keyboard,
)
from bot.render import escape
from bot.services import Caller, Dialect, caller, language_notice, services, switch_language
from bot.sms import cards as sms_cards
from knowledge.crisis import crisis_results
from knowledge.directory import postal_code_point
from knowledge.search import (
    SearchHit,
    SearchOutcome,
    SearchQuery,
    read_open_day,
    read_open_now,
)
from knowledge.sms import save_search

PAGE_SIZE = 3
POSTAL_CODE = re.compile(r"^\s*(\d{5})(?:-\d{4})?\s*$")


async def _render_results(
    context: ContextTypes.DEFAULT_TYPE,
    who: Caller,
    outcome: SearchOutcome,
    state: dict[str, Any],
    header: str,
) -> tuple[str, Any]:
    _ = who._
    app = services(context)
    now = app.local_now()
    blocks: list[str] = []
    mappable: set[str] = set()  # a 📍 Map button only where there is a pin to show
    start = state["offset"]
    for number, hit in enumerate(outcome.hits, start=start + 1):
        blocks.append(await _hit_block(app, hit, number, now, who, mappable))
    text = escape(header) + "\n\n" + "\n\n".join(blocks) + "\n\n" + _("Did this help?")
    more = start + len(outcome.hits) < outcome.total
    markup = results_keyboard(outcome.hits, start, more, state.get("log_id"), _, mappable)
    return render.trim(text), markup


async def _texted_results(
    context: ContextTypes.DEFAULT_TYPE,
    who: Caller,
    outcome: SearchOutcome,
    state: dict[str, Any],
    header: str,
    notice: str,
) -> tuple[str, Any]:
    """The results as a text message: short numbered cards and what to reply."""
    _ = who._
    app = services(context)
    miles = uses_miles(who.telegram_language)
    records = [
        await app.finder.service_record(hit.id) if hit.kind == "service" else None
        for hit in outcome.hits
    ]
    distances = [
        render.format_distance(hit.distance_km, miles) if hit.distance_km is not None else None
        for hit in outcome.hits
    ]
    start = state["offset"]
    more = start + len(outcome.hits) < outcome.total
    text = sms_cards.results_text(
        notice + header, outcome.hits, records, distances, start, more, app.local_now(), _
    )
    if more:  # so "M" still pages on after a restart (the number's last search, a day)
        async with app.transaction() as session:
            await save_search(session, who.chat_id, state)
    return escape(text), sms_cards.results_keyboard(outcome.hits, start, more)


async def _hit_block(
    app: Any, hit: SearchHit, number: int, now: Any, who: Caller, mappable: set[str]
) -> str:
    _ = who._
    distance = (
        render.format_distance(hit.distance_km, uses_miles(who.telegram_language))
        if hit.distance_km is not None
        else None
    )
    if hit.kind == "service":
        record = await app.finder.service_record(hit.id)
        if record is not None:
            if record.mappable:
                mappable.add(hit.id)
            return render.service_card(record, number, now, _, distance)
    if hit.kind in ("resource", "material"):
        return await staff.toolkit_hit_block(app.sessions, hit, number, who)
    label = {"event": _("Event")}
    return f"<b>{number}. {escape(hit.title)}</b>\n{escape(label.get(hit.kind, ''))}"


async def run_search(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    who: Caller,
    state: dict[str, Any],
    notice: str = "",
) -> None:
    """Search with `state` (text/concept/near/offset), log it, and answer with result cards.
    "Open now" in the text keeps to places open now, or says plainly that none is. After a
    crisis reply (`state["crisis"]`) its lines come first (`state["first"]`), nothing is logged
    and nothing found says nothing more."""
    app = services(context)
    await app.finder.refresh()
    question, open_now = read_open_now(state.get("text", ""))
    question, open_day = read_open_day(question, app.local_now().weekday())
    query = SearchQuery(
        text=question,
        language=who.language,
        limit=PAGE_SIZE,
        offset=state["offset"],
        near=tuple(state["near"]) if state.get("near") else None,  # type: ignore[arg-type]
        open_now=open_now,
        open_day=open_day,
        concept=state.get("concept"),
        kinds=frozenset({"service"}) if state.get("concept") or state.get("near") else None,
        audience=who.role.value,
    )
    outcome = app.finder.search(query)
    closed = (open_now or open_day is not None) and not outcome.matched
    if closed:  # nothing open then: the same places, whose cards say when they open
        outcome = app.finder.search(replace(query, open_now=False, open_day=None))
    crisis = bool(state.get("crisis"))
    if crisis:
        first = [SearchHit(line["id"], "service", line["title"], 1.0) for line in state["first"]]
        hits = crisis_results(outcome.hits, first, state["offset"], state.get("only"))
        outcome = replace(outcome, hits=hits, total=len(hits))  # one page: no "More results"
    if state["offset"] == 0 and (state.get("text") or state.get("concept")) and not crisis:
        state["log_id"] = app.query_log.record(outcome)
    if outcome.language != who.language and not crisis:
        notice = language_notice(who._, outcome.language) + "\n\n"
        who = await switch_language(context, who, outcome.language)
    if context.chat_data is not None:
        context.chat_data["search"] = state
    _ = who._
    if not outcome.hits:
        if crisis:
            return  # the crisis reply answered it: never "no match" after it
        text = (
            _("I couldn't find a good match for “{query}”.").format(query=escape(state["text"]))
            if state.get("text")
            else _("I couldn't find services for that yet.")
        )
        ask = await can_ask(context)
        text += "\n" + (
            _("Try other words, pick a category, or ask a person at the school.")
            if ask
            else _("Try other words, or pick a category.")
        )
        await _reply(
            update,
            notice + text,
            categories_keyboard(app.finder.browsing, who.language, _, ask=ask),
        )
        return
    if closed and not await _any_hours(app, outcome.hits):
        # ...but where none of them lists its hours, there is no "when" to show
        header = _("None of these lists its hours, so I can't tell if they are open. Call first:")
    elif closed:
        header = (
            _("Nothing like that is open right now. Here is when these open:")
            if open_now
            else _("Nothing like that is open that day. Here is when these open:")
        )
    elif outcome.nearby:  # its own town has none: say so before showing the next town's
        header = _("Nothing in {place} itself. Here is what is nearby:").format(place=outcome.place)
    elif outcome.place:  # the place as understood, so a misread one shows at once
        header = _("Here is what I found for {place}:").format(place=outcome.place)
    elif state.get("near") and not state.get("text"):
        header = _("Here is what I found near you:")
    else:
        header = _("Here is what I found:")
    if who.dialect is Dialect.SMS:  # short numbered cards; the notice within the same text
        text, markup = await _texted_results(context, who, outcome, state, header, notice)
        await _reply(update, text, markup)
        return
    text, markup = await _render_results(context, who, outcome, state, header)
    await _reply(update, render.trim(notice + text), markup)


async def _any_hours(app: Any, hits: list[SearchHit]) -> bool:
    """Whether a service among `hits` lists its opening hours."""
    for hit in hits:
        record = await app.finder.service_record(hit.id) if hit.kind == "service" else None
        if record is not None and record.hours:
            return True
    return False


async def _reply(update: Update, text: str, markup: Any) -> Message:
    message = update.effective_message
    assert message is not None
    return await message.reply_text(text, reply_markup=markup, disable_web_page_preview=True)


async def search_text(update: Update, context: ContextTypes.DEFAULT_TYPE, notice: str = "") -> None:
    """Free text is a question: search the directory and the toolkit. `notice` goes first
    (bot/handlers/conversation.py: the language switched)."""
    message = update.effective_message
    assert message is not None and message.text is not None
    who = await caller(update, context)
    postal = POSTAL_CODE.match(message.text)
    if postal:
        await nearby_postal_code(update, context, who, postal.group(1))
        return
    state = {"text": message.text.strip()[:500], "offset": 0}
    await run_search(update, context, who, state, notice)


async def other_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo, sticker, voice note or file: say what the bot can read."""
    who = await caller(update, context)
    await _reply(
        update,
        who._("I can only read text and shared locations. Type what you need in a few words."),
        None,
    )


async def nearby_postal_code(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller, postal_code: str
) -> None:
    async with services(context).sessions() as session:
        point = await postal_code_point(session, postal_code)
    gazetteer = services(context).finder.index.gazetteer
    place = gazetteer.zip_place(postal_code) if point is None and gazetteer else None
    if place is not None:  # no service there, but a US ZIP code: its centre
        point = place.point
    if point is None:
        await _reply(
            update,
            who._("I don't know any places in ZIP code {zip}. Share your location instead?").format(
                zip=escape(postal_code)
            ),
            None,
        )
        return
    await _nearby(update, context, who, point)


async def _nearby(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller, point: tuple[float, float]
) -> None:
    previous = (context.chat_data or {}).get("search") or {}
    state: dict[str, Any] = {"near": list(point), "offset": 0}
    if previous.get("concept"):
        state["concept"] = previous["concept"]  # "nearby" within the category being browsed
    elif previous.get("text"):
        state["text"] = previous["text"]  # "dentist", then a location: dentists near here
    else:  # a place and no question: ask what they need there
        if context.chat_data is not None:
            context.chat_data["search"] = state
        markup = categories_keyboard(
            services(context).finder.browsing,
            who.language,
            who._,
            ask=await can_ask(context),
            near=False,
        )
        await _reply(update, who._("What do you need near here? Pick a category."), markup)
        return
    await run_search(update, context, who, state)


async def shared_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared location lists the nearest services (within the current category, if any)."""
    message = update.effective_message
    assert message is not None and message.location is not None
    who = await caller(update, context)
    await _nearby(update, context, who, (message.location.latitude, message.location.longitude))


async def ask_for_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the button that shares the phone's location (or ask for a ZIP code)."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    who = await caller(update, context)
    if who.dialect is Dialect.SMS:  # a text cannot share a location
        await _reply(update, who._("Text your ZIP code, or what you need and your town."), None)
        return
    await _reply(
        update,
        who._("Tap the button below to share your location, or type your ZIP code."),
        location_request_keyboard(who._),
    )


async def more_results(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The next page of the last search."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    who = await caller(update, context)
    state = (context.chat_data or {}).get("search")
    if not state:
        await _reply(update, who._("That list has expired. Please ask again."), None)
        return
    state = {**state, "offset": state["offset"] + PAGE_SIZE}
    await run_search(update, context, who, state)


async def show_details(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The full record of one service."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    app = services(context)
    await app.finder.refresh()
    service_id = app.finder.resolve(query.data.split(":", 1)[1])
    record = await app.finder.service_record(service_id)
    if record is None:
        await _reply(update, who._("Sorry, that listing is no longer in the directory."), None)
        return
    if who.dialect is Dialect.SMS:  # two segments, with the phone and a map link
        text = escape(sms_cards.details_text(record, app.local_now(), who._))
        await _reply(update, text, sms_cards.menu_keyboard())
    else:
        markup = render.keyboard(
            [
                [render.button("📍 " + who._("Map"), "m", service_id)] if record.mappable else [],
                [report_problem_button(service_id, who._)],
            ]
        )
        await _reply(update, render.service_details(record, app.local_now(), who._), markup)
    await followups.after_details(update, context, who, service_id)


async def send_map(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The service's place as a Telegram venue (opens in the phone's maps)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    app = services(context)
    service_id = app.finder.resolve(query.data.split(":", 1)[1])
    record = await app.finder.service_record(service_id)
    place = record.mappable if record else None
    message = update.effective_message
    assert message is not None
    if record is None or place is None:
        await _reply(update, who._("Sorry, I don't have a map location for that one."), None)
        return
    await message.reply_venue(
        latitude=place.latitude,
        longitude=place.longitude,
        title=render.one_line(record.name, 100),
        address=render.one_line(place.address or place.name or record.name, 100),
    )
    await followups.after_details(update, context, who, service_id)


async def feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍/👎 on a result list, stored with the query for the gap report."""
    query = update.callback_query
    assert query is not None and query.data is not None
    _, log_id, vote = query.data.split(":")
    who = await caller(update, context)
    if log_id.isdigit():
        await services(context).query_log.feedback(int(log_id), vote == "1")
    await query.answer(
        who._("Thank you!") if vote == "1" else who._("Thanks, that helps us improve.")
    )
    if vote == "0":
        await not_what_i_need(update, context, answered=True)


async def not_what_i_need(
    update: Update, context: ContextTypes.DEFAULT_TYPE, answered: bool = False
) -> None:
    """Offer the categories and a person instead."""
    query = update.callback_query
    if query is not None and not answered:
        await query.answer()
    who = await caller(update, context)
    ask = await can_ask(context)
    await _reply(
        update,
        who._("Sorry about that. Pick a category, or ask a person at the school.")
        if ask
        else who._("Sorry about that. Pick a category, or try other words."),
        categories_keyboard(services(context).finder.browsing, who.language, who._, ask=ask),
    )


async def show_categories(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The category buttons."""
    query = update.callback_query
    who = await caller(update, context)
    markup = categories_keyboard(
        services(context).finder.browsing, who.language, who._, ask=await can_ask(context)
    )
    if query is not None:
        await query.answer()
        await query.edit_message_text(who._("What do you need help with?"), reply_markup=markup)
    else:
        await _reply(update, who._("What do you need help with?"), markup)


async def open_category(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A category's needs as buttons."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    parts = query.data.split(":")
    page = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
    lexicon = services(context).finder.browsing
    category = lexicon.category(parts[1])
    if category is None:
        await show_categories(update, context)
        return
    title = f"{category.emoji} {escape(category.label.get(who.language, category.id))}"
    await query.edit_message_text(
        title, reply_markup=concepts_keyboard(lexicon, category.id, page, who.language, who._)
    )


async def open_concept(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The services for one need, as result cards."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    concept = query.data.split(":", 1)[1]
    if services(context).finder.lexicon.concept(concept) is None:
        await show_categories(update, context)
        return
    state: dict[str, Any] = {"concept": concept, "offset": 0}
    previous = (context.chat_data or {}).get("search") or {}
    if previous.get("near") and not previous.get("concept") and not previous.get("text"):
        state["near"] = previous["near"]  # the answer to "what do you need near here?"
    await run_search(update, context, who, state)
