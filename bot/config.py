"""Settings from environment variables (and `.env`), validated once at start."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from knowledge.db import normalize_database_url
from knowledge.durations import parse_duration

DEFAULT_DATABASE_URL = f"sqlite:///{Path('data') / 'resource-finder.db'}"


class Settings(BaseSettings):
    """Everything the bot reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str = ""
    telegram_api_url: str = "https://api.telegram.org/bot"
    database_url: str = DEFAULT_DATABASE_URL
    # NoDecode: a plain "1,2,3" is the documented form, not JSON.
    coordinator_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    timezone: str = "America/Chicago"
    webhook_url: str = ""
    # Required with a webhook: without it anyone could post forged updates (as a coordinator).
    webhook_secret: str = Field(default="", validate_default=True)
    # The webhook server (and its /healthz) listens here when WEBHOOK_URL is set.
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8080
    # With long polling there is no server; set HEALTH_PORT to serve /healthz for Docker.
    health_port: int | None = None
    # Events (issue 6): reminders due in quiet hours wait for their end ("off" for none), and
    # how often the reminder job looks at the database (it also wakes for the next reminder).
    quiet_hours: str = "21:00-07:00"
    reminder_check_seconds: float = 30
    # Conversation (issue 12): the numbers the crisis reply gives before anything else, the
    # school office's number for when nobody answers /ask, and the region of numbers written
    # without a country code. README: "Crisis and office numbers".
    phone_region: str = "US"
    emergency_number: str = Field(default="911", validate_default=True)
    crisis_line: str = "988"
    crisis_text_line: str = "988"
    dv_hotline: str = "1-800-799-7233"
    school_office_phone: str = ""
    # Sending (issue 16): the bot's one budget, replies and outbox together. Telegram's ceiling
    # is 30 a second; more only for a bot with paid broadcasts (or a benchmark measuring the
    # bot itself against a server that does not limit).
    telegram_rate_per_second: float = 30.0
    # Follow-ups (issue 14): how long after a family opens a card it is asked "Did you get help?"
    follow_up_delay: timedelta = timedelta(days=3)
    # Partners (issue 15): how often a partner is asked whether each of its listings is right.
    verify_every: timedelta = timedelta(days=90)
    # SMS through Twilio (issue 13): on when the first three are set. Twilio posts incoming
    # texts to SMS_WEBHOOK_URL; the bot serves that URL's path on SMS_PORT (on WEBHOOK_LISTEN).
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_phone_number: str = ""
    twilio_api_url: str = "https://api.twilio.com"
    sms_webhook_url: str = Field(default="", validate_default=True)
    sms_port: int = 8081
    sms_rate_per_second: float = 1.0
    # Surveys (issue 15): a folder of the coordinators' own survey files (YAML), beside the
    # built-in family needs survey; checked at start.
    surveys_dir: str = ""

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: str) -> str:
        value = value.strip()
        if value and ":" not in value:
            raise ValueError("expected the form 123456:ABC-DEF from @BotFather")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url_shape(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://api.telegram.org/bot")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator("coordinator_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",")]
            try:
                return frozenset(int(part) for part in parts if part)
            except ValueError:
                raise ValueError(
                    "expected comma-separated Telegram user ids, e.g. 12345,67890"
                ) from None
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as America/Chicago") from None
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_shape(cls, value: str) -> str:
        from knowledge.calendar import parse_quiet_hours

        parse_quiet_hours(value)
        return value.strip()

    @field_validator("surveys_dir")
    @classmethod
    def _readable_surveys(cls, value: str) -> str:
        from knowledge.surveys import SurveyFormatError, available_surveys

        value = value.strip()
        try:
            available_surveys(value)
        except SurveyFormatError as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("reminder_check_seconds")
    @classmethod
    def _check_interval(cls, value: float) -> float:
        if not 0.1 <= value <= 3600:
            raise ValueError("expected seconds between 0.1 and 3600")
        return value

    @field_validator("phone_region")
    @classmethod
    def _phone_region_shape(cls, value: str) -> str:
        from knowledge.phones import is_known_region

        value = value.strip().upper()
        if not is_known_region(value):
            raise ValueError("expected a two-letter country code such as US, MX or ES")
        return value

    @field_validator(
        "emergency_number", "crisis_line", "crisis_text_line", "dv_hotline", "school_office_phone"
    )
    @classmethod
    def _phone_number_shape(cls, value: str, info: ValidationInfo) -> str:
        from knowledge.phones import is_phone_number

        value = " ".join(value.split())
        if not value and info.field_name != "emergency_number":
            return value  # not given: that line is left out
        if not is_phone_number(value, info.data.get("phone_region", "US")):
            raise ValueError("expected a phone number such as 911, 988 or +1 515-555-0100")
        return value

    @field_validator("follow_up_delay", "verify_every", mode="before")
    @classmethod
    def _follow_up_delay(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url_shape(cls, value: str) -> str:
        if value and not value.startswith("https://") and not value.startswith("http://"):
            raise ValueError("expected an https URL Telegram can reach")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: str, info: ValidationInfo) -> str:
        if not value and info.data.get("webhook_url"):
            raise ValueError(
                "required when WEBHOOK_URL is set, so that only Telegram can send updates"
            )
        # Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and -.
        if value and (
            len(value) > 256 or not all(c.isascii() and (c.isalnum() or c in "_-") for c in value)
        ):
            raise ValueError("expected 1-256 characters of letters, digits, _ and -")
        return value

    @field_validator("twilio_account_sid")
    @classmethod
    def _account_sid_shape(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"AC[0-9a-fA-F]{32}", value):
            raise ValueError("expected AC followed by 32 hex digits (Twilio Console, Account Info)")
        return value

    @field_validator("twilio_phone_number")
    @classmethod
    def _twilio_number_shape(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"\+[1-9]\d{6,14}", value):
            raise ValueError("expected an E.164 number such as +15551234567")
        return value

    @field_validator("twilio_api_url")
    @classmethod
    def _twilio_url_shape(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http(s) URL such as https://api.twilio.com")
        return value.rstrip("/")

    @field_validator("sms_webhook_url")
    @classmethod
    def _sms_webhook_shape(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        sms = all(info.data.get(k) for k in ("twilio_account_sid", "twilio_phone_number"))
        if not value and sms and info.data.get("twilio_auth_token"):
            raise ValueError(
                "required with TWILIO_*: the public URL Twilio posts texts to "
                "(signatures are checked against it)"
            )
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("expected the https URL set on the Twilio number for incoming texts")
        return value

    @field_validator("sms_port")
    @classmethod
    def _sms_port_range(cls, value: int) -> int:
        if not 1 <= value <= 65535:
            raise ValueError("expected a port number between 1 and 65535")
        return value

    @field_validator("telegram_rate_per_second")
    @classmethod
    def _telegram_rate_range(cls, value: float) -> float:
        if not 0 < value <= 1000:
            raise ValueError("expected messages a second above 0 (Telegram allows a bot 30)")
        return value

    @field_validator("sms_rate_per_second")
    @classmethod
    def _sms_rate_range(cls, value: float) -> float:
        if not 0 < value <= 1000:
            raise ValueError("expected messages a second above 0 (a long code sends 1)")
        return value

    @property
    def sms_enabled(self) -> bool:
        """SMS is on when Twilio's account, token and number are all set."""
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_phone_number)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SettingsError(Exception):
    """A configuration value is wrong; the message names the variable."""


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning validation errors into one line that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "configuration"
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {reason}") from None
