"""Text as a phone receives it: HTML made plain, GSM-7 where the text allows, and segments
counted the way carriers count them.

A text in the GSM-7 alphabet travels in segments of 160 characters, or 153 each once it needs
more than one (the rest carries the header that joins them); the extension characters (€ [ ] {
} ^ ~ | \\) take two. One character outside that alphabet turns the whole text into UCS-2: 70
characters, or 67 per segment (UTF-16 units; an emoji takes two). Every segment is billed and
long texts arrive in pieces on older phones, so the bot keeps to GSM-7 when it can: typographic
quotes, dashes and ellipses become their plain forms (what Twilio's "smart encoding" does),
emoji are dropped (they only decorate buttons and headings), and letters GSM-7 lacks (á, í, ó,
ú) lose their accent. Only a character with no plain form (a name in Vietnamese or Arabic, say)
leaves a text in UCS-2, where it is counted as such.

The alphabet itself comes from the `gsm0338` codec rather than a table copied here.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

import emoji
import gsm0338  # noqa: F401 - registers the "gsm03.38" codec

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
ELLIPSIS = "..."

# Typographic characters and their plain forms (Twilio's smart encoding list, in spirit).
PLAIN_FORMS = {
    "\u00ab": '"', "\u00bb": '"', "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u2033": '"',
    "\u00b4": "'", "\u02bc": "'", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
    "\u2014": "-", "\u2015": "-", "\u2212": "-", "\u2026": ELLIPSIS, "\u2022": "-",
    "\u00b7": "-", "\u2219": "-", "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ",
    "\u200a": " ", "\u202f": " ", "\u200b": "", "\u200d": "", "\ufe0f": "", "\u2060": "",
    "\u2192": "->", "\u2190": "<-", "\u00d7": "x", "\u2044": "/", "\u2122": "TM",
    "\u00a9": "(c)", "\u00ae": "(R)", "\u02c6": "^", "\u02dc": "~", "\t": " ",
}  # fmt: skip

_TAG = re.compile(r"<[^>]+>")
_LINK = re.compile(r'<a\s+href="([^"]*)"[^>]*>(.*?)</a>', re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"[ ]{2,}")
_BLANK_LINES = re.compile(r"\n{3,}")


@lru_cache(maxsize=4096)
def septets(char: str) -> int | None:
    """How many GSM-7 septets `char` takes (1, or 2 for the extension table); None if it has
    no GSM-7 form."""
    try:
        return len(char.encode("gsm03.38"))
    except UnicodeEncodeError:
        return None


@lru_cache(maxsize=4096)
def _plain_char(char: str) -> str:
    if septets(char) is not None:
        return char
    if char in PLAIN_FORMS:
        return PLAIN_FORMS[char]
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    if base and all(septets(c) is not None for c in base):
        return base
    return char  # no plain form: the text goes as UCS-2


def to_gsm(text: str) -> str:
    """The text in GSM-7 wherever it has a plain form; emoji dropped, spacing tidied."""
    text = emoji.replace_emoji(text, "")
    text = "".join(_plain_char(char) for char in text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def html_to_text(markup: str) -> str:
    """Telegram HTML as plain text: links as "label url", tags gone, entities decoded."""

    def link(match: re.Match[str]) -> str:
        url, label = html.unescape(match.group(1)), match.group(2)
        label_text = html.unescape(_TAG.sub("", label)).strip()
        return url if not label_text or label_text == url else f"{label} {url}"

    return html.unescape(_TAG.sub("", _LINK.sub(link, markup)))


def is_gsm(text: str) -> bool:
    return all(septets(char) is not None for char in text)


def encoding(text: str) -> str:
    return "GSM-7" if is_gsm(text) else "UCS-2"


def _units(text: str) -> list[int]:
    """Each character's size in its encoding's units (septets, or UTF-16 code units)."""
    if is_gsm(text):
        return [septets(char) or 1 for char in text]
    return [len(char.encode("utf-16-le")) // 2 for char in text]


def segments(text: str) -> int:
    """How many segments carriers bill for `text` (0 for an empty text). A character never
    straddles two segments (an escape and its character, a surrogate pair), so the parts are
    packed one character at a time, as phones do."""
    if not text:
        return 0
    units = _units(text)
    single, part = (GSM_SINGLE, GSM_PART) if is_gsm(text) else (UCS2_SINGLE, UCS2_PART)
    if sum(units) <= single:
        return 1
    count, used = 1, 0
    for size in units:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count


def fit(body: str, max_segments: int, footer: str = "") -> str:
    """`body` and `footer` (joined by a line break) within `max_segments`: the footer (the
    choices) stays whole; the body loses whole lines from its end, then words, and says so
    with "..."."""
    joined = f"{body}\n{footer}" if body and footer else body or footer
    if segments(joined) <= max_segments:
        return joined
    lines = body.split("\n")
    while lines:
        candidate = "\n".join(lines).rstrip() + ELLIPSIS
        if segments(f"{candidate}\n{footer}" if footer else candidate) <= max_segments:
            break
        if len(lines) > 1:
            lines.pop()
            continue
        words = lines[0].split(" ")
        if len(words) <= 1:
            lines = [lines[0][: max(0, len(lines[0]) - 10)]] if lines[0] else []
        else:
            lines = [" ".join(words[:-1])]
    body = "\n".join(lines).rstrip() + ELLIPSIS if lines else ""
    return f"{body}\n{footer}" if body and footer else body or footer
