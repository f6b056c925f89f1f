"""The SMS channel (Twilio): the same conversation by text message.

- `request.ChannelRequest` sends the handlers' Bot API calls for a number's chat to
  `channel.SmsChannel`, which renders them as texts (buttons as numbered choices) and sends them
  through `twilio_api.TwilioMessages`, paced at SMS_RATE_PER_SECOND;
- `server` takes Twilio's signed posts in; `inbound` answers the carriers' keywords and turns
  every other text into an update for the number's chat; bot/handlers/texts.py reads a reply
  ("2", "M", "YES", "JOIN") as the button or command it stands for;
- the outbox reaches numbers through `SmsChannel.deliver` like any other chat.
"""

from __future__ import annotations

import logging

from telegram.ext import Application

from bot.sms.channel import SmsChannel
from bot.sms.links import LinkSigner
from bot.sms.request import ChannelRequest
from bot.sms.server import start_sms_server
from bot.sms.twilio_api import TwilioMessages

log = logging.getLogger(__name__)


async def start_sms(application: Application) -> SmsChannel | None:  # type: ignore[type-arg]
    """With Twilio configured: the channel, its port, and the Bot API calls routed to it."""
    services = application.bot_data["services"]
    settings = services.settings
    request = application.bot.request
    if not settings.sms_enabled or not isinstance(request, ChannelRequest):
        return None
    client = TwilioMessages(
        settings.twilio_api_url,
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        settings.twilio_phone_number,
    )
    channel = SmsChannel(
        services.sessions,
        client,
        LinkSigner(settings.twilio_auth_token, settings.sms_webhook_url),
        per_second=settings.sms_rate_per_second,
    )
    request.sms = channel
    application.bot_data["sms"] = channel
    application.bot_data["sms_server"] = start_sms_server(application, settings, channel)
    return channel


async def stop_sms(application: Application) -> None:  # type: ignore[type-arg]
    server = application.bot_data.pop("sms_server", None)
    if server is not None:
        server.stop()
    channel: SmsChannel | None = application.bot_data.pop("sms", None)
    if channel is not None:
        await channel.close()
