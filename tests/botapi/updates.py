"""Bot API methods other than messages: updates, queries and the bot's own settings.

That is who the bot is (getMe), getting updates (long polling, webhooks), answering
callback and inline queries, its commands and menu button, close and logOut.
"""

from __future__ import annotations

import copy
import re
import time

from .calls import JSON, ApiError, UploadedFile, bad
from .messages import inline_keyboard
from .state import BotApiState

_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")


class UpdateMethods(BotApiState):
    """getMe, getUpdates, the webhook methods, answerCallbackQuery, answerInlineQuery,
    the command and menu button methods, close and logOut."""

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
            raise bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad("secret token contains unallowed characters")
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
            raise bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad("too many commands specified")
        for command in commands:
            if not isinstance(command, dict):
                raise bad("can't parse BotCommand: expected an Object")
            if not _COMMAND_NAME_RE.fullmatch(str(command.get("command", ""))):
                raise bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
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
            raise bad("can't parse menu button")
        self._menu_buttons[chat_id] = button
        return True

    def _m_getChatMenuButton(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:  # noqa: N802
        chat_id = self._chat_id(params) if params.get("chat_id") not in (None, "") else None
        button = self._menu_buttons.get(chat_id) or self._menu_buttons.get(None)
        return copy.deepcopy(button or {"type": "commands"})

    def _m_answerCallbackQuery(self, params: JSON, files: dict[str, UploadedFile]) -> bool:  # noqa: N802
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callbacks:
            raise bad(_QUERY_INVALID)
        if len(str(params.get("text") or "")) > 200:
            raise bad("MESSAGE_TOO_LONG")
        del self._open_callbacks[query_id]
        return True

    def _m_answerInlineQuery(self, params: JSON, files: dict[str, UploadedFile]) -> bool:  # noqa: N802
        query_id = str(params.get("inline_query_id") or "")
        if query_id not in self._open_inline:
            raise bad(_QUERY_INVALID)
        results = params.get("results")
        if not isinstance(results, list):
            raise bad("can't parse inline query results JSON object")
        if len(results) > 50:
            raise bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            result_id = str(result.get("id", "")) if isinstance(result, dict) else ""
            if not 1 <= len(result_id.encode("utf-8")) <= 64:
                raise bad("RESULT_ID_INVALID")
            if result_id in seen:
                raise bad("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            markup = result.get("reply_markup")
            if markup is not None:
                inline_keyboard({"reply_markup": markup})
        self._open_inline.discard(query_id)
        return True

    def _m_close(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return True

    def _m_logOut(self, params: JSON, files: dict[str, UploadedFile]) -> bool:  # noqa: N802
        return True
