"""What tests make users do, queued as updates for the bot to fetch.

Users write messages, share locations, press inline buttons and type inline
queries; :meth:`UserActions.push_update` queues any other raw update.
"""

from __future__ import annotations

import copy
import re

from .calls import JSON
from .html import utf16_len
from .state import BotApiState

# Update kinds Telegram leaves out unless asked for by allowed_updates.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
# Commands in a user's text, which Telegram marks as bot_command entities.
_BOT_COMMAND_RE = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")


class UserActions(BotApiState):
    """What a test makes users do; each method returns the update_id it queued."""

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
