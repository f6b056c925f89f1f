"""Buttons as numbered choices, for the dialects that have no buttons: the terminal chat and
text messages. Both render an inline keyboard with `choices_of` and read a reply with
`reply_key`; what a reply then presses is the button's callback data, fed to the same handlers.

Keys: a button whose label is itself a key ("1", "M", "0") is offered under that key and not
listed again (the message already says "Reply 1-3 for details"); in text messages, a few
answers everybody knows get words (YES / NO to an invitation or a confirmation, M for more, 0
for the menu); every other button takes the next free number. Link buttons become lines.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import emoji

# Callback data that text messages answer with a word (Spanish words are aliases: SI, SÍ).
WORD_KEYS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^rsvp:\d+:1$"), "YES"),
    (re.compile(r"^rsvp:\d+:0$"), "NO"),
    (re.compile(r"^forget:yes$"), "YES"),
    (re.compile(r"^forget:no$"), "NO"),
    (re.compile(r"^more$"), "M"),
    (re.compile(r"^cats$"), "0"),
)
ALIASES = {"SI": "YES", "Y": "YES", "N": "NO", "MAS": "M", "MORE": "M", "MENU": "0"}
WORDS = frozenset(key for _, key in WORD_KEYS) | frozenset(ALIASES.values())
_KEY_LABEL = re.compile(r"^(?:\d{1,2}|[A-Z])$")


@dataclass(frozen=True, slots=True)
class Choice:
    key: str  # what to reply: "1", "M", "YES"
    label: str  # what it does; "" when the message already says it
    data: str  # the callback data it presses


@dataclass(frozen=True, slots=True)
class Dialect:
    """How a dialect without buttons offers them."""

    words: bool  # YES / NO / M / 0 for the answers everybody knows
    dropped: tuple[str, ...] = ()  # callback prefixes it leaves out (their message says it)
    emoji: bool = True  # labels keep their emoji (a terminal shows them; a text should not)


TERMINAL = Dialect(words=False)
# Text messages leave out the map button (the details carry a map link) and the thumbs.
TEXT_MESSAGE = Dialect(words=True, dropped=("m:", "fb:"), emoji=False)


def plain_label(label: str) -> str:
    return " ".join(emoji.replace_emoji(label, "").split())


def _markup(markup: Any) -> dict[str, Any] | None:
    if isinstance(markup, str):
        markup = json.loads(markup) if markup else None
    if hasattr(markup, "to_dict"):
        markup = markup.to_dict()
    return markup if isinstance(markup, dict) else None


def choices_of(markup: Any, dialect: Dialect) -> tuple[list[Choice], list[str]]:
    """An inline keyboard (Bot API JSON, a dict or a markup object) as choices, and its link
    buttons as "label: url" lines."""
    keyboard = (_markup(markup) or {}).get("inline_keyboard") or []
    buttons: Sequence[dict[str, Any]] = [b for row in keyboard for b in row]
    links = [f"{plain_label(b.get('text', ''))}: {b['url']}" for b in buttons if b.get("url")]
    chosen: list[tuple[str | None, str, str]] = []  # (fixed key or None, label, data)
    for item in buttons:
        data = item.get("callback_data")
        if not data or any(data.startswith(prefix) for prefix in dialect.dropped):
            continue
        text = item.get("text", "")
        label = " ".join(text.split()) if dialect.emoji else plain_label(text)
        if _KEY_LABEL.match(plain_label(text)):
            chosen.append((plain_label(text), "", data))
            continue
        word = next((k for p, k in WORD_KEYS if p.match(data)), None) if dialect.words else None
        chosen.append((word, label, data))
    taken = {key for key, _, _ in chosen if key is not None}
    numbers = (str(n) for n in range(1, 100) if str(n) not in taken)
    choices = [Choice(key or next(numbers), label, data) for key, label, data in chosen]
    unique = {c.key: c for c in reversed(choices)}  # the first button wins a clash
    return [c for c in choices if unique[c.key] is c], links


# How a word key is written for a reader of that language (the reply is read either way).
SHOWN_KEYS = {"es": {"YES": "SI"}}


def choice_lines(choices: Sequence[Choice], language: str | None = None) -> list[str]:
    shown = SHOWN_KEYS.get(language or "", {})
    return [f"{shown.get(c.key, c.key)} - {c.label}" for c in choices if c.label]


def reply_key(text: str) -> str | None:
    """A reply that names a choice ("2", " #2. ", "m", "Sí!") as its key; None otherwise."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    word = re.sub(r"[\s#.!¡?¿)(,:;-]", "", folded).upper()
    if not word or len(word) > 4:
        return None
    word = ALIASES.get(word, word)
    if word.isdigit():
        return str(int(word))
    return word if word in WORDS else None


def find_choice(text: str, choices: Sequence[Choice]) -> Choice | None:
    key = reply_key(text)
    return next((c for c in choices if c.key == key), None) if key else None
