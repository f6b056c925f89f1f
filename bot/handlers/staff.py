"""Staff (and anyone curious): the staff menu, the partnership toolkit and the sample materials
as documents to edit (DOCX) or print (PDF).

Callback data: `tk` (the toolkit list), `tk:<id>` (one entry), `tks:<section>` (one section, such
as the best practices), `mats` (the materials list), `mat:<id>` (a material: pick a format),
`matf:<docx|pdf>:<id>` (send it in that format). `tk:` and `mat:` buttons also appear in family
search results.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.render import MAX_MESSAGE, button, escape, keyboard, one_line
from bot.services import Caller, caller, services
from knowledge.documents import (
    DOCX,
    FORMATS,
    PDF,
    convertible,
    document_filename,
    render_document,
)
from knowledge.models import Role
from knowledge.search import SearchHit, SearchQuery
from knowledge.toolkit import (
    MaterialDocument,
    MaterialListing,
    ToolkitEntry,
    list_materials,
    list_toolkit,
    material_document,
    toolkit_entry,
    toolkit_section,
)

MATERIAL_MATCHES = 8
MAX_CAPTION = 1024
SECTION_EMOJI = {"overview": "🧭", "best-practice": "⭐", "report": "📊", "materials": "📄"}


def _section_title(section: str, who: Caller) -> str:
    _ = who._
    titles = {
        "overview": _("Overview"),
        "best-practice": _("Best practices"),
        "report": _("Reports"),
        "materials": _("Sample materials"),
    }
    return titles.get(section) or section.replace("-", " ").capitalize()


def _shorten(text: str, limit: int) -> str:
    """Cut plain text to `limit` characters at a paragraph, line or word boundary."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    for boundary in ("\n\n", "\n", " "):
        at = cut.rfind(boundary)
        if at > limit // 2:
            return cut[:at].rstrip() + "…"
    return cut + "…"


# --- sample materials ---------------------------------------------------------------------


def _materials_list(
    listings: list[MaterialListing], header: str
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [header]
    for number, listing in enumerate(listings, start=1):
        lines.append(f"\n<b>{number}. {escape(listing.title)}</b>")
        lines.append(escape(one_line(listing.description, 160)))
    markup = keyboard(
        [
            [button(f"📄 {number}. {one_line(m.title, 40)}", "mat", m.id)]
            for number, m in enumerate(listings, 1)
        ]
    )
    return "\n".join(lines), markup


def _caption(document: MaterialDocument, who: Caller) -> str:
    note = ""
    if who.language != "en" and document.language == "en":
        note = "\n\n" + escape(who._("This document is only available in English for now."))
    title = f"<b>{escape(one_line(document.title, 200))}</b>"
    room = MAX_CAPTION - len(one_line(document.title, 200)) - len(note) - 10
    return f"{title}\n{escape(one_line(document.description, room))}{note}"


async def _gone(context: ContextTypes.DEFAULT_TYPE, who: Caller) -> None:
    await context.bot.send_message(
        who.chat_id,
        escape(who._("Sorry, that document is no longer available. Try /materials.")),
    )


def _format_buttons(material_id: str, who: Caller) -> InlineKeyboardMarkup:
    _ = who._
    return keyboard(
        [
            [button("📝 " + _("Word (to edit)"), "matf", DOCX, material_id)],
            [button("🖨 " + _("PDF (to print)"), "matf", PDF, material_id)],
        ]
    )


async def _offer_material(
    context: ContextTypes.DEFAULT_TYPE, who: Caller, material_id: str
) -> None:
    """The material's title and description, and a button per format."""
    async with services(context).sessions() as session:
        document = await material_document(session, material_id, who.language)
    if document is None:
        await _gone(context, who)
        return
    if not convertible(document.filename):  # a PDF or DOCX someone imported: send it as it is
        await _send_document(context, who, document, None)
        return
    await context.bot.send_message(
        who.chat_id,
        "📄 "
        + _caption(document, who)
        + "\n\n"
        + escape(who._("Which format do you want? Word to edit it, PDF to print it.")),
        reply_markup=_format_buttons(document.id, who),
    )


async def _send_document(
    context: ContextTypes.DEFAULT_TYPE, who: Caller, document: MaterialDocument, fmt: str | None
) -> None:
    content, filename = document.content, document.filename
    if fmt is not None and convertible(document.filename):
        # Building a PDF takes about a second: not on the event loop, where replies wait.
        content = await asyncio.to_thread(
            render_document, document.content, fmt, document.title, document.language
        )
        filename = document_filename(document.filename, fmt)
    await context.bot.send_document(
        who.chat_id, document=content, filename=filename, caption=_caption(document, who)
    )


async def materials_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/materials [words]`: send the matching document, or buttons to pick one."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    _ = who._
    app = services(context)
    words = " ".join(context.args or []).strip()[:200]
    ids: list[str] | None = None
    if words:
        await app.finder.refresh()
        outcome = app.finder.search(
            SearchQuery(
                text=words,
                language=who.language,
                limit=MATERIAL_MATCHES,
                kinds=frozenset({"material"}),
            )
        )
        ids = [hit.id for hit in outcome.hits]
        if len(ids) == 1:
            await _offer_material(context, who, ids[0])
            return
    async with app.sessions() as session:
        listings = await list_materials(session, who.language, ids or None)
    if not listings:
        await message.reply_text(escape(_("There are no sample materials yet.")))
        return
    if words and not ids:
        header = escape(
            _("I couldn't find a sample material for “{query}”. Here are all of them:")
        ).format(query=escape(words))
    else:
        header = "📄 <b>" + escape(_("Sample partnership materials")) + "</b>"
    text, markup = _materials_list(listings, header)
    await message.reply_text(
        text + "\n\n" + escape(_("Pick one and I will send you the document.")), reply_markup=markup
    )


async def send_material(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`mat:<id>`: offer that sample material as Word or PDF."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    finder = services(context).finder
    await finder.refresh()
    await _offer_material(context, who, finder.resolve(query.data.split(":", 1)[1]))


async def send_material_format(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`matf:<docx|pdf>:<id>`: send the material in that format, in the reader's language."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    _prefix, fmt, reference = query.data.split(":", 2)
    app = services(context)
    await app.finder.refresh()
    async with app.sessions() as session:
        document = await material_document(session, app.finder.resolve(reference), who.language)
    if document is None or fmt not in FORMATS:
        await _gone(context, who)
        return
    await _send_document(context, who, document, fmt)


async def materials_list(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`mats` (the staff menu's button): every sample material, as buttons."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    who = await caller(update, context)
    async with services(context).sessions() as session:
        listings = await list_materials(session, who.language)
    if not listings:
        await context.bot.send_message(
            who.chat_id, escape(who._("There are no sample materials yet."))
        )
        return
    header = "📄 <b>" + escape(who._("Sample partnership materials")) + "</b>"
    text, markup = _materials_list(listings, header)
    await context.bot.send_message(
        who.chat_id,
        text + "\n\n" + escape(who._("Pick one and I will send you the document.")),
        reply_markup=markup,
    )


# --- the toolkit --------------------------------------------------------------------------


def _toolkit_list(entries: list[ToolkitEntry], who: Caller) -> tuple[str, InlineKeyboardMarkup]:
    _ = who._
    lines = ["📘 <b>" + escape(_("Community school partnership toolkit")) + "</b>"]
    rows = []
    section = None
    for number, entry in enumerate(entries, start=1):
        if entry.section != section:
            section = entry.section
            lines += ["", f"<b>{escape(_section_title(section, who))}</b>"]
        lines.append(f"{number}. {escape(one_line(entry.title, 200))}")
        emoji = SECTION_EMOJI.get(entry.section, "📘")
        rows.append([button(f"{emoji} {number}. {one_line(entry.title, 40)}", "tk", entry.id)])
    lines += ["", escape(_("Pick a topic to read it."))]
    return "\n".join(lines), keyboard(rows)


def _entry_text(entry: ToolkitEntry) -> str:
    emoji = SECTION_EMOJI.get(entry.section, "📘")
    title = one_line(entry.title, 200)
    summary = one_line(entry.summary, 600)
    # Telegram counts the text after HTML parsing: budget the visible characters.
    body = _shorten(entry.body, MAX_MESSAGE - len(title) - len(summary) - 16)
    return f"{emoji} <b>{escape(title)}</b>\n<i>{escape(summary)}</i>\n\n{escape(body)}"


def _on_toolkit_message(query: CallbackQuery) -> bool:
    """True when the button was pressed on the toolkit list itself (so edit it in place)."""
    markup = getattr(query.message, "reply_markup", None)
    rows = markup.inline_keyboard if markup is not None else ()
    data = [b.callback_data for row in rows for b in row if b.url is None]
    return bool(data) and all(isinstance(d, str) and d.startswith("tk") for d in data)


async def toolkit_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/toolkit`: the toolkit's entries as buttons, grouped by section."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    async with services(context).sessions() as session:
        entries = await list_toolkit(session, who.language)
    if not entries:
        await message.reply_text(escape(who._("The toolkit is empty for now.")))
        return
    text, markup = _toolkit_list(entries, who)
    await message.reply_text(text, reply_markup=markup)


async def toolkit_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`tk`: back to the list; `tk:<id>`: open one entry, with a Back button."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    app = services(context)
    reference = query.data.partition(":")[2]
    markup: Any
    async with app.sessions() as session:
        if not reference:
            text, markup = _toolkit_list(await list_toolkit(session, who.language), who)
            await query.edit_message_text(text, reply_markup=markup)
            return
        await app.finder.refresh()
        entry = await toolkit_entry(session, app.finder.resolve(reference), who.language)
        materials = (
            await list_materials(session, who.language)
            if entry is not None and entry.section == "materials"
            else []
        )
    if entry is None:
        await context.bot.send_message(
            who.chat_id,
            escape(who._("Sorry, that toolkit entry is no longer available. Try /toolkit.")),
        )
        return
    rows: list[list[InlineKeyboardButton]] = []
    if entry.url:
        rows.append([InlineKeyboardButton("🔗 " + who._("Read the report"), url=entry.url)])
    rows += [[button(f"📄 {one_line(m.title, 40)}", "mat", m.id)] for m in materials]
    rows.append([button("⬅️ " + who._("Back to the toolkit"), "tk")])
    if _on_toolkit_message(query):
        await query.edit_message_text(_entry_text(entry), reply_markup=keyboard(rows))
    else:
        await context.bot.send_message(who.chat_id, _entry_text(entry), reply_markup=keyboard(rows))


async def toolkit_section_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`tks:<section>`: one section's entries (the best practices, the reports) as buttons."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    section = query.data.partition(":")[2]
    async with services(context).sessions() as session:
        entries = await toolkit_section(session, section, who.language)
    if not entries:
        await context.bot.send_message(who.chat_id, escape(who._("The toolkit is empty for now.")))
        return
    emoji = SECTION_EMOJI.get(section, "📘")
    lines = [f"{emoji} <b>{escape(_section_title(section, who))}</b>", ""]
    rows = []
    for number, entry in enumerate(entries, start=1):
        lines.append(f"<b>{number}. {escape(one_line(entry.title, 200))}</b>")
        lines.append(escape(one_line(entry.summary, 240)))
        rows.append([button(f"{emoji} {number}. {one_line(entry.title, 40)}", "tk", entry.id)])
    rows.append([button("📘 " + who._("The whole toolkit"), "tk")])
    await context.bot.send_message(who.chat_id, "\n".join(lines), reply_markup=keyboard(rows))


# --- the staff menu, and toolkit hits in search results ------------------------------------------


def staff_menu(who: Caller) -> tuple[str, InlineKeyboardMarkup]:
    """What staff (and coordinators) see on /start: the toolkit, materials, best practices."""
    _ = who._
    lines = [
        escape(_("Hi! Here is the community school partnership toolkit for staff.")),
        escape(_("Pick what you need, or type it, for example “MOU template”.")),
    ]
    if who.is_coordinator:
        lines += [
            "",
            escape(_("For coordinators:")),
            "/newevent – " + escape(_("create an event")),
            "/broadcast – " + escape(_("send a message to subscribed families")),
            "/events – " + escape(_("school events")),
            "/stats – " + escape(_("what families asked, and what nobody answered")),
        ]
    rows = [
        [button("📄 " + _("Sample materials (Word, PDF)"), "mats")],
        [button("⭐ " + _("Best practices"), "tks", "best-practice")],
        [
            button("📘 " + _("The whole toolkit"), "tk"),
            button("📊 " + _("Reports"), "tks", "report"),
        ],
        [button("🔎 " + _("Services for families"), "cats")],
    ]
    return "\n".join(lines), keyboard(rows)


async def start_menu(update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller) -> bool:
    """/start for staff and coordinators: their menu. False for families (they get theirs)."""
    if who.role not in (Role.STAFF, Role.COORDINATOR):
        return False
    message = update.effective_message
    assert message is not None
    text, markup = staff_menu(who)
    await message.reply_text(text, reply_markup=markup)
    return True


async def toolkit_hit_block(
    sessions: async_sessionmaker[AsyncSession], hit: SearchHit, number: int, who: Caller
) -> str:
    """A toolkit entry or sample material among search results: its title and summary, in the
    reader's language."""
    _ = who._
    title, summary, label = hit.title, "", _("Toolkit")
    async with sessions() as session:
        if hit.kind == "resource":
            entry = await toolkit_entry(session, hit.id, who.language)
            if entry is not None:
                title, summary = entry.title, entry.summary
                label = _("Toolkit") + " · " + _section_title(entry.section, who)
        else:
            label = _("Sample material")
            listings = await list_materials(session, who.language, [hit.id])
            if listings:
                title, summary = listings[0].title, listings[0].description
    emoji = "📄" if hit.kind == "material" else "📘"
    lines = [f"<b>{number}. {escape(one_line(title, 200))}</b>", f"{emoji} <i>{escape(label)}</i>"]
    if summary:
        lines.append(escape(one_line(summary, 300)))
    return "\n".join(lines)
