"""Twilio's Programmable Messaging API, as the bot uses it: one POST per text.

``POST {TWILIO_API_URL}/2010-04-01/Accounts/{SID}/Messages.json`` with the form fields To,
From and Body, HTTP basic auth (account SID, auth token). Twilio's answers map to what the
outbox does with a row (jobs.sender):

- 2xx: sent (a body that does not parse still means sent: nothing is sent twice);
- 429, or error 20429: wait `Retry-After` (or a second) and send again;
- 21610 (the number texted STOP), 21211 (not a valid number), 21612 / 21614 (unroutable, not
  a mobile): this number cannot be reached, like a Telegram block;
- 5xx, timeouts, network errors, 401 (credentials being fixed): retried later;
- any other 4xx: this text can never go as it is.

A send whose answer never came back (the process died, the request timed out) may or may not
have gone: before sending that text to that number again, the channel asks Twilio's message
list (`was_sent`), so a restart does not text anyone twice.

Twilio's error messages name the number, so only the error code is kept (numbers never reach
the log). A WhatsApp address ("whatsapp:+1…") is sent from "whatsapp:" + TWILIO_PHONE_NUMBER
through this same endpoint; WhatsApp takes free-form texts only within 24 hours of the
person's last message (error 63016 outside it), which is the one rule a WhatsApp dialect adds.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from jobs.sender import ChatUnreachable, PermanentFailure, RateLimited, TemporaryFailure
from knowledge.sms import WHATSAPP_PREFIX

log = logging.getLogger(__name__)

UNREACHABLE_CODES = frozenset({21610, 21211, 21612, 21614})
RATE_LIMIT_CODE = 20429
DEFAULT_RETRY_SECONDS = 1.0
CLOCK_SLACK = timedelta(minutes=5)  # Twilio's clock and ours need not agree to the second


class TwilioMessages:
    """Sends texts through one Twilio account and number."""

    def __init__(
        self,
        api_url: str,
        account_sid: str,
        auth_token: str,
        phone_number: str,
        *,
        timeout: float = 15.0,
        connections: int = 16,
    ) -> None:
        self.url = f"{api_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.phone_number = phone_number
        self._client = httpx.AsyncClient(
            auth=(account_sid, auth_token),
            timeout=timeout,
            limits=httpx.Limits(max_connections=connections),
        )

    def sender_for(self, to: str) -> str:
        return (
            WHATSAPP_PREFIX + self.phone_number
            if to.startswith(WHATSAPP_PREFIX)
            else (self.phone_number)
        )

    async def send(self, to: str, body: str) -> str:
        """Send one text; returns Twilio's message SID ("" if the answer could not be read).
        Raises jobs.sender's errors for what went wrong."""
        try:
            response = await self._client.post(
                self.url, data={"To": to, "From": self.sender_for(to), "Body": body}
            )
        except httpx.HTTPError as error:
            raise TemporaryFailure(f"Twilio unreachable: {type(error).__name__}") from None
        if response.is_success:
            try:
                return str(response.json().get("sid", ""))
            except ValueError:
                return ""
        raise refusal(response)

    async def was_sent(self, to: str, body: str, since: datetime) -> bool | None:
        """Whether Twilio holds a text with this body to `to` created since `since` (a send
        whose answer was lost); None when Twilio could not be asked."""
        params = {"To": to, "DateSent>": (since - timedelta(days=1)).date().isoformat()}
        try:
            response = await self._client.get(self.url, params={**params, "PageSize": "50"})
            messages = response.json().get("messages", []) if response.is_success else None
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        if messages is None:
            return None
        for message in messages:
            try:
                created = parsedate_to_datetime(str(message.get("date_created")))
            except (TypeError, ValueError):
                continue
            if message.get("body") == body and created >= since - CLOCK_SLACK:
                return True
        return False

    async def close(self) -> None:
        await self._client.aclose()


def refusal(response: httpx.Response) -> Exception:
    """A Twilio error answer as what the outbox should do about it."""
    try:
        payload = response.json()
        code = int(payload.get("code") or 0) if isinstance(payload, dict) else 0
    except (ValueError, TypeError):
        code = 0
    status = response.status_code
    if status == 429 or code == RATE_LIMIT_CODE:
        return RateLimited(_retry_after(response), f"Twilio {status}/{code}: too many requests")
    if code in UNREACHABLE_CODES:
        return ChatUnreachable(f"Twilio error {code}")
    if status >= 500 or status in (401, 408):
        return TemporaryFailure(f"Twilio {status} (error {code})")
    return PermanentFailure(f"Twilio {status} (error {code})")


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.1, float(response.headers.get("Retry-After", DEFAULT_RETRY_SECONDS)))
    except ValueError:
        return DEFAULT_RETRY_SECONDS
