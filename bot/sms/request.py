"""Where the handlers' Bot API calls go: a number's chat to the SMS dialect, any other chat to
Telegram (or, with SMS only, to an in-process Bot API that answers getMe and the like).

python-telegram-bot sends every call through one `BaseRequest`; this one looks at the chat
the call is for and answers it in that chat's dialect, so the handlers never know which
channel a family uses unless they ask (`Caller.dialect`).
"""

from __future__ import annotations

import json
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.sms.channel import SmsChannel, callback_chat
from bot.telegram_request import WrappedRequest
from jobs.sender import ChatUnreachable, PermanentFailure, RateLimited
from knowledge.sms import is_sms_chat


class ChannelRequest(WrappedRequest):
    def __init__(self, inner: BaseRequest) -> None:
        super().__init__(inner)
        self.sms: SmsChannel | None = None  # set once the channel exists (post_init)

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
        chat_id = _target_chat(request_data)
        if chat_id is None or not is_sms_chat(chat_id):
            return await self.inner.do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        if self.sms is None:  # starting or stopping: the outbox tries again later
            return _error(502, "Bad Gateway: the SMS channel is not running")
        assert request_data is not None
        params = dict(request_data.parameters)
        if isinstance(params.get("reply_markup"), str):
            params["reply_markup"] = json.loads(str(params["reply_markup"]))
        files: dict[str, tuple[str, bytes]] = {}
        if request_data.contains_files:
            for name, upload in request_data.multipart_data.items():
                files[name] = (str(upload[0]), bytes(upload[1]))  # type: ignore[arg-type]
        try:
            result = await self.sms.bot_api_call(url.rsplit("/", 1)[-1], params, files)
        except ChatUnreachable as error:
            return _error(403, f"Forbidden: {error}")
        except PermanentFailure as error:
            return _error(400, f"Bad Request: {error}")
        except RateLimited as error:
            return _error(429, "Too Many Requests", retry_after=max(1, round(error.retry_after)))
        except Exception as error:  # TemporaryFailure and the unforeseen: the network's fault
            return _error(502, f"Bad Gateway: {type(error).__name__}")
        return 200, json.dumps({"ok": True, "result": result}).encode()


def _target_chat(request_data: RequestData | None) -> int | None:
    if request_data is None:
        return None
    params = request_data.parameters
    chat_id = params.get("chat_id")
    if isinstance(chat_id, int) or (isinstance(chat_id, str) and chat_id.isdigit()):
        return int(chat_id)
    query_id = params.get("callback_query_id")
    return callback_chat(query_id) if isinstance(query_id, str) else None


def _error(code: int, description: str, retry_after: int | None = None) -> tuple[int, bytes]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return code, json.dumps(body).encode()
