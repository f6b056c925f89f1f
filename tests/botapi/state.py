"""The fake's state, shared by the Bot API methods and the helpers tests call."""

from __future__ import annotations

import copy
import itertools
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .calls import JSON, ApiError, Call, UploadedFile, bad

T = TypeVar("T")


@dataclass
class RateLimit:
    """Successful sends allowed in any sliding second (see FakeBotApi.rate_limit)."""

    overall: int | None
    per_chat: int | None
    retry_after: int | None


class BotApiState:
    """Chats, users, messages, updates, files, the call log and injected faults.

    All of it is guarded by one condition variable, ``_cond``.
    """

    def __init__(self, bot_user: JSON, *, strict_ampersand: bool, strict_chats: bool) -> None:
        self.bot_user = bot_user
        self.strict_ampersand = strict_ampersand
        self.strict_chats = strict_chats
        self._cond = threading.Condition(threading.RLock())
        self._closing = False  # set by stop(), which releases pending long polls
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
        self._rate: RateLimit | None = None
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
            raise bad(f"{key} is empty")
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad("chat not found")
        params[key] = value  # recorded params then compare equal to ints
        return value
