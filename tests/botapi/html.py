"""Telegram's message text: the HTML parse mode and the trimming after it.

``parse_html`` turns HTML into plain text and MessageEntity dicts; ``strip_text``
trims the result the way Telegram does, in any parse mode.

The checks follow tdlib's ``parse_html`` (td/telegram/MessageEntity.cpp), which
is what the Bot API server runs.  Offsets and lengths are in UTF-16 code units,
as Telegram counts them.
"""

from __future__ import annotations

import re

from .calls import JSON

_HTML_TAGS = frozenset(
    "a b strong i em s strike del u ins tg-spoiler tg-emoji span pre code blockquote".split()
)
_SIMPLE_ENTITIES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_HTML_SPACES = " \t\r\n\v\0"  # tdlib's is_space()
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#x([0-9a-fA-F]+)|#([0-9]+)|([a-zA-Z]+))(;?)")


class HtmlParseError(ValueError):
    """Telegram would answer "Bad Request: can't parse entities: <message>"."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts and offsets in."""
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(text: str, pos: int, strict: bool) -> tuple[str, int] | None:
    """Decode an HTML entity at ``text[pos] == "&"`` like tdlib's decode_html_entity."""
    match = _ENTITY_RE.match(text, pos)
    if match is None:
        return None
    hex_digits, dec_digits, name, semicolon = match.groups()
    if name is not None:
        if name not in _NAMED_ENTITIES:
            return None  # only these four named entities exist for Telegram
        char = _NAMED_ENTITIES[name]
    else:
        digits = hex_digits if hex_digits is not None else dec_digits
        prefix = 3 if hex_digits is not None else 2
        code = int(digits, 16 if hex_digits is not None else 10)
        if code == 0 or code >= 0x10FFFF or prefix + len(digits) >= 10:
            return None
        if 0xD800 <= code <= 0xDFFF:
            raise HtmlParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        char = chr(code)
    if strict and not semicolon:
        return None
    return char, match.end()


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[JSON]]:
    """Parse Telegram-flavoured HTML into (plain text, MessageEntity dicts).

    Mirrors tdlib's parser, including its error messages and UTF-8 byte offsets.
    One deliberate difference: with ``strict_ampersand`` a bare ``&`` (or an
    entity without ``;``) is an error, as the Bot API documentation demands;
    Telegram itself silently keeps such an ``&`` as text.
    """
    out: list[str] = []
    u16 = 0
    stack: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 start, len(out) at start
    entities: list[JSON] = []
    n = len(text)
    i = 0

    def at(pos: int) -> str:
        return f"at byte offset {len(text[:pos].encode('utf-8'))}"

    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_entity(text, i, strict_ampersand)
            if decoded is not None:
                out.append(decoded[0])
                u16 += utf16_len(decoded[0])
                i = decoded[1]
                continue
            if strict_ampersand:
                raise HtmlParseError(
                    f'Character "&" {at(i)} must start an HTML entity; escape it as "&amp;"'
                )
        if char != "<":
            out.append(char)
            u16 += 2 if ord(char) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if i < n and text[i] == "/":  # end tag
            if not stack:
                raise HtmlParseError(f"Unexpected end tag {at(begin)}")
            i += 1
            name_start = i
            while i < n and text[i] not in _HTML_SPACES and text[i] != ">":
                i += 1
            end_name = text[name_start:i].lower()
            while i < n and text[i] in _HTML_SPACES:
                i += 1
            if i >= n or text[i] != ">":
                raise HtmlParseError(f"Unclosed end tag {at(begin)}")
            i += 1
            tag, argument, start, out_start = stack[-1]
            if end_name and end_name != tag:
                raise HtmlParseError(
                    f'Unmatched end tag {at(begin)}, expected "</{tag}>", found "</{end_name}>"'
                )
            stack.pop()
            if u16 > start:
                _close_entity(entities, tag, argument, start, u16 - start, "".join(out[out_start:]))
            continue

        # start tag
        name_start = i
        while i < n and text[i] not in _HTML_SPACES and text[i] != ">":
            i += 1
        if i >= n:
            raise HtmlParseError(f"Unclosed start tag {at(begin)}")
        tag = text[name_start:i].lower()
        if tag not in _HTML_TAGS:
            raise HtmlParseError(f'Unsupported start tag "{tag}" {at(begin)}')
        argument = ""
        while True:
            while i < n and text[i] in _HTML_SPACES:
                i += 1
            if i >= n:
                raise HtmlParseError(f'Unclosed start tag "{tag}" {at(begin)}')
            if text[i] == ">":
                break
            attr_start = i
            while i < n and text[i] not in _HTML_SPACES and text[i] not in "=>":
                i += 1
            attr = text[attr_start:i]
            if not attr:
                raise HtmlParseError(f'Empty attribute name in the tag "{tag}" {at(begin)}')
            while i < n and text[i] in _HTML_SPACES:
                i += 1
            if i >= n or text[i] != "=":
                if tag == "blockquote" and attr == "expandable":
                    argument = "expandable"
                    continue
                raise HtmlParseError(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{tag}" {at(begin)}'
                )
            i += 1
            while i < n and text[i] in _HTML_SPACES:
                i += 1
            if i >= n:
                raise HtmlParseError(f'Unclosed start tag "{tag}" {at(begin)}')
            if text[i] not in "'\"":
                token_start = i  # an unquoted name token: letters, digits, '.', '-'
                while i < n and ((text[i].isascii() and text[i].isalnum()) or text[i] in ".-"):
                    i += 1
                value = text[token_start:i].lower()
                if i < n and text[i] not in _HTML_SPACES and text[i] != ">":
                    raise HtmlParseError(f"Unexpected end of name token {at(token_start)}")
            else:
                quote = text[i]
                i += 1
                chars: list[str] = []
                while i < n and text[i] != quote:
                    decoded = _decode_entity(text, i, False) if text[i] == "&" else None
                    if decoded is not None:
                        chars.append(decoded[0])
                        i = decoded[1]
                    else:
                        chars.append(text[i])
                        i += 1
                if i < n:
                    i += 1
                value = "".join(chars)
            if i >= n:
                raise HtmlParseError(f"Unclosed start tag {at(begin)}")
            if tag == "a" and attr == "href":
                argument = value
            elif tag == "code" and attr == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif tag == "span" and attr == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif tag == "tg-emoji" and attr == "emoji-id":
                argument = value
        i += 1  # the '>'
        if tag == "span" and argument != "spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" {at(begin)}')
        stack.append((tag, argument, u16, len(out)))

    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        entity.pop("_language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close_entity(
    entities: list[JSON], tag: str, argument: str, offset: int, length: int, inner_text: str
) -> None:
    """Append the entity for a closed tag; <pre><code class="language-x"> merges into one."""
    span = {"offset": offset, "length": length}
    last = entities[-1] if entities else None
    same_span = last is not None and last["offset"] == offset and last["length"] == length
    if tag in _SIMPLE_ENTITIES:
        entities.append({"type": _SIMPLE_ENTITIES[tag], **span})
    elif tag == "tg-emoji":
        if not argument.isdigit() or int(argument) == 0:
            raise HtmlParseError("Invalid custom emoji identifier specified")
        entities.append({"type": "custom_emoji", **span, "custom_emoji_id": argument})
    elif tag == "a":
        url = argument or inner_text
        user = re.fullmatch(r"tg://user\?id=(\d+)", url)
        if user:
            mentioned = {"id": int(user.group(1)), "is_bot": False, "first_name": inner_text}
            entities.append({"type": "text_mention", **span, "user": mentioned})
        else:
            entities.append({"type": "text_link", **span, "url": url})
    elif tag == "pre":
        if same_span and last is not None and last["type"] == "code" and last.get("_language"):
            last.update(type="pre", language=last.pop("_language"))
        else:
            entities.append({"type": "pre", **span})
    elif tag == "code":
        if same_span and last is not None and last["type"] == "pre" and argument:
            last["language"] = argument
        else:
            entities.append({"type": "code", **span, "_language": argument})
    elif tag == "blockquote":
        kind = "expandable_blockquote" if argument else "blockquote"
        entities.append({"type": kind, **span})


def strip_text(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Trim surrounding whitespace as Telegram does, keeping entity offsets right."""
    stripped = text.strip(" \t\r\n")
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip(" \t\r\n"))])
    limit = utf16_len(stripped)
    kept: list[JSON] = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(limit, entity["offset"] + entity["length"] - shift)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept
