"""Bot API methods that send, edit and delete messages, and the checks they share.

Sends are validated like Telegram does (parse mode, length, inline keyboards,
reply targets, files), then pass blocking and flood control (``_admit``).
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections import deque
from urllib.parse import urlsplit

from .calls import JSON, ApiError, UploadedFile, bad
from .html import HtmlParseError, parse_html, strip_text, utf16_len
from .state import BotApiState

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

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


def inline_keyboard(params: JSON) -> JSON | None:
    """The inline keyboard in ``reply_markup``, checked like Telegram; None for other markups.

    A JSON-encoded ``reply_markup`` is decoded in ``params``, so the recorded call shows it.
    """
    markup = params.get("reply_markup")
    if markup is None or markup == "":
        return None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            raise bad("can't parse reply keyboard markup JSON object") from None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    params["reply_markup"] = markup
    if "inline_keyboard" not in markup:
        return None  # reply keyboards are not part of the returned Message
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    buttons = [button for row in rows for button in row]
    for button in buttons:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad('can\'t parse inline keyboard button: Field "text" must be of type String')
        if not any(action in button for action in _BUTTON_ACTIONS):
            raise bad(
                "can't parse inline keyboard button: "
                "Text buttons are unallowed in the inline keyboard"
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                raise bad("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not url or any(ch.isspace() for ch in url):
                raise bad("BUTTON_URL_INVALID")
    if len(buttons) > 100:
        raise bad("reply markup is too long")
    return markup


class MessageMethods(BotApiState):
    """sendMessage, sendDocument, sendPhoto, sendLocation, sendVenue, sendChatAction,
    forwardMessage, copyMessage, editMessageText, editMessageReplyMarkup, deleteMessage."""

    def _chat(self, chat_id: int) -> JSON:
        chat = self._chats.get(chat_id)
        if chat is None:
            if self.strict_chats:
                raise bad("chat not found")
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
                raise bad(f"can't parse entities: {error}") from None
        elif mode in ("", "markdown", "markdownv2"):
            # Markdown is passed through unchecked; only HTML is validated.
            text, entities = raw, []
        else:
            raise bad("unsupported parse_mode")
        text, entities = strip_text(text, entities)
        if not text and not is_caption:
            raise bad("message text is empty")
        if utf16_len(text) > limit:
            raise bad("message caption is too long" if is_caption else "message is too long")
        return text, entities

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
            raise bad("message to be replied not found")
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
            raise bad("wrong file identifier/HTTP URL specified")
        raise bad(f"there is no {key} in the request")

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
            raise bad("message_id is empty")
        source = self._messages.get((from_chat, int(message_id)))
        if source is None:
            raise bad(missing)
        return source

    def _m_sendMessage(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:  # noqa: N802
        chat = self._chat(self._chat_id(params))
        text, entities = self._formatted(params, "text", 4096)
        markup = inline_keyboard(params)
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
        markup = inline_keyboard(params)
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
        markup = inline_keyboard(params)
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
            raise bad(f"{key} is empty")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise bad(f"wrong {key} specified") from None
        if not -bound <= number <= bound:
            raise bad(f"wrong {key} specified")
        return number

    def _location(self, params: JSON) -> JSON:
        return {
            "latitude": self._coordinate(params, "latitude", 90),
            "longitude": self._coordinate(params, "longitude", 180),
        }

    def _m_sendLocation(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:  # noqa: N802
        chat = self._chat(self._chat_id(params))
        location = self._location(params)
        markup = inline_keyboard(params)
        reply_to = self._reply_target(chat["id"], params)
        self._admit("sendLocation", chat["id"])
        return self._bot_message(chat, markup, reply_to, {"location": location})

    def _m_sendVenue(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:  # noqa: N802
        chat = self._chat(self._chat_id(params))
        location = self._location(params)
        for key in ("title", "address"):
            if not str(params.get(key) or "").strip():
                raise bad(f"{key} is empty")
        markup = inline_keyboard(params)
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
            raise bad("wrong parameter action in request")
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
        markup = inline_keyboard(params)
        reply_to = self._reply_target(chat["id"], params)
        self._admit("copyMessage", chat["id"])
        copied = self._bot_message(chat, markup, reply_to, content)
        return {"message_id": copied["message_id"]}

    def _editable(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if message_id in (None, ""):
            raise bad("message_id is empty")
        message = self._messages.get((chat_id, int(message_id)))
        if message is None:
            raise bad("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise bad("message can't be edited")
        return message

    def _m_editMessageText(self, params: JSON, files: dict[str, UploadedFile]) -> JSON | bool:  # noqa: N802
        if params.get("inline_message_id"):
            self._formatted(params, "text", 4096)
            inline_keyboard(params)
            return True
        message = self._editable(params)
        if "text" not in message:
            raise bad("there is no text in the message to edit")
        text, entities = self._formatted(params, "text", 4096)
        # Omitting reply_markup in an edit removes the inline keyboard, as in Telegram.
        markup = inline_keyboard(params)
        unchanged = (
            text == message["text"]
            and entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        )
        if unchanged:
            raise bad(_NOT_MODIFIED)
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
            inline_keyboard(params)
            return True
        message = self._editable(params)
        markup = inline_keyboard(params)
        if markup == message.get("reply_markup"):
            raise bad(_NOT_MODIFIED)
        message.pop("reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _m_deleteMessage(self, params: JSON, files: dict[str, UploadedFile]) -> bool:  # noqa: N802
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if message_id in (None, ""):
            raise bad("message_id is empty")
        if self._messages.pop((chat_id, int(message_id)), None) is None:
            raise bad("message to delete not found")
        return True
