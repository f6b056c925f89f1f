"""The SMS port: Twilio's incoming texts, the file links, and /healthz.

- ``POST <path of SMS_WEBHOOK_URL>``: a text from Twilio. The body is capped (a text is at most
  1,600 characters) and the ``X-Twilio-Signature`` checked with the `twilio` package's
  RequestValidator against SMS_WEBHOOK_URL; anything else gets 403. The answer is an empty
  TwiML response: the bot replies through the REST API, paced like every other send.
- ``GET /files/<id>/<expires>/<signature>/<name>``: a signed, unexpired file link.
- ``GET /healthz``: as on the webhook port.
"""

from __future__ import annotations

import logging
import mimetypes
from typing import Any
from urllib.parse import urlsplit

from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.web import Application as WebApplication
from tornado.web import HTTPError, RequestHandler
from twilio.request_validator import RequestValidator

from bot.config import Settings
from bot.sms.channel import SmsChannel
from bot.sms.inbound import read_incoming, take_in
from bot.sms.links import FILE_ROUTE
from bot.webhook import BODY_TIMEOUT, HEADER_TIMEOUT, HEALTH_PATH, HealthCheck
from knowledge.models import utcnow
from knowledge.sms import stored_file

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_BODY_BYTES = 64 * 1024  # Twilio's form for a 1,600-character text is a few kilobytes
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class IncomingText(RequestHandler):
    """A text Twilio received for the bot's number."""

    def initialize(  # type: ignore[override]
        self,
        bot_application: Application,  # type: ignore[type-arg]
        channel: SmsChannel,
        validator: RequestValidator,
        webhook_url: str,
    ) -> None:
        self.bot_application = bot_application
        self.channel = channel
        self.validator = validator
        self.webhook_url = webhook_url

    async def post(self) -> None:
        params = {
            name: values[0].decode("utf-8", "replace")
            for name, values in self.request.body_arguments.items()
            if values
        }
        signature = self.request.headers.get(SIGNATURE_HEADER, "")
        if not signature or not self.validator.validate(self.webhook_url, params, signature):
            raise HTTPError(403)
        incoming = read_incoming(params)
        if incoming is None:
            raise HTTPError(400)
        await take_in(self.bot_application, self.channel, incoming)
        self.set_header("Content-Type", "text/xml; charset=utf-8")
        self.finish(EMPTY_TWIML)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, HTTPError):  # a stranger's request is not our error
            log.info("SMS webhook request refused: %s", value.status_code)
        else:
            super().log_exception(typ, value, tb)


class FileLink(RequestHandler):
    """A file sent as a link: served while the link's signature holds and it has not expired."""

    def initialize(self, channel: SmsChannel) -> None:  # type: ignore[override]
        self.channel = channel

    async def get(self, file_id: str, expires: str, signature: str) -> None:
        now = utcnow()
        if not self.channel.links.valid(int(file_id), int(expires), signature, now):
            raise HTTPError(404)
        async with self.channel.sessions() as session:
            row = await stored_file(session, int(file_id), now)
            name, content = (row.name, row.content) if row is not None else ("", b"")
        if row is None:
            raise HTTPError(404)
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.set_header("Content-Type", kind)
        safe = name.replace('"', "")
        self.set_header("Content-Disposition", f'inline; filename="{safe}"')
        self.set_header("Cache-Control", "private, max-age=3600")
        self.finish(content)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, HTTPError):
            log.info("File link refused: %s", value.status_code)
        else:
            super().log_exception(typ, value, tb)


def start_sms_server(
    application: Application,  # type: ignore[type-arg]
    settings: Settings,
    channel: SmsChannel,
) -> HTTPServer:
    """Listen on SMS_PORT (on WEBHOOK_LISTEN) for Twilio's posts and the file links."""
    path = urlsplit(settings.sms_webhook_url).path or "/"
    incoming = {
        "bot_application": application,
        "channel": channel,
        "validator": RequestValidator(settings.twilio_auth_token),
        "webhook_url": settings.sms_webhook_url,
    }
    routes: list[Any] = [
        (HEALTH_PATH, HealthCheck, {"bot_application": application}),
        (FILE_ROUTE, FileLink, {"channel": channel}),
        (path, IncomingText, incoming),
    ]
    server = HTTPServer(
        WebApplication(routes),
        max_body_size=MAX_BODY_BYTES,
        idle_connection_timeout=HEADER_TIMEOUT,  # no half-open connection held for long
        body_timeout=BODY_TIMEOUT,
    )
    server.listen(settings.sms_port, address=settings.webhook_listen)
    log.info("Taking texts on %s:%s%s", settings.webhook_listen, settings.sms_port, path)
    return server
