"""A loopback stand-in for the Telegram Bot API, for end-to-end tests.

The real bot runs as its own process with ``TELEGRAM_API_URL`` pointing at
:attr:`FakeBotApi.base_url`; tests push updates (user messages, button presses)
into the fake and assert on the calls the bot made.  Only the standard library
is used so the server works from sync and async tests alike.

Where the bot could get Telegram wrong, the fake answers like Telegram does:
HTML that Telegram's parser rejects, over-long text (counted in UTF-16 code
units after entity parsing), bad inline keyboards, stale callback queries,
"message is not modified", blocked users (403) and flood limits (429).
The HTML checks follow tdlib's ``parse_html`` (td/telegram/MessageEntity.cpp),
which is what the Bot API server runs.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import math
import re
import select
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

__all__ = ["ApiError", "Call", "FakeBotApi", "UploadedFile", "parse_html"]

JSON = dict[str, Any]
T = TypeVar("T")

DEFAULT_TOKEN = "123456789:AAFakeTokenForLoopbackTests_0123456789"

# Methods that put a message into a chat; only these count for flood control.
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "sendVenue",
        "sendLocation",
        "copyMessage",
        "forwardMessage",
    }
)
# Everything the fake answers; any other method gets 404 like Telegram.
_METHODS = (
    "getMe getUpdates deleteWebhook setWebhook getWebhookInfo setMyCommands getMyCommands "
    "deleteMyCommands setChatMenuButton getChatMenuButton sendMessage editMessageText "
    "editMessageReplyMarkup deleteMessage answerCallbackQuery answerInlineQuery sendVenue "
    "sendLocation sendDocument sendPhoto sendChatAction forwardMessage copyMessage close "
    "logOut".split()
)

# Update kinds Telegram leaves out unless asked for by allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# Form fields kept as strings; every other form field is JSON-decoded, because
# python-telegram-bot sends non-string values (ints, bools, objects) JSON-encoded.
_STRING_FIELDS = frozenset(
    "text caption parse_mode title address foursquare_id foursquare_type "
    "google_place_id google_place_type callback_query_id inline_query_id url "
    "inline_message_id next_offset secret_token ip_address action "
    "business_connection_id message_effect_id language_code document photo "
    "thumbnail emoji query description short_description name switch_pm_text "
    "switch_pm_parameter file_id".split()
)

_CHAT_ACTIONS = frozenset(
    "typing upload_photo record_video upload_video record_voice upload_voice "
    "upload_document choose_sticker find_location record_video_note "
    "upload_video_note".split()
)

_BUTTON_ACTIONS = tuple(
    "url callback_data web_app login_url switch_inline_query "
    "switch_inline_query_current_chat switch_inline_query_chosen_chat copy_text "
    "callback_game pay".split()
)

_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
# The answer _serve cuts short: a success whose body does not parse (see garble_next).
_GARBLED: JSON = {}
_BOT_COMMAND_RE = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")


class ApiError(Exception):
    """An error answer: HTTP status == ``error_code``, as Telegram does."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded (multipart) or referenced by file_id/URL."""

    field: str
    file_name: str
    mime_type: str
    data: bytes
    file_id: str
    file_unique_id: str

    @property
    def text(self) -> str:
        """The content decoded as UTF-8 (for CSV/text exports)."""
        return self.data.decode("utf-8")


@dataclass
class Call:
    """One request the bot made, with what the fake answered."""

    index: int
    method: str
    params: JSON
    time: float
    ok: bool
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    files: dict[str, UploadedFile] = field(default_factory=dict)
    # True when the client had already hung up, e.g. the long poll python-telegram-bot
    # cancels on shutdown, which its final getUpdates then terminates with 409.
    client_gone: bool = False

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        """Text as the bot sent it (with HTML markup, if any)."""
        return self.params.get("text")

    @property
    def caption(self) -> str | None:
        return self.params.get("caption")

    @property
    def reply_markup(self) -> JSON | None:
        """The reply_markup as sent: inline, reply keyboard, remove or force-reply."""
        return self.params.get("reply_markup")

    @property
    def message(self) -> JSON | None:
        """The Message the fake returned, if the result was one."""
        return (
            self.result if isinstance(self.result, dict) and "message_id" in self.result else None
        )

    @property
    def message_id(self) -> int | None:
        if isinstance(self.result, dict):
            return self.result.get("message_id")
        return None

    @property
    def document(self) -> UploadedFile | None:
        return self.files.get("document")

    @property
    def photo(self) -> UploadedFile | None:
        return self.files.get("photo")

    @property
    def buttons(self) -> list[JSON]:
        """Inline keyboard buttons, flattened row by row (empty for other markups)."""
        markup = self.reply_markup
        rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
        return [button for row in rows for button in row]

    @property
    def button_labels(self) -> list[str]:
        return [button.get("text", "") for button in self.buttons]

    def __repr__(self) -> str:
        status = "ok" if self.ok else f"{self.error_code} {self.description}"
        if self.client_gone:
            status += " (client gone)"
        shown = {k: v for k, v in self.params.items() if k in ("chat_id", "text", "caption")}
        return f"<Call #{self.index} {self.method} {shown} -> {status}>"


# --------------------------------------------------------------------------- HTML

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


def _strip(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
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


# --------------------------------------------------------------------------- HTTP


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects
    timeout = 300  # idle keep-alive connections eventually close
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus
        # delayed ACKs add ~40 ms to every call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        self._serve()

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        body = self._read_body()
        status, payload = self.server.api._handle_http(
            self.path, self.headers.get("Content-Type", ""), body, self._client_gone
        )
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        if payload is _GARBLED:
            data = b'{"ok":true,"result":{"message_id":'
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. a cancelled long poll); Telegram doesn't care either

    def _client_gone(self) -> bool:
        """True if the client closed the connection (readable with nothing to read)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep test output clean; every call is in FakeBotApi.calls


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connection attempts when the bot opens many at once, and
    # each dropped SYN costs a one-second retransmit: that would be the fake's delay, not the bot's.
    request_queue_size = 256
    api: FakeBotApi

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        # Open keep-alive connections, so stop() can cut them: otherwise their handler
        # threads would keep answering the bot after the fake was stopped.
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self.connections_lock:
            for connection in self.connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    """Split multipart/form-data into text fields and (filename, mime, bytes) files."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise _bad("can't parse multipart/form-data: no boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'(?:^|;)\s*name="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name is None:
            continue
        if filename is not None:
            mime = headers.get("content-type", "application/octet-stream")
            files[name.group(1)] = (filename.group(1), mime, content)
        else:
            fields[name.group(1)] = content.decode("utf-8")
    return fields, files


def _decode_field(name: str, raw: str) -> Any:
    if name in _STRING_FIELDS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


# --------------------------------------------------------------------------- the fake


@dataclass
class _RateLimit:
    overall: int | None
    per_chat: int | None
    retry_after: int | None


class FakeBotApi:
    """A Telegram Bot API server on 127.0.0.1 for one bot token.

    Use as ``with FakeBotApi() as api:`` or call :meth:`start` / :meth:`stop`.
    All state is guarded by one condition variable, so request threads, test
    threads and ``asyncio.to_thread`` helpers can all use it concurrently.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        port: int = 0,
        bot_username: str = "resource_finder_test_bot",
        bot_first_name: str = "Resource Finder",
        strict_ampersand: bool = True,
        strict_chats: bool = False,
    ) -> None:
        """Configure the fake; nothing listens until :meth:`start`.

        ``strict_chats``: sends to a chat no update came from fail with
        "chat not found" (otherwise such chats are created on the fly).
        ``strict_ampersand``: see :func:`parse_html`.
        """
        self.token = token
        self.bot_user: JSON = {
            "id": int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456789,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.strict_ampersand = strict_ampersand
        self.strict_chats = strict_chats
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition(threading.RLock())
        self._closing = False
        self._methods: dict[str, tuple[str, Callable[[JSON, dict[str, UploadedFile]], Any]]] = {
            name.lower(): (name, getattr(self, "_m_" + name)) for name in _METHODS
        }
        self._calls: list[Call] = []
        # updates
        self._queue: list[JSON] = []
        self._next_update_id = 100_000_001
        self._allowed_updates: frozenset[str] | None = None  # None: Telegram's default set
        self.dropped_updates: list[JSON] = []
        self.internal_errors: list[str] = []  # tracebacks of crashes inside the fake
        self._poll_generation = 0
        self._active_polls = 0
        self._webhook: JSON = {"url": ""}
        # chats, users, messages
        self._chats: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._last_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._push_marks: dict[int, int] = {}
        # queries
        self._query_ids = itertools.count(4_200_000_000_000_000_001)
        self._open_callbacks: dict[str, int] = {}  # callback_query id -> chat id
        self._open_inline: set[str] = set()
        self._callback_by_update: dict[int, str] = {}
        # files, commands, menu buttons
        self._file_seq = itertools.count(1)
        self.files: dict[str, UploadedFile] = {}
        self._commands: dict[str, list[JSON]] = {}
        self._menu_buttons: dict[int | None, JSON] = {}
        # injected behaviour and counters
        self._blocked: dict[int, str] = {}
        self._failures: dict[str, deque[ApiError]] = {}
        self._rate: _RateLimit | None = None
        self._send_times: deque[float] = deque()
        self._chat_send_times: dict[int, deque[float]] = {}
        self._garbled: dict[str, int] = {}
        self._outage_until: float | None = None
        self._outage_status = 502
        self._chat_floods: dict[int, float] = {}  # chat id -> monotonic end of its flood wait
        self.count_429 = 0
        self.count_5xx = 0
        self.max_sends_per_second = 0
        self.max_chat_sends_per_second: dict[int, int] = {}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeBotApi:
        """Listen on 127.0.0.1 (a free port unless one was given) in a daemon thread."""
        if self._server is not None:
            return self
        self._closing = False
        self._server = _Server(("127.0.0.1", self._port))
        self._server.api = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FakeBotApi",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release pending long polls (they answer ``[]``) and shut the server down."""
        if self._server is None:
            return
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeBotApi is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What to put in TELEGRAM_API_URL / ``Bot(base_url=...)``."""
        return f"http://127.0.0.1:{self.port}/bot"

    def env(self) -> dict[str, str]:
        """Environment variables pointing the bot process at this fake."""
        return {"TELEGRAM_BOT_TOKEN": self.token, "TELEGRAM_API_URL": self.base_url}

    # ------------------------------------------------------------------ injection

    def block_chat(self, chat_id: int, description: str | None = None) -> None:
        """Make sends to ``chat_id`` fail with 403, as after the user blocked the bot."""
        with self._cond:
            if description is None:
                kicked = chat_id < 0
                description = (
                    "Forbidden: bot was kicked from the group chat"
                    if kicked
                    else "Forbidden: bot was blocked by the user"
                )
            self._blocked[chat_id] = description

    def unblock_chat(self, chat_id: int) -> None:
        """Undo :meth:`block_chat`."""
        with self._cond:
            self._blocked.pop(chat_id, None)

    def rate_limit(
        self,
        per_second_overall: int | None = 30,
        per_chat_per_second: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Answer 429 when a send would exceed N successful sends in any sliding second.

        ``retry_after`` forces the advertised wait; by default it is the
        (ceiled, at least 1) time until the window frees a slot.
        """
        with self._cond:
            self._rate = _RateLimit(per_second_overall, per_chat_per_second, retry_after)

    def clear_rate_limit(self) -> None:
        """Stop answering 429 (counters keep their values)."""
        with self._cond:
            self._rate = None

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Fail the next call of ``method`` once (calls queue up if repeated).

        A 429 without ``retry_after`` advertises 1 second, so python-telegram-bot
        raises RetryAfter rather than a generic NetworkError.
        """
        if error_code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if error_code == 429
                else _DEFAULT_DESCRIPTIONS.get(error_code, "Internal Server Error")
            )
        with self._cond:
            queue = self._failures.setdefault(method.lower(), deque())
            queue.append(ApiError(error_code, description, retry_after))

    def garble_next(self, method: str, times: int = 1) -> None:
        """Carry out the next ``times`` calls of ``method``, but answer each with a 200 whose
        body is cut off (a proxy or server hiccup): the message was sent all the same."""
        with self._cond:
            self._garbled[method.lower()] = self._garbled.get(method.lower(), 0) + times

    def outage(self, seconds: float | None = None, status: int = 502) -> None:
        """Answer every call but getUpdates with ``status`` for ``seconds`` (None: until
        :meth:`end_outage`), as when Telegram's servers are down."""
        with self._cond:
            self._outage_status = status
            self._outage_until = math.inf if seconds is None else time.monotonic() + seconds

    def end_outage(self) -> None:
        with self._cond:
            self._outage_until = None

    def flood_chat(self, chat_id: int, seconds: int) -> None:
        """Sends to ``chat_id`` answer 429 (retry_after: what is left of ``seconds``) until
        ``seconds`` have passed, as Telegram does to a chat that got too many messages."""
        with self._cond:
            self._chat_floods[chat_id] = time.monotonic() + seconds

    # ------------------------------------------------------------------ driving the bot

    def push_update(self, update: JSON) -> int:
        """Queue a raw Update dict (``update_id`` is assigned if missing); returns its id."""
        with self._cond:
            update = copy.deepcopy(update)
            if "update_id" not in update:
                update["update_id"] = self._next_update_id
            self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
            kind = next((key for key in update if key != "update_id"), "")
            allowed = (
                kind not in _OPT_IN_UPDATES
                if self._allowed_updates is None
                else kind in self._allowed_updates
            )
            # Telegram filters by allowed_updates when the update is created.
            if allowed:
                self._queue.append(update)
            else:
                self.dropped_updates.append(update)
            self._cond.notify_all()
            return int(update["update_id"])

    def push_message(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        language_code: str | None = "en",
        chat_type: str = "private",
        reply_to_message_id: int | None = None,
        first_name: str = "Alex",
        *,
        last_name: str | None = None,
        username: str | None = None,
        title: str | None = None,
    ) -> int:
        """A user writes ``text`` in ``chat_id``; returns the update_id.

        Bot commands anywhere in the text get ``bot_command`` entities, so a
        leading ``/start`` matches CommandHandler.  In a private chat the user id
        is the chat id; in groups it defaults to 700000001.
        """
        entities = [
            {
                "type": "bot_command",
                "offset": utf16_len(text[: m.start()]),
                "length": utf16_len(m.group()),
            }
            for m in _BOT_COMMAND_RE.finditer(text)
        ]
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        return self._push_user_message(
            chat_id,
            content,
            user_id,
            language_code,
            chat_type,
            reply_to_message_id,
            first_name,
            last_name,
            username,
            title,
        )

    def push_location(
        self,
        chat_id: int,
        latitude: float,
        longitude: float,
        user_id: int | None = None,
        language_code: str | None = "en",
        chat_type: str = "private",
        first_name: str = "Alex",
    ) -> int:
        """A user shares a location in ``chat_id``; returns the update_id."""
        content = {"location": {"latitude": latitude, "longitude": longitude}}
        return self._push_user_message(
            chat_id, content, user_id, language_code, chat_type, None, first_name, None, None, None
        )

    def push_callback(
        self, chat_id: int, message_id: int, data: str, user_id: int | None = None
    ) -> int:
        """A user presses a button with ``data`` under a bot message; returns the update_id."""
        with self._cond:
            message = self._messages.get((chat_id, message_id))
            if message is None or message.get("from", {}).get("id") != self.bot_user["id"]:
                raise LookupError(f"the bot sent no message {message_id} in chat {chat_id}")
            query_id = str(next(self._query_ids))
            user = self._user_for(chat_id, user_id)
            update_id = self.push_update(
                {
                    "callback_query": {
                        "id": query_id,
                        "from": user,
                        "message": copy.deepcopy(message),
                        "chat_instance": str(abs(chat_id) * 7919 + 13),
                        "data": data,
                    }
                }
            )
            self._open_callbacks[query_id] = chat_id
            self._callback_by_update[update_id] = query_id
            self._push_marks[chat_id] = len(self._calls)
            return update_id

    def push_inline_query(self, user_id: int, query: str, offset: str = "") -> int:
        """A user types ``@bot query`` anywhere; returns the update_id."""
        with self._cond:
            query_id = str(next(self._query_ids))
            self._open_inline.add(query_id)
            return self.push_update(
                {
                    "inline_query": {
                        "id": query_id,
                        "from": self._user_for(user_id, user_id),
                        "query": query,
                        "offset": offset,
                        "chat_type": "sender",
                    }
                }
            )

    def press(
        self, chat_id: int, label_substring: str, user_id: int | None = None, timeout: float = 10
    ) -> int:
        """Press the inline button whose text contains ``label_substring``.

        Looks at the bot's messages in ``chat_id`` newest first (their current
        state, after edits), waiting up to ``timeout`` for such a button to appear.
        Returns the update_id of the callback query.
        """

        def find() -> tuple[int, JSON] | None:
            mine = [
                message
                for (chat, _), message in self._messages.items()
                if chat == chat_id and message.get("from", {}).get("id") == self.bot_user["id"]
            ]
            for message in sorted(mine, key=lambda m: m["message_id"], reverse=True):
                rows = message.get("reply_markup", {}).get("inline_keyboard", [])
                for button in (b for row in rows for b in row):
                    if label_substring in button.get("text", ""):
                        return message["message_id"], button
            return None

        def labels() -> str:
            return repr(
                [
                    b.get("text")
                    for (chat, _), m in sorted(self._messages.items())
                    if chat == chat_id
                    for row in m.get("reply_markup", {}).get("inline_keyboard", [])
                    for b in row
                ]
            )

        with self._cond:
            message_id, button = self._wait(
                find,
                timeout,
                lambda: f"a button containing {label_substring!r}; buttons: {labels()}",
            )
            if "callback_data" not in button:
                raise ValueError(f"button {button!r} has no callback_data to press")
            return self.push_callback(chat_id, message_id, button["callback_data"], user_id)

    # ------------------------------------------------------------------ inspecting

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call recorded so far, in completion order."""
        with self._cond:
            return list(self._calls)

    def mark(self) -> int:
        """The index the next call will get; pass as ``after_index`` to ignore older calls."""
        with self._cond:
            return len(self._calls)

    @property
    def errors(self) -> list[Call]:
        """Failed calls whose client was still listening (what the bot actually saw)."""
        with self._cond:
            return [c for c in self._calls if not c.ok and not c.client_gone]

    def calls_to(self, method: str) -> list[Call]:
        """All recorded calls of ``method`` (case-insensitive)."""
        with self._cond:
            return [c for c in self._calls if c.method.lower() == method.lower()]

    def sent_to(self, chat_id: int) -> list[Call]:
        """Successful sends (messages, documents, photos, venues...) to ``chat_id``, in order."""
        with self._cond:
            return [
                c for c in self._calls if c.ok and c.method in SEND_METHODS and c.chat_id == chat_id
            ]

    def message(self, chat_id: int, message_id: int) -> JSON | None:
        """The current state of a message (after edits), or None if absent/deleted."""
        with self._cond:
            found = self._messages.get((chat_id, message_id))
            return copy.deepcopy(found) if found is not None else None

    def last_message(self, chat_id: int) -> JSON | None:
        """The newest message the bot sent in ``chat_id`` that still exists, current state."""
        with self._cond:
            mine = [
                m
                for (chat, _), m in self._messages.items()
                if chat == chat_id and m.get("from", {}).get("id") == self.bot_user["id"]
            ]
            return copy.deepcopy(max(mine, key=lambda m: m["message_id"])) if mine else None

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates queued but not yet confirmed by the bot (via getUpdates offset)."""
        with self._cond:
            return copy.deepcopy(self._queue)

    @property
    def unanswered_callback_queries(self) -> list[str]:
        """Callback query ids the bot has not answered (the user still sees a spinner)."""
        with self._cond:
            return list(self._open_callbacks)

    @property
    def commands(self) -> dict[str, list[JSON]]:
        """Commands set via setMyCommands, keyed by "<scope type>/<language_code>"."""
        with self._cond:
            return copy.deepcopy(self._commands)

    # ------------------------------------------------------------------ waiting

    def _wait(self, find: Callable[[], T | None], timeout: float, what: Callable[[], str]) -> T:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = find()
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recent = "\n  ".join(repr(c) for c in self._calls[-8:]) or "(no calls)"
                    raise TimeoutError(f"waited {timeout}s for {what()}; last calls:\n  {recent}")
                self._cond.wait(remaining)

    def wait_for(
        self, predicate: Callable[[Call], bool], timeout: float = 10, after_index: int = 0
    ) -> Call:
        """Block until a call with index >= ``after_index`` matches ``predicate``; return it."""
        return self._wait(
            lambda: next((c for c in self._calls[after_index:] if predicate(c)), None),
            timeout,
            lambda: "a matching call",
        )

    def wait_for_reply(
        self, chat_id: int, after_index: int | None = None, timeout: float = 10
    ) -> Call:
        """Block until the bot successfully sends something to ``chat_id``; return that call.

        By default only sends after the latest push to that chat count (so
        ``push_message`` then ``wait_for_reply`` gets the answer to it); pass
        ``after_index`` (e.g. from :meth:`mark` or ``call.index + 1``) to choose.
        """
        with self._cond:
            start = self._push_marks.get(chat_id, 0) if after_index is None else after_index
        return self._wait(
            lambda: next(
                (
                    c
                    for c in self._calls[start:]
                    if c.ok and c.method in SEND_METHODS and c.chat_id == chat_id
                ),
                None,
            ),
            timeout,
            lambda: f"a send to chat {chat_id} from call #{start} on",
        )

    def wait_for_callback_answer(self, update_id: int, timeout: float = 10) -> Call:
        """Block until the bot answers the callback query pushed as ``update_id``."""
        with self._cond:
            query_id = self._callback_by_update[update_id]
        return self.wait_for(
            lambda c: (
                c.ok
                and c.method == "answerCallbackQuery"
                and str(c.params.get("callback_query_id")) == query_id
            ),
            timeout,
        )

    def wait_until_polling(self, timeout: float = 10) -> None:
        """Block until the bot has a getUpdates request waiting (it is up and listening)."""
        self._wait(
            lambda: True if self._active_polls > 0 else None,
            timeout,
            lambda: "a getUpdates long poll",
        )

    # The async twins hand ``timeout`` to the blocking helper in a worker thread.
    async def await_for(
        self,
        predicate: Callable[[Call], bool],
        timeout: float = 10,  # noqa: ASYNC109
        after_index: int = 0,
    ) -> Call:
        """Async :meth:`wait_for`."""
        return await asyncio.to_thread(self.wait_for, predicate, timeout, after_index)

    async def await_reply(
        self,
        chat_id: int,
        after_index: int | None = None,
        timeout: float = 10,  # noqa: ASYNC109
    ) -> Call:
        """Async :meth:`wait_for_reply`."""
        return await asyncio.to_thread(self.wait_for_reply, chat_id, after_index, timeout)

    async def await_polling(self, timeout: float = 10) -> None:  # noqa: ASYNC109
        """Async :meth:`wait_until_polling`."""
        await asyncio.to_thread(self.wait_until_polling, timeout)

    async def apress(
        self,
        chat_id: int,
        label_substring: str,
        user_id: int | None = None,
        timeout: float = 10,  # noqa: ASYNC109
    ) -> int:
        """Async :meth:`press`."""
        return await asyncio.to_thread(self.press, chat_id, label_substring, user_id, timeout)

    # ------------------------------------------------------------------ request plumbing

    def _handle_http(
        self,
        path: str,
        content_type: str,
        body: bytes,
        client_gone: Callable[[], bool] = lambda: False,
    ) -> tuple[int, JSON]:
        url = urlsplit(path)
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z0-9_]+)/?", url.path)
        if match is None:
            return 404, ApiError(404, "Not Found").payload()
        token, method = match.groups()
        started = time.time()
        params: JSON = {}
        files: dict[str, UploadedFile] = {}
        try:
            params, raw_files = self._parse_params(content_type, body, url.query)
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            canonical, handler = self._methods.get(method.lower(), (method, None))
            with self._cond:
                failures = self._failures.get(method.lower())
                if failures:
                    raise failures.popleft()
                if self._outage_until is not None and canonical != "getUpdates":
                    if time.monotonic() < self._outage_until:
                        status = self._outage_status
                        raise ApiError(status, _DEFAULT_DESCRIPTIONS.get(status, "Bad Gateway"))
                    self._outage_until = None
            if handler is None:
                raise ApiError(404, "Not Found")
            with self._cond:
                files = {name: self._new_file(name, *spec) for name, spec in raw_files.items()}
                result = handler(params, files)
                gone = canonical == "getUpdates" and client_gone()
                self._record(canonical, params, started, files, result=result, client_gone=gone)
                if self._garbled.get(canonical.lower()):
                    self._garbled[canonical.lower()] -= 1
                    return 200, _GARBLED
            return 200, {"ok": True, "result": result}
        except Exception as exc:
            error = exc if isinstance(exc, ApiError) else None
            if error is None:
                # A bug in the fake, or input it cannot handle: answer 500 (PTB raises
                # NetworkError) and keep the traceback for the test to show.
                self.internal_errors.append(traceback.format_exc())
                error = ApiError(500, f"Internal Server Error: FakeBotApi failed: {exc!r}")
            with self._cond:
                name = self._methods.get(method.lower(), (method, None))[0]
                gone = name == "getUpdates" and client_gone()
                self._record(name, params, started, files, error=error, client_gone=gone)
            return error.error_code, error.payload()

    def _parse_params(
        self, content_type: str, body: bytes, query: str
    ) -> tuple[JSON, dict[str, tuple[str, str, bytes]]]:
        params: JSON = {k: _decode_field(k, v) for k, v in parse_qsl(query)}
        raw_files: dict[str, tuple[str, str, bytes]] = {}
        kind = content_type.split(";")[0].strip().lower()
        if kind == "application/json" and body:
            try:
                decoded = json.loads(body)
            except ValueError:
                raise _bad("can't parse JSON object") from None
            if not isinstance(decoded, dict):
                raise _bad("JSON object expected")
            params.update(decoded)
        elif kind == "multipart/form-data":
            fields, raw_files = _parse_multipart(content_type, body)
            params.update({k: _decode_field(k, v) for k, v in fields.items()})
        elif body:
            form = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            params.update({k: _decode_field(k, v) for k, v in form})
        return params, raw_files

    def _record(
        self,
        method: str,
        params: JSON,
        started: float,
        files: dict[str, UploadedFile],
        result: Any = None,
        error: ApiError | None = None,
        client_gone: bool = False,
    ) -> None:
        call = Call(
            index=len(self._calls),
            method=method,
            params=params,
            time=started,
            ok=error is None,
            result=copy.deepcopy(result),
            error_code=error.error_code if error else None,
            description=error.description if error else None,
            files=files,
            client_gone=client_gone,
        )
        if error is not None and error.error_code == 429:
            self.count_429 += 1
        if error is not None and error.error_code >= 500:
            self.count_5xx += 1
        self._calls.append(call)
        self._cond.notify_all()

    def _new_file(self, field_name: str, file_name: str, mime: str, data: bytes) -> UploadedFile:
        seq = next(self._file_seq)
        prefix = "AgACAgIAAxkDAAI" if field_name == "photo" else "BQACAgIAAxkDAAI"
        return UploadedFile(
            field=field_name,
            file_name=file_name,
            mime_type=mime,
            data=data,
            file_id=f"{prefix}{seq:06d}FakeFileId",
            file_unique_id=f"AgAD{seq:06d}",
        )

    # ------------------------------------------------------------------ shared helpers

    def _user_for(self, chat_id: int, user_id: int | None) -> JSON:
        if user_id is None:
            user_id = chat_id if chat_id > 0 else 700_000_001
        user = self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": "Alex", "language_code": "en"}
            self._users[user_id] = user
        return dict(user)

    def _push_user_message(
        self,
        chat_id: int,
        content: JSON,
        user_id: int | None,
        language_code: str | None,
        chat_type: str,
        reply_to_message_id: int | None,
        first_name: str,
        last_name: str | None,
        username: str | None,
        title: str | None,
    ) -> int:
        with self._cond:
            if user_id is None:
                user_id = chat_id if chat_type == "private" else 700_000_001
            user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
            for key, value in (
                ("last_name", last_name),
                ("username", username),
                ("language_code", language_code),
            ):
                if value:
                    user[key] = value
            self._users[user_id] = user
            if chat_type == "private":
                chat = {
                    k: v for k, v in user.items() if k in ("first_name", "last_name", "username")
                }
            else:
                chat = {"title": title or self._chats.get(chat_id, {}).get("title", "Test group")}
            self._chats[chat_id] = {"id": chat_id, "type": chat_type, **chat}
            extra: JSON = {}
            if reply_to_message_id is not None:
                target = self._messages.get((chat_id, reply_to_message_id))
                if target is None:
                    raise LookupError(f"no message {reply_to_message_id} in chat {chat_id}")
                extra["reply_to_message"] = self._shallow(target)
            message = self._store_message(self._chats[chat_id], dict(user), {**content, **extra})
            update_id = self.push_update({"message": message})
            self._push_marks[chat_id] = len(self._calls)
            return update_id

    def _store_message(self, chat: JSON, sender: JSON, content: JSON) -> JSON:
        # Message ids are per chat and shared by both sides, as in Telegram.
        chat_id = chat["id"]
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        message = {
            "message_id": message_id,
            "from": sender,
            "chat": dict(chat),
            "date": int(time.time()),
            **content,
        }
        self._messages[(chat_id, message_id)] = message
        return copy.deepcopy(message)

    @staticmethod
    def _shallow(message: JSON) -> JSON:
        # Telegram does not nest reply_to_message inside reply_to_message.
        return {k: copy.deepcopy(v) for k, v in message.items() if k != "reply_to_message"}

    def _chat_id(self, params: JSON, key: str = "chat_id") -> int:
        value = params.get(key)
        if value is None or value == "":
            raise _bad(f"{key} is empty")
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise _bad("chat not found")
        params[key] = value  # recorded params then compare equal to ints
        return value

    def _chat(self, chat_id: int) -> JSON:
        chat = self._chats.get(chat_id)
        if chat is None:
            if self.strict_chats:
                raise _bad("chat not found")
            if chat_id > 0:
                chat = {"id": chat_id, "type": "private", "first_name": "Alex"}
            else:
                kind = "supergroup" if str(chat_id).startswith("-100") else "group"
                chat = {"id": chat_id, "type": kind, "title": "Test group"}
            self._chats[chat_id] = chat
        return chat

    def _formatted(self, params: JSON, key: str, limit: int) -> tuple[str, list[JSON]]:
        """Text or caption after entity parsing, validated like Telegram."""
        is_caption = key == "caption"
        raw = params.get(key)
        raw = "" if raw is None else str(raw)
        entities_key = "caption_entities" if is_caption else "entities"
        explicit = params.get(entities_key)
        mode = str(params.get("parse_mode") or "").lower()
        if explicit:
            text, entities = raw, list(explicit)
        elif mode == "html":
            try:
                text, entities = parse_html(raw, strict_ampersand=self.strict_ampersand)
            except HtmlParseError as error:
                raise _bad(f"can't parse entities: {error}") from None
        elif mode in ("", "markdown", "markdownv2"):
            # Markdown is passed through unchecked; only HTML is validated.
            text, entities = raw, []
        else:
            raise _bad("unsupported parse_mode")
        text, entities = _strip(text, entities)
        if not text and not is_caption:
            raise _bad("message text is empty")
        if utf16_len(text) > limit:
            raise _bad("message caption is too long" if is_caption else "message is too long")
        return text, entities

    def _markup(self, params: JSON) -> JSON | None:
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError:
                raise _bad("can't parse reply keyboard markup JSON object") from None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        params["reply_markup"] = markup
        if "inline_keyboard" not in markup:
            return None  # reply keyboards are not part of the returned Message
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        buttons = [button for row in rows for button in row]
        for button in buttons:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _bad(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not any(action in button for action in _BUTTON_ACTIONS):
                raise _bad(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                if not isinstance(url, str) or not url or any(ch.isspace() for ch in url):
                    raise _bad("BUTTON_URL_INVALID")
        if len(buttons) > 100:
            raise _bad("reply markup is too long")
        return markup

    def _reply_target(self, chat_id: int, params: JSON) -> JSON | None:
        reply = params.get("reply_parameters")
        if not isinstance(reply, dict):
            if params.get("reply_to_message_id") in (None, ""):
                return None
            reply = {"message_id": params["reply_to_message_id"]}
        target_chat = int(reply.get("chat_id", chat_id))
        target = self._messages.get((target_chat, int(reply["message_id"])))
        if target is None:
            allow = reply.get("allow_sending_without_reply") or params.get(
                "allow_sending_without_reply"
            )
            if allow:
                return None
            raise _bad("message to be replied not found")
        return self._shallow(target)

    def _admit(self, method: str, chat_id: int) -> None:
        """Apply blocking and flood control to an otherwise valid send, then count it."""
        if chat_id in self._blocked:
            raise ApiError(403, self._blocked[chat_id])
        if method not in SEND_METHODS:
            return
        now = time.monotonic()
        flood_ends = self._chat_floods.get(chat_id)
        if flood_ends is not None and flood_ends > now:
            wait = max(1, math.ceil(flood_ends - now))
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        overall = self._send_times
        per_chat = self._chat_send_times.setdefault(chat_id, deque())
        for window in (overall, per_chat):
            while window and window[0] <= now - 1.0:
                window.popleft()
        if self._rate is not None:
            for window, limit in ((overall, self._rate.overall), (per_chat, self._rate.per_chat)):
                if limit is not None and len(window) >= limit:
                    wait = self._rate.retry_after or max(1, math.ceil(window[0] + 1.0 - now))
                    raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        overall.append(now)
        per_chat.append(now)
        # The busiest window always ends at a send, so checking here finds the maximum.
        self.max_sends_per_second = max(self.max_sends_per_second, len(overall))
        best = self.max_chat_sends_per_second.get(chat_id, 0)
        self.max_chat_sends_per_second[chat_id] = max(best, len(per_chat))

    def _bot_message(
        self, chat: JSON, markup: JSON | None, reply_to: JSON | None, content: JSON
    ) -> JSON:
        if markup is not None:
            content["reply_markup"] = markup
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        return self._store_message(chat, dict(self.bot_user), content)

    def _input_file(self, params: JSON, files: dict[str, UploadedFile], key: str) -> UploadedFile:
        """The uploaded part, or a file reused by file_id, or one "downloaded" from a URL."""
        ref = params.get(key)
        if key in files:
            return files[key]
        if isinstance(ref, str) and ref.startswith("attach://") and ref[9:] in files:
            return files[ref[9:]]
        if isinstance(ref, str) and ref:
            if ref in self.files:
                return self.files[ref]
            if ref.startswith(("http://", "https://")):
                name = urlsplit(ref).path.rsplit("/", 1)[-1] or "file"
                return self._new_file(key, name, "application/octet-stream", b"")
            raise _bad("wrong file identifier/HTTP URL specified")
        raise _bad(f"there is no {key} in the request")

    def _with_caption(self, params: JSON, content: JSON) -> JSON:
        caption, entities = self._formatted(params, "caption", 1024)
        if caption:
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return content

    def _source_message(self, params: JSON, missing: str) -> JSON:
        from_chat = self._chat_id(params, "from_chat_id")
        message_id = params.get("message_id")
        if message_id in (None, ""):
            raise _bad("message_id is empty")
        source = self._messages.get((from_chat, int(message_id)))
        if source is None:
            raise _bad(missing)
        return source

    # ------------------------------------------------------------------ Bot API methods

    def _m_getMe(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:  # noqa: N802
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_getUpdates(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:  # noqa: N802
        if self._webhook["url"]:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if allowed else None
        # An offset confirms every update below it; a negative one keeps only the last -offset.
        if offset > 0:
            self._queue = [u for u in self._queue if u["update_id"] >= offset]
        elif offset < 0:
            self._queue = self._queue[offset:]
        # A newer getUpdates terminates an older one with 409, like Telegram does.
        self._poll_generation += 1
        generation = self._poll_generation
        self._active_polls += 1
        self._cond.notify_all()
        deadline = time.monotonic() + timeout
        try:
            while not self._queue and not self._closing and generation == self._poll_generation:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            return copy.deepcopy(self._queue[:limit])
        finally:
            self._active_polls -= 1

    def _m_deleteWebhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:  # noqa: N802
        self._webhook = {"url": ""}
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _m_setWebhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:  # noqa: N802
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("secret token contains unallowed characters")
        self._webhook = {"url": url}
        if params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _m_getWebhookInfo(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:  # noqa: N802
        return {
            "url": self._webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }

    @staticmethod
    def _commands_key(params: JSON) -> str:
        scope = params.get("scope") or {"type": "default"}
        extra = "".join(f":{scope[k]}" for k in ("chat_id", "user_id") if k in scope)
        return f"{scope.get('type', 'default')}{extra}/{params.get('language_code') or ''}"

    def _m_setMyCommands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:  # noqa: N802
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand: expected an Object")
            if not _COMMAND_NAME_RE.fullmatch(str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _m_getMyCommands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:  # noqa: N802
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    def _m_deleteMyCommands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:  # noqa: N802
        self._commands.pop(self._commands_key(params), None)
        return True

    def _m_setChatMenuButton(self, params: JSON, files: dict[str, UploadedFile]) -> bool:  # noqa: N802
        chat_id = self._chat_id(params) if params.get("chat_id") not in (None, "") else None
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "commands",
            "web_app",
            "default",
        ):
            raise _bad("can't parse menu button")
        self._menu_buttons[chat_id] = button
        return True

    def _m_getChatMenuButton(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:  # noqa: N802
        chat_id = self._chat_id(params) if params.get("chat_id") not in (None, "") else None
        button = self._menu_buttons.get(chat_id) or self._menu_buttons.get(None)
        return copy.deepcopy(button or {"type": "commands"})

    def _m_sendMessage(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:  # noqa: N802
        chat = self._chat(self._chat_id(params))
        text, entities = self._formatted(params, "text", 4096)
        markup = self._markup(params)
        reply_to = self._reply_target(chat["id"], params)
        self._admit("sendMessage", chat["id"])
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        return self._bot_message(chat, markup, reply_to, content)

    def _m_sendDocument(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:  # noqa: N802
        chat = self._chat(self._chat_id(params))
        upload = self._input_file(params, files, "document")
        content = self._with_caption(params, {})
        markup = self._markup(params)
        reply_to = self._reply_target(chat["id"], params)
        self._admit("sendDocument", chat["id"])
        files["document"] = upload
        self.files[upload.file_id] = upload
        content["document"] = {
            "file_id": upload.file_id,
            "file_unique_id": upload.file_unique_id,
            "file_name": upload.file_name,
            "mime_type": upload.mime_type,
            "file_size": len(upload.data),
        }
        return self._bot_message(chat, markup, reply_to, content)

    def _m_sendPhoto(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:  # noqa: N802
        chat = self._chat(self._chat_id(params))
        upload = self._input_file(params, files, "photo")
        content = self._with_caption(params, {})
        markup = self._markup(params)
        reply_to = self._reply_target(chat["id"], params)
        self._admit("sendPhoto", chat["id"])
        files["photo"] = upload
        self.files[upload.file_id] = upload
        content["photo"] = [
            {
                "file_id": upload.file_id,
                "file_unique_id": upload.file_unique_id,
                "width": 800,
                "height": 600,
                "file_size": len(upload.data),
            }
        ]
        return self._bot_message(chat, markup, reply_to, content)

    @staticmethod
    def _coordinate(params: JSON, key: str, bound: float) -> float:
        value = params.get(key)
        if value is None or str(value).strip() == "":
            raise _bad(f"{key} is empty")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise _bad(f"wrong {key} specified") from None
        if not -bound <= number <= bound:
            raise _bad(f"wrong {key} specified")
        return number

    def _location(self, params: JSON) -> JSON:
        return {
            "latitude": self._coordinate(params, "latitude", 90),
            "longitude": self._coordinate(params, "longitude", 180),
        }

    def _m_sendLocation(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:  # noqa: N802
        chat = self._chat(self._chat_id(params))
        location = self._location(params)
        markup = self._markup(params)
        reply_to = self._reply_target(chat["id"], params)
        self._admit("sendLocation", chat["id"])
        return self._bot_message(chat, markup, reply_to, {"location": location})

    def _m_sendVenue(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:  # noqa: N802
        chat = self._chat(self._chat_id(params))
        location = self._location(params)
        for key in ("title", "address"):
            if not str(params.get(key) or "").strip():
                raise _bad(f"{key} is empty")
        markup = self._markup(params)
        reply_to = self._reply_target(chat["id"], params)
        self._admit("sendVenue", chat["id"])
        venue: JSON = {"location": location, "title": params["title"], "address": params["address"]}
        for key in ("foursquare_id", "foursquare_type", "google_place_id", "google_place_type"):
            if params.get(key):
                venue[key] = params[key]
        # Telegram sends the location alongside the venue for older clients.
        content = {"venue": venue, "location": dict(location)}
        return self._bot_message(chat, markup, reply_to, content)

    def _m_sendChatAction(self, params: JSON, files: dict[str, UploadedFile]) -> bool:  # noqa: N802
        chat = self._chat(self._chat_id(params))
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self._admit("sendChatAction", chat["id"])
        return True

    def _m_forwardMessage(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:  # noqa: N802
        chat = self._chat(self._chat_id(params))
        source = self._source_message(params, "message to forward not found")
        self._admit("forwardMessage", chat["id"])
        content = {
            k: copy.deepcopy(v)
            for k, v in source.items()
            if k not in ("message_id", "from", "chat", "date", "reply_to_message", "edit_date")
        }
        origin_user = source.get("from", {})
        content["forward_origin"] = {
            "type": "user",
            "date": source["date"],
            "sender_user": origin_user,
        }
        return self._bot_message(chat, None, None, content)

    def _m_copyMessage(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:  # noqa: N802
        chat = self._chat(self._chat_id(params))
        source = self._source_message(params, "message to copy not found")
        content = {
            k: copy.deepcopy(v)
            for k, v in source.items()
            if k
            not in (
                "message_id",
                "from",
                "chat",
                "date",
                "reply_to_message",
                "edit_date",
                "reply_markup",
            )
        }
        if "caption" in params:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content = self._with_caption(params, content)
        markup = self._markup(params)
        reply_to = self._reply_target(chat["id"], params)
        self._admit("copyMessage", chat["id"])
        copied = self._bot_message(chat, markup, reply_to, content)
        return {"message_id": copied["message_id"]}

    def _editable(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if message_id in (None, ""):
            raise _bad("message_id is empty")
        message = self._messages.get((chat_id, int(message_id)))
        if message is None:
            raise _bad("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise _bad("message can't be edited")
        return message

    def _m_editMessageText(self, params: JSON, files: dict[str, UploadedFile]) -> JSON | bool:  # noqa: N802
        if params.get("inline_message_id"):
            self._formatted(params, "text", 4096)
            self._markup(params)
            return True
        message = self._editable(params)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        text, entities = self._formatted(params, "text", 4096)
        # Omitting reply_markup in an edit removes the inline keyboard, as in Telegram.
        markup = self._markup(params)
        unchanged = (
            text == message["text"]
            and entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        )
        if unchanged:
            raise _bad(_NOT_MODIFIED)
        message["text"] = text
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        message.pop("reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _m_editMessageReplyMarkup(  # noqa: N802
        self, params: JSON, files: dict[str, UploadedFile]
    ) -> JSON | bool:
        if params.get("inline_message_id"):
            self._markup(params)
            return True
        message = self._editable(params)
        markup = self._markup(params)
        if markup == message.get("reply_markup"):
            raise _bad(_NOT_MODIFIED)
        message.pop("reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _m_deleteMessage(self, params: JSON, files: dict[str, UploadedFile]) -> bool:  # noqa: N802
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if message_id in (None, ""):
            raise _bad("message_id is empty")
        if self._messages.pop((chat_id, int(message_id)), None) is None:
            raise _bad("message to delete not found")
        return True

    def _m_answerCallbackQuery(self, params: JSON, files: dict[str, UploadedFile]) -> bool:  # noqa: N802
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callbacks:
            raise _bad(_QUERY_INVALID)
        if len(str(params.get("text") or "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        del self._open_callbacks[query_id]
        return True

    def _m_answerInlineQuery(self, params: JSON, files: dict[str, UploadedFile]) -> bool:  # noqa: N802
        query_id = str(params.get("inline_query_id") or "")
        if query_id not in self._open_inline:
            raise _bad(_QUERY_INVALID)
        results = params.get("results")
        if not isinstance(results, list):
            raise _bad("can't parse inline query results JSON object")
        if len(results) > 50:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            result_id = str(result.get("id", "")) if isinstance(result, dict) else ""
            if not 1 <= len(result_id.encode("utf-8")) <= 64:
                raise _bad("RESULT_ID_INVALID")
            if result_id in seen:
                raise _bad("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            markup = result.get("reply_markup")
            if markup is not None:
                self._markup({"reply_markup": markup})
        self._open_inline.discard(query_id)
        return True

    def _m_close(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return True

    def _m_logOut(self, params: JSON, files: dict[str, UploadedFile]) -> bool:  # noqa: N802
        return True
