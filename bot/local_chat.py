"""`resource-finder chat`: the same Application and handlers, talking to a terminal.

`InProcessBotApi` answers the Bot API calls python-telegram-bot makes (sendMessage,
editMessageText, sendVenue...) inside this process, records them, and hands each one to a
listener. The local chat prints them; handler tests read the recording.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.config import Settings
from knowledge.chats import get_chat
from knowledge.models import Role

LOCAL_TOKEN = "1:local-chat"
BOT_USER = {
    "id": 1,
    "is_bot": True,
    "first_name": "Resource Finder",
    "username": "resource_finder_bot",
}
LOCAL_USERS = {"family": 1001, "staff": 1002, "coordinator": 1003}
SENDING_METHODS = {
    "sendMessage",
    "sendVenue",
    "sendLocation",
    "sendDocument",
    "sendPhoto",
    "copyMessage",
    "forwardMessage",
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    result: Any = None


def _first_id() -> int:
    """Microseconds since 1970: later than any id an earlier session on this database gave
    (sessions send far fewer than a million messages a second), and within JSON's 2**53."""
    return time.time_ns() // 1000


@dataclass
class InProcessBotApi(BaseRequest):
    """A Bot API that lives in this process: enough of Telegram for the handlers."""

    listener: Callable[[Call], None] | None = None
    calls: list[Call] = field(default_factory=list)
    # Message ids go on from one session to the next, as in a real chat: coordinators' copies of
    # questions are stored by message id, and a second session starting again at 1 collided.
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(_first_id()))
    _messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        if request_data is not None and request_data.contains_files:
            for name, upload in request_data.multipart_data.items():
                filename, content = upload[0], upload[1]
                params[name] = {"filename": filename, "content": content}
        result = self._answer(api_method, params)
        call = Call(api_method, params, result)
        self.calls.append(call)
        if self.listener is not None:
            self.listener(call)
        return 200, json.dumps({"ok": True, "result": result}, default=str).encode()

    def _message(self, chat_id: int, **fields: Any) -> dict[str, Any]:
        markup = fields.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        # Telegram echoes only inline keyboards in the sent Message.
        fields["reply_markup"] = markup if markup and "inline_keyboard" in markup else None
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            **{k: v for k, v in fields.items() if v is not None},
        }
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        chat_id = int(params.get("chat_id", 0) or 0)
        if method == "getMe":
            return {**BOT_USER, "can_join_groups": False, "supports_inline_queries": True}
        if method == "sendMessage":
            return self._message(
                chat_id, text=params["text"], reply_markup=params.get("reply_markup")
            )
        if method == "sendVenue":
            location = {"latitude": params["latitude"], "longitude": params["longitude"]}
            venue = {"location": location, "title": params["title"], "address": params["address"]}
            return self._message(chat_id, venue=venue, location=location)
        if method == "sendLocation":
            location = {"latitude": params["latitude"], "longitude": params["longitude"]}
            return self._message(chat_id, location=location)
        if method == "sendDocument":
            document = params.get("document")
            name = document["filename"] if isinstance(document, dict) else "document"
            return self._message(
                chat_id,
                document={"file_id": f"doc-{name}", "file_unique_id": name, "file_name": name},
                caption=params.get("caption"),
            )
        if method == "sendPhoto":
            photo = [{"file_id": "photo", "file_unique_id": "photo", "width": 1, "height": 1}]
            return self._message(chat_id, photo=photo, caption=params.get("caption"))
        if method in ("copyMessage",):
            return {"message_id": next(self._message_ids)}
        if method == "forwardMessage":
            return self._message(chat_id, text="(forwarded)")
        if method in ("editMessageText", "editMessageReplyMarkup"):
            key = (chat_id, int(params.get("message_id", 0)))
            message = self._messages.get(key) or self._message(chat_id)
            if "text" in params:
                message["text"] = params["text"]
            markup = params.get("reply_markup")
            message["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
            if not message["reply_markup"]:
                del message["reply_markup"]
            return message
        return True  # answerCallbackQuery, setMyCommands, deleteMessage, sendChatAction...

    def sent(self, chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method in SENDING_METHODS | {"editMessageText"}
            and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)
        ]


# --- updates a person would produce ---------------------------------------------------------

_update_ids = itertools.count(1)


def _user(user_id: int, language: str | None) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Local", "language_code": language}


def message_update(
    chat_id: int, text: str, language: str | None = "en", **extra: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(_update_ids) + 100000,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "from": _user(chat_id, language),
        "text": text,
        **extra,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": next(_update_ids), "message": message}


def location_update(
    chat_id: int, latitude: float, longitude: float, language: str | None = "en"
) -> dict[str, Any]:
    update = message_update(chat_id, "", language)
    del update["message"]["text"]
    update["message"]["location"] = {"latitude": latitude, "longitude": longitude}
    return update


def callback_update(
    chat_id: int, message: dict[str, Any], data: str, language: str | None = "en"
) -> dict[str, Any]:
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)),
            "from": _user(chat_id, language),
            "chat_instance": str(chat_id),
            "message": message,
            "data": data,
        },
    }


# --- the terminal ----------------------------------------------------------------------------

_TAGS = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    return html.unescape(_TAGS.sub("", text))


class Terminal:
    """Prints what the bot sends; remembers the latest buttons so a number presses one."""

    def __init__(self) -> None:
        self.buttons: list[tuple[str, str, dict[str, Any]]] = []  # (label, data, message)

    def show(self, call: Call) -> None:
        params, result = call.params, call.result
        if call.method in ("sendMessage", "editMessageText"):
            print(plain(str(params.get("text", ""))))
        elif call.method == "sendVenue":
            where = f"{params['latitude']}, {params['longitude']}"
            print(f"[map] {params['title']}, {params['address']} ({where})")
        elif call.method == "sendDocument":
            document = params.get("document") or {}
            caption = plain(str(params.get("caption") or ""))
            print(f"[document] {document.get('filename', '')}: {caption}")
        elif call.method == "sendPhoto":
            print(f"[photo] {plain(str(params.get('caption') or ''))}")
        elif call.method == "answerCallbackQuery" and params.get("text"):
            print(f"({params['text']})")
        else:
            return
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if markup and "inline_keyboard" in markup and isinstance(result, dict):
            self.buttons = [
                (b["text"], b.get("callback_data", ""), result)
                for row in markup["inline_keyboard"]
                for b in row
                if b.get("callback_data")
            ]
            for number, (label, _, _) in enumerate(self.buttons, start=1):
                print(f"  [{number}] {label}")
            for row in markup["inline_keyboard"]:  # link buttons: the address to open
                for link in (b for b in row if b.get("url")):
                    print(f"  [link] {link['text']}: {link['url']}")
        elif markup and "keyboard" in markup:
            print("  (share a location by typing @LAT,LON, e.g. @41.59,-93.62)")
        print()


async def run_local_chat(
    settings: Settings, role: str = "family", language: str | None = None
) -> int:
    """Read lines from stdin, feed them to the handlers, print the replies; 0 at end of input."""
    from bot.application import build_application, post_init

    terminal = Terminal()
    api = InProcessBotApi(listener=terminal.show)
    application = build_application(settings, request=api, token=LOCAL_TOKEN)
    chat_id = LOCAL_USERS[role]
    interactive = sys.stdin.isatty()
    async with application:
        await post_init(application)
        services = application.bot_data["services"]
        async with services.transaction() as session:
            chat = await get_chat(session, chat_id, language or "en")
            chat.role = Role(role)
            if language:
                chat.language = language
        if interactive:
            print(
                "Local chat. Type a question, /start, a button number, or @LAT,LON. Ctrl-D quits.\n"
            )
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                break
            text = line.strip()
            if not text:
                continue
            if interactive is False:
                print(f"> {text}")
            update = _update_for(text, chat_id, terminal, language)
            await application.process_update(Update.de_json(update, application.bot))
        await application.post_shutdown(application) if application.post_shutdown else None
    return 0


def _update_for(
    text: str, chat_id: int, terminal: Terminal, language: str | None
) -> dict[str, Any]:
    if text.isdigit() and 1 <= int(text) <= len(terminal.buttons):
        _, data, message = terminal.buttons[int(text) - 1]
        return callback_update(chat_id, message, data, language)
    point = re.fullmatch(r"@\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)", text)
    if point:
        return location_update(chat_id, float(point.group(1)), float(point.group(2)), language)
    return message_update(chat_id, text, language)
