"""The HTTP request under every Bot API call: a sent message counts as sent.

Telegram answering 2xx means the message went out. If the body of that answer is garbled
(cut off by a proxy, a server hiccup), python-telegram-bot would raise "Invalid server
response" and whoever sent it would try again: the family gets it twice, or eight times. So
a 2xx to a call that sends, whose body is not a proper answer, becomes a proper answer here
(a message with id 0: the id is unknown), and is logged.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)


def sends_something(method: str) -> bool:
    return method.startswith(("send", "edit", "copy", "forward")) and method != "sendChatAction"


class WrappedRequest(BaseRequest):
    """A request around another one (HTTPXRequest): set-up, shutdown and timeouts are the inner
    one's; subclasses change what `do_request` does with a call."""

    def __init__(self, inner: BaseRequest) -> None:
        self.inner = inner

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout


class TrustSuccessRequest(WrappedRequest):
    """Wraps the real request (HTTPXRequest); see the module's docstring."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        code, body = await self.inner.do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        endpoint = url.rsplit("/", 1)[-1]
        if not (200 <= code <= 299 and sends_something(endpoint)) or _well_formed(body):
            return code, body
        log.warning("%s answered %d with a garbled body; counted as sent", endpoint, code)
        params = request_data.parameters if request_data is not None else {}
        return 200, json.dumps({"ok": True, "result": _stand_in(endpoint, params)}).encode()


def _well_formed(body: bytes) -> bool:
    try:
        answer = json.loads(body.decode("utf-8", "replace"))
    except ValueError:
        return False
    return isinstance(answer, dict) and "result" in answer


def _stand_in(endpoint: str, params: dict[str, Any]) -> Any:
    """What the call would have answered, as far as it is known."""
    if endpoint == "copyMessage":
        return {"message_id": 0}
    chat_id = params.get("chat_id")
    if chat_id is None:  # an inline message's edit answers True
        return True
    chat_type = "private" if str(chat_id).lstrip("-").isdigit() and int(chat_id) > 0 else "group"
    return {
        "message_id": 0,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": chat_type},
    }
