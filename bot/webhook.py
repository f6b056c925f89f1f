"""The webhook server: Telegram's updates in, a health check for Docker, a graceful stop.

python-telegram-bot's built-in webhook has no health endpoint, so this is its custom-webhook
pattern with Tornado (which the `webhooks` extra already brings): updates go into the
Application's update_queue; SIGTERM stops taking requests, finishes the updates in flight,
then shuts down (the outbox lives in the database, so nothing owed is lost).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.web import Application as WebApplication
from tornado.web import HTTPError, RequestHandler, stream_request_body

from bot.api_link import BotApiLink
from bot.config import Settings
from knowledge.db import SQLITE_BUSY_TIMEOUT_MS
from knowledge.log_privacy import describe_exception

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
UPDATES_PATH = "/telegram"
HEALTH_PATH = "/healthz"
MAX_UPDATE_BYTES = 1_000_000  # Telegram's updates are a few kilobytes
HEADER_TIMEOUT = 10.0  # seconds to send the headers (and between requests on a connection)
BODY_TIMEOUT = 10.0
HEALTH_TIMEOUT = 3.0
HEALTH_SQLITE_WAIT_MS = 1000  # well inside HEALTH_TIMEOUT


@stream_request_body
class UpdateReceiver(RequestHandler):
    """POST /telegram: one update from Telegram, checked against the shared secret.

    The body is streamed so the secret header is checked before a byte of it is read, and
    reading stops at MAX_UPDATE_BYTES: a stranger's 90 MB post costs nothing.
    """

    def initialize(self, bot_application: Application, secret: str) -> None:  # type: ignore[type-arg,override]
        self.bot_application = bot_application
        self.secret = secret
        self.body = bytearray()

    def prepare(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not self.secret or not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise HTTPError(403)
        if self.request.method != "POST":
            raise HTTPError(405)
        declared = self.request.headers.get("Content-Length", "0")
        if not declared.isdecimal() or int(declared) > MAX_UPDATE_BYTES:
            raise HTTPError(413)

    def data_received(self, chunk: bytes) -> None:
        self.body += chunk
        if len(self.body) > MAX_UPDATE_BYTES:
            raise HTTPError(413)

    async def post(self) -> None:
        try:
            payload = json.loads(self.body)
            if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(payload, self.bot_application.bot)
        except Exception:  # whatever does not parse as an update is the sender's error: 400
            raise HTTPError(400) from None
        await self.bot_application.update_queue.put(update)
        self.set_status(200)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, HTTPError):  # a stranger's request is not our error
            log.info("Webhook request refused: %s", value.status_code)
        else:
            super().log_exception(typ, value, tb)


class HealthCheck(RequestHandler):
    """GET /healthz: 200 when the bot runs, its database takes writes and the Bot API answers;
    503 otherwise. Always within HEALTH_TIMEOUT seconds, with what was found as JSON."""

    def initialize(self, bot_application: Application) -> None:  # type: ignore[type-arg,override]
        self.bot_application = bot_application

    async def get(self) -> None:
        report = await check_health(self.bot_application)
        self.set_status(200 if report["status"] == "ok" else 503)
        self.finish(report)


async def check_health(application: Application, limit: float = HEALTH_TIMEOUT) -> dict[str, str]:  # type: ignore[type-arg]
    """{"status": "ok"|"unavailable", "database": "ok"|"read-only"|"unavailable",
    "bot_api": "ok"|"failing"|"unknown"}."""
    services = application.bot_data.get("services")
    database = "unavailable"
    if services is not None:
        try:
            database = await asyncio.wait_for(_database_state(services.engine), limit)
        except Exception as error:  # any database failure means unhealthy, not a crash
            log.warning("Health check: database unavailable (%s)", describe_exception(error))
    link: BotApiLink | None = application.bot_data.get("bot_api_link")
    bot_api = link.state() if link is not None else "unknown"
    healthy = application.running and database == "ok" and bot_api != "failing"
    status = "ok" if healthy else "unavailable"
    return {"status": status, "database": database, "bot_api": bot_api}


async def _database_state(engine: AsyncEngine) -> str:
    """ "ok", or "read-only" when a write is refused (a replica, a read-only file)."""
    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # a locked file must fail the probe in time: SQLite's wait runs in a
            # thread that asyncio cannot cancel, so it has to end on its own before the limit
            await connection.exec_driver_sql(f"PRAGMA busy_timeout={HEALTH_SQLITE_WAIT_MS}")
        try:  # a write that changes nothing, rolled back: refused only when writes are
            await connection.execute(text("UPDATE content_version SET id = id WHERE 1 = 0"))
        except DBAPIError as error:
            if "read" not in str(error.orig).lower():
                raise
            return "read-only"
        finally:
            await connection.rollback()
            if sqlite:
                await connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    return "ok"


def web_application(application: Application, secret: str | None) -> WebApplication:  # type: ignore[type-arg]
    """/healthz always; /telegram when serving the webhook (`secret` not None)."""
    routes: list[Any] = [(HEALTH_PATH, HealthCheck, {"bot_application": application})]
    if secret is not None:
        arguments = {"bot_application": application, "secret": secret}
        routes.append((UPDATES_PATH, UpdateReceiver, arguments))
    return WebApplication(routes)


def web_server(application: Application, secret: str | None, **timeouts: float) -> HTTPServer:  # type: ignore[type-arg]
    """The HTTP server, with limits a stranger cannot hold open: HEADER_TIMEOUT to send the
    headers, BODY_TIMEOUT for the body, MAX_UPDATE_BYTES of it."""
    return HTTPServer(
        web_application(application, secret),
        idle_connection_timeout=timeouts.get("header_timeout", HEADER_TIMEOUT),
        body_timeout=timeouts.get("body_timeout", BODY_TIMEOUT),
        max_body_size=MAX_UPDATE_BYTES,
    )


def start_health_server(application: Application, settings: Settings) -> HTTPServer | None:  # type: ignore[type-arg]
    """With long polling: serve only /healthz, if HEALTH_PORT asks for it."""
    if settings.webhook_url or settings.health_port is None:
        return None
    server = web_server(application, None)
    server.listen(settings.health_port, address=settings.webhook_listen)
    return server


async def serve_webhook(application: Application, settings: Settings) -> None:  # type: ignore[type-arg]
    """Run until SIGTERM or SIGINT, then stop gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with application:
        if application.post_init:
            await application.post_init(application)
        await application.bot.set_webhook(
            url=settings.webhook_url.rstrip("/") + UPDATES_PATH,
            secret_token=settings.webhook_secret or None,
            allowed_updates=Update.ALL_TYPES,
        )
        await application.start()
        server = web_server(application, settings.webhook_secret)
        server.listen(settings.webhook_port, address=settings.webhook_listen)
        log.info("Serving the webhook on %s:%s", settings.webhook_listen, settings.webhook_port)
        await stop.wait()
        log.info("Stopping: finishing the updates in flight")
        server.stop()  # no new connections; requests already read are in the queue
        await application.stop()  # processes everything queued, then stops
        if application.post_shutdown:
            await application.post_shutdown(application)
