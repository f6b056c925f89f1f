"""Inline and reply keyboards. Callback data: short ':'-joined parts, under 64 bytes.

Prefixes: cats (category list), cat:<id>[:page], con:<concept>, d:<ref> details, m:<ref> map,
more, near, nw (not what I need), fb:<log>:<1|0>, ask, lang:<xx>, forget:<yes|no>, tk (toolkit
list), tk:<id> (entry), mat:<id> (send the document). Follow-ups (bot/handlers/followups.py,
review.py): fu:<id>:<answer>, rp:<ref>, rpk:<problem>:<ref>, rps:<id>, rpc:<id>, rv:<id>:<action>.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.i18n import Translate
from bot.render import button, keyboard, one_line
from knowledge.lexicon import Lexicon
from knowledge.search import SearchHit

CONCEPTS_PER_PAGE = 8


def _pairs(buttons: Sequence[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]


def categories_keyboard(
    lexicon: Lexicon, language: str, _: Translate, ask: bool = True, near: bool = True
) -> InlineKeyboardMarkup:
    """The categories, then "Services near me" (unless a place is known already) and "Ask a
    person" (only where it leads somewhere: bot.handlers.handoff.can_ask)."""
    buttons = [
        button(f"{c.emoji} {c.label.get(language, c.id)}", "cat", c.id) for c in lexicon.categories
    ]
    last = []
    if near:
        last.append(button("📍 " + _("Services near me"), "near"))
    if ask:
        last.append(button("🙋 " + _("Ask a person"), "ask"))
    return keyboard([*_pairs(buttons), last])


def concepts_keyboard(
    lexicon: Lexicon, category_id: str, page: int, language: str, _: Translate
) -> InlineKeyboardMarkup:
    concepts = lexicon.concepts_in(category_id)
    start = page * CONCEPTS_PER_PAGE
    shown = concepts[start : start + CONCEPTS_PER_PAGE]
    rows = _pairs([button(c.label.get(language, c.id), "con", c.id) for c in shown])
    paging = []
    if page > 0:
        paging.append(button("◀️ " + _("Previous"), "cat", category_id, str(page - 1)))
    if start + CONCEPTS_PER_PAGE < len(concepts):
        paging.append(button(_("Next") + " ▶️", "cat", category_id, str(page + 1)))
    return keyboard([*rows, paging, [button("⬅️ " + _("Back"), "cats")]])


def results_keyboard(
    hits: Sequence[SearchHit],
    start: int,
    more: bool,
    log_id: int | None,
    _: Translate,
    mappable: Collection[str] = (),
) -> InlineKeyboardMarkup:
    """One row per hit; 📍 Map only for services in `mappable` (those with coordinates)."""
    rows: list[list[InlineKeyboardButton]] = []
    for number, hit in enumerate(hits, start=start + 1):
        label = f"{number}. {one_line(hit.title, 28)}"
        if hit.kind == "service":
            row = [button("ℹ️ " + label, "d", hit.id)]
            if hit.id in mappable:
                row.append(button("📍 " + _("Map"), "m", hit.id))
            rows.append(row)
        elif hit.kind == "resource":
            rows.append([button("📘 " + label, "tk", hit.id)])
        elif hit.kind == "material":
            rows.append([button("📄 " + label, "mat", hit.id)])
        elif hit.kind == "event":
            rows.append([button("📅 " + label, "ev", hit.id)])
    navigation = [button("🙋 " + _("Not what I need"), "nw")]
    if more:
        navigation.insert(0, button("➕ " + _("More results"), "more"))
    rows.append(navigation)
    if log_id is not None:
        rows.append([button("👍", "fb", str(log_id), "1"), button("👎", "fb", str(log_id), "0")])
    return keyboard(rows)


def location_request_keyboard(_: Translate) -> ReplyKeyboardMarkup:
    """The button that asks the phone for the family's location."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton("📍 " + _("Services near me"), request_location=True)]],
        resize_keyboard=True,
        is_persistent=True,
    )
