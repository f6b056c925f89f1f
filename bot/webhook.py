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
from telegram import Update
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.web import Application as WebApplication
from tornado.web import HTTPError, RequestHandler

from bot.config import Settings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
UPDATES_PATH = "/telegram"
HEALTH_PATH = "/healthz"
MAX_UPDATE_BYTES = 1_000_000


class UpdateReceiver(RequestHandler):
    """POST /telegram: one update from Telegram, checked against the shared secret."""

    def initialize(self, bot_application: Application, secret: str) -> None:  # type: ignore[type-arg,override]
        self.bot_application = bot_application
        self.secret = secret

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not self.secret or not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise HTTPError(403)
        if len(self.request.body) > MAX_UPDATE_BYTES:
            raise HTTPError(413)
        try:
            payload = json.loads(self.request.body)
            update = Update.de_json(payload, self.bot_application.bot)
        except (ValueError, TypeError, KeyError):
            raise HTTPError(400) from None
        await self.bot_application.update_queue.put(update)
        self.set_status(200)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, HTTPError):  # a stranger's request is not our error
            log.info("Webhook request refused: %s", value.status_code)
        else:
            super().log_exception(typ, value, tb)


class HealthCheck(RequestHandler):
    """GET /healthz: 200 when the bot is running and its database answers."""

    def initialize(self, bot_application: Application) -> None:  # type: ignore[type-arg,override]
        self.bot_application = bot_application

    async def get(self) -> None:
        services = self.bot_application.bot_data.get("services")
        healthy = self.bot_application.running and services is not None
        if healthy:
            try:
                async with services.engine.connect() as connection:
                    await asyncio.wait_for(connection.execute(text("SELECT 1")), timeout=3)
            except Exception:  # any database failure means unhealthy, not a crash
                log.warning("Health check: database unreachable", exc_info=True)
                healthy = False
        self.set_status(200 if healthy else 503)
        self.finish({"status": "ok" if healthy else "unavailable"})


def web_application(application: Application, secret: str | None) -> WebApplication:  # type: ignore[type-arg]
    """/healthz always; /telegram when serving the webhook (`secret` not None)."""
    routes: list[Any] = [(HEALTH_PATH, HealthCheck, {"bot_application": application})]
    if secret is not None:
        arguments = {"bot_application": application, "secret": secret}
        routes.append((UPDATES_PATH, UpdateReceiver, arguments))
    return WebApplication(routes)


def start_health_server(application: Application, settings: Settings) -> HTTPServer | None:  # type: ignore[type-arg]
    """With long polling: serve only /healthz, if HEALTH_PORT asks for it."""
    if settings.webhook_url or settings.health_port is None:
        return None
    server = HTTPServer(web_application(application, None))
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
        server = HTTPServer(web_application(application, settings.webhook_secret))
        server.listen(settings.webhook_port, address=settings.webhook_listen)
        log.info("Serving the webhook on %s:%s", settings.webhook_listen, settings.webhook_port)
        await stop.wait()
        log.info("Stopping: finishing the updates in flight")
        server.stop()  # no new connections; requests already read are in the queue
        await application.stop()  # processes everything queued, then stops
        if application.post_shutdown:
            await application.post_shutdown(application)
