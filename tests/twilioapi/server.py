"""A loopback stand-in for Twilio's Programmable Messaging API, for end-to-end tests.

The bot runs as its own process with ``TWILIO_API_URL`` pointing here. The fake answers
``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` as Twilio does (basic auth with the
account SID and auth token, form fields To, From and Body; 201 with the message's JSON, or an
error JSON with Twilio's code) and records every message; ``GET`` on the same resource lists
them (filtered by To), as a bot asks after a send whose answer it lost. Tests make it answer
429 (HTTP 429, error 20429, with Retry-After), 21610 (the recipient texted STOP) and 21211
(not a valid number), and post incoming texts to the bot's webhook signed the way Twilio signs
them (the algorithm written out here from Twilio's documentation, not imported from the bot's
library: HMAC-SHA1 of the URL followed by every POST field name and value sorted by name,
keyed with the auth token, base64). Only the standard library, so sync and async tests can
both use it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "loopback-auth-token-0123456789ab"
PHONE_NUMBER = "+15550100000"

# GSM 03.38: the basic alphabet, and the extension table (two septets each).
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "^{}\\[~]|€\f"


def is_gsm7(text: str) -> bool:
    return all(c in GSM_BASIC or c in GSM_EXTENSION for c in text)


def segments(text: str) -> int:
    """How many segments a carrier bills for `text` (GSM-7 160/153, else UCS-2 70/67)."""
    if not text:
        return 0
    if is_gsm7(text):
        sizes = [2 if c in GSM_EXTENSION else 1 for c in text]
        single, part = 160, 153
    else:
        sizes = [len(c.encode("utf-16-le")) // 2 for c in text]
        single, part = 70, 67
    if sum(sizes) <= single:
        return 1
    count, used = 1, 0
    for size in sizes:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature for a form POST to `url`."""
    data = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Sms:
    sid: str
    to: str
    sender: str
    body: str
    at: float  # time.monotonic(), for rates
    created: float = 0.0  # time.time(), as Twilio's date_created

    @property
    def segments(self) -> int:
        return segments(self.body)


@dataclass
class _Refusal:
    status: int
    code: int
    message: str
    retry_after: float | None = None


@dataclass
class FakeTwilio:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    phone_number: str = PHONE_NUMBER
    messages: list[Sms] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)  # (to, code)
    count_429: int = 0
    list_requests: int = 0
    _opted_out: set[str] = field(default_factory=set)
    _invalid: set[str] = field(default_factory=set)
    _next_429: deque[float] = field(default_factory=deque)
    _next_errors: deque[bool] = field(default_factory=deque)  # True: taken, answer lost
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None
    _sids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- lifecycle --

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                status, payload, headers = fake._answer(
                    self.path, self.headers.get("Authorization", ""), body
                )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                status, payload = fake._list(self.path, self.headers.get("Authorization", ""))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True, name="FakeTwilio").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self) -> dict[str, str]:
        return {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_PHONE_NUMBER": self.phone_number,
            "TWILIO_API_URL": self.url,
        }

    # -- behaviour --

    def opt_out(self, number: str) -> None:
        """Sends to `number` fail with 21610, as after it texted STOP to Twilio."""
        with self._cond:
            self._opted_out.add(number)

    def invalidate(self, number: str) -> None:
        """Sends to `number` fail with 21211 (not a valid phone number)."""
        with self._cond:
            self._invalid.add(number)

    def answer_429(self, times: int = 1, retry_after: float = 1.0) -> None:
        """The next `times` sends get 429 / 20429 with Retry-After."""
        with self._cond:
            self._next_429.extend([retry_after] * times)

    def answer_503(self, times: int = 1, *, after_taking: bool = False) -> None:
        """The next `times` sends get 503; `after_taking`: the text is taken all the same
        (the answer was lost on the way back)."""
        with self._cond:
            self._next_errors.extend([after_taking] * times)

    def _answer(
        self, path: str, authorization: str, body: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        expected = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        if path != expected:
            return 404, {"code": 20404, "message": "not found", "status": 404}, {}
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if authorization != f"Basic {credentials}":
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}, {}
        form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        to, sender, text = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        with self._cond:
            if self._next_errors:
                if self._next_errors.popleft():
                    sid = f"SM{next(self._sids):032x}"
                    self.messages.append(Sms(sid, to, sender, text, time.monotonic(), time.time()))
                self._cond.notify_all()
                return 503, {"code": 20500, "message": "Service Unavailable", "status": 503}, {}
            refusal = self._refusal(to, sender, text)
            if refusal is not None:
                self.refused.append((to, refusal.code))
                self._cond.notify_all()
                headers = {"Retry-After": f"{refusal.retry_after:g}"} if refusal.retry_after else {}
                payload = {
                    "code": refusal.code,
                    "message": refusal.message,
                    "more_info": f"https://www.twilio.com/docs/errors/{refusal.code}",
                    "status": refusal.status,
                }
                return refusal.status, payload, headers
            sid = f"SM{next(self._sids):032x}"
            self.messages.append(Sms(sid, to, sender, text, time.monotonic(), time.time()))
            self._cond.notify_all()
        return (
            201,
            {"sid": sid, "to": to, "from": sender, "body": text, "status": "queued"},
            {},
        )

    def _list(self, path: str, authorization: str) -> tuple[int, dict[str, Any]]:
        """GET Messages.json?To=…: the messages sent to a number, newest first (Twilio's list
        resource, with the To filter; the date filter is a day's granularity there too)."""
        parts = urllib.parse.urlsplit(path)
        if parts.path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return 404, {"code": 20404, "message": "not found", "status": 404}
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if authorization != f"Basic {credentials}":
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        query = dict(urllib.parse.parse_qsl(parts.query))
        with self._cond:
            found = [m for m in self.messages if m.to == query.get("To", m.to)]
            self.list_requests += 1
        return 200, {
            "messages": [
                {
                    "sid": m.sid,
                    "to": m.to,
                    "from": m.sender,
                    "body": m.body,
                    "date_created": formatdate(m.created, usegmt=True),
                }
                for m in reversed(found)
            ]
        }

    def _refusal(self, to: str, sender: str, text: str) -> _Refusal | None:
        if self._next_429:
            self.count_429 += 1
            return _Refusal(429, 20429, "Too Many Requests", self._next_429.popleft())
        if sender != self.phone_number:
            return _Refusal(400, 21606, f"The From phone number {sender} is not yours")
        if not text:
            return _Refusal(400, 21602, "Message body is required.")
        if len(text) > 1600:
            return _Refusal(400, 21617, "The concatenated message body exceeds 1600 characters")
        if to in self._invalid or not to.startswith("+") or not to[1:].isdigit():
            return _Refusal(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if to in self._opted_out:
            return _Refusal(400, 21610, "Attempt to send to unsubscribed recipient")
        return None

    # -- what was sent --

    def sent_to(self, number: str) -> list[Sms]:
        with self._cond:
            return [m for m in self.messages if m.to == number]

    def wait_for(
        self, find: Callable[[], Any], timeout: float = 30, what: str = "a message"
    ) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = find()
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no {what} within {timeout} s")
                self._cond.wait(min(left, 0.5))

    def wait_for_text(
        self, number: str, after: int = 0, contains: str = "", timeout: float = 30
    ) -> Sms:
        """The first text to `number` after the first `after` ones, containing `contains`."""

        def find() -> Sms | None:
            for sms in self.sent_to(number)[after:]:
                if contains.lower() in sms.body.lower():
                    return sms
            return None

        return self.wait_for(find, timeout, f"text to {number} containing {contains!r}")  # type: ignore[no-any-return]

    # -- texts to the bot --

    def text(
        self,
        webhook_url: str,
        sender: str,
        body: str,
        *,
        sid: str | None = None,
        signed: bool = True,
        extra: dict[str, str] | None = None,
    ) -> int:
        """Post an incoming text to the bot as Twilio does; returns the HTTP status."""
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "Body": body,
            "From": sender,
            "MessageSid": sid or f"SM{next(self._sids):032x}",
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
            "To": self.phone_number,
            **(extra or {}),
        }
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signed:
            headers["X-Twilio-Signature"] = signature(self.auth_token, webhook_url, params)
        request = urllib.request.Request(
            webhook_url, data=urllib.parse.urlencode(params).encode(), headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
