"""Whether the Bot API answers: the outcome of the last getUpdates, for /healthz.

Long polling asks Telegram every few seconds, so the last answer says whether the link works
(a revoked token, another instance polling, Telegram or the network down). With a webhook no
getUpdates is made and the link is "unknown", which does not count against health.
"""

from __future__ import annotations

from typing import Any, Literal

from telegram.request import BaseRequest, RequestData

from bot.telegram_request import WrappedRequest

LinkState = Literal["ok", "failing", "unknown"]


class BotApiLink:
    """The outcome of the last getUpdates."""

    def __init__(self) -> None:
        self.last: LinkState = "unknown"

    def state(self) -> LinkState:
        return self.last


class WatchedRequest(WrappedRequest):
    """A BaseRequest (the one getUpdates uses) that tells `link` how each call went."""

    def __init__(self, inner: BaseRequest, link: BotApiLink) -> None:
        super().__init__(inner)
        self.link = link

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
        try:
            code, payload = await self.inner.do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        except Exception:
            self.link.last = "failing"
            raise
        self.link.last = "ok" if 200 <= code < 300 else "failing"
        return code, payload
