"""A loopback stand-in for the Telegram Bot API, for end-to-end tests.

The real bot runs as its own process with ``TELEGRAM_API_URL`` pointing at
:attr:`FakeBotApi.base_url`; tests push updates (user messages, button presses)
into the fake and assert on the calls the bot made.  Only the standard library
is used so the server works from sync and async tests alike.

Where the bot could get Telegram wrong, the fake answers like Telegram does:
HTML that Telegram's parser rejects (see :mod:`.html`), over-long text (counted
in UTF-16 code units after entity parsing), bad inline keyboards, stale callback
queries, "message is not modified", blocked users (403) and flood limits (429).
"""

from __future__ import annotations

import asyncio
import copy
import math
import re
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from .calls import DEFAULT_DESCRIPTIONS, JSON, ApiError, Call, UploadedFile
from .messages import SEND_METHODS, MessageMethods
from .state import RateLimit
from .transport import GARBLED, Server, parse_params
from .updates import UpdateMethods
from .users import UserActions

DEFAULT_TOKEN = "123456789:AAFakeTokenForLoopbackTests_0123456789"

# Everything the fake answers; any other method gets 404 like Telegram.
_METHODS = (
    "getMe getUpdates deleteWebhook setWebhook getWebhookInfo setMyCommands getMyCommands "
    "deleteMyCommands setChatMenuButton getChatMenuButton sendMessage editMessageText "
    "editMessageReplyMarkup deleteMessage answerCallbackQuery answerInlineQuery sendVenue "
    "sendLocation sendDocument sendPhoto sendChatAction forwardMessage copyMessage close "
    "logOut".split()
)


class FakeBotApi(UserActions, MessageMethods, UpdateMethods):
    """A Telegram Bot API server on 127.0.0.1 for one bot token.

    Use as ``with FakeBotApi() as api:`` or call :meth:`start` / :meth:`stop`.
    All state is guarded by one condition variable, so request threads, test
    threads and ``asyncio.to_thread`` helpers can all use it concurrently.

    The parts: :class:`.state.BotApiState` holds the state, :class:`.users.UserActions`
    pushes what users do, :class:`.messages.MessageMethods` and
    :class:`.updates.UpdateMethods` answer the Bot API methods; this class adds the
    server's lifecycle, injected faults, inspecting, waiting and routing each request.
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
        ``strict_ampersand``: see :func:`.html.parse_html`.
        """
        super().__init__(
            {
                "id": int(token.split(":", 1)[0])
                if token.split(":", 1)[0].isdigit()
                else 123456789,
                "is_bot": True,
                "first_name": bot_first_name,
                "username": bot_username,
            },
            strict_ampersand=strict_ampersand,
            strict_chats=strict_chats,
        )
        self.token = token
        self._port = port
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, tuple[str, Callable[[JSON, dict[str, UploadedFile]], Any]]] = {
            name.lower(): (name, getattr(self, "_m_" + name)) for name in _METHODS
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeBotApi:
        """Listen on 127.0.0.1 (a free port unless one was given) in a daemon thread."""
        if self._server is not None:
            return self
        self._closing = False
        self._server = Server(("127.0.0.1", self._port))
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
            self._rate = RateLimit(per_second_overall, per_chat_per_second, retry_after)

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
                else DEFAULT_DESCRIPTIONS.get(error_code, "Internal Server Error")
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
            params, raw_files = parse_params(content_type, body, url.query)
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
                        raise ApiError(status, DEFAULT_DESCRIPTIONS.get(status, "Bad Gateway"))
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
                    return 200, GARBLED
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
