"""Loopback stand-in for Twilio's Messages API used by the SMS end-to-end tests."""

from .server import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    PHONE_NUMBER,
    FakeTwilio,
    Sms,
    is_gsm7,
    segments,
    signature,
)

__all__ = [
    "ACCOUNT_SID",
    "AUTH_TOKEN",
    "PHONE_NUMBER",
    "FakeTwilio",
    "Sms",
    "is_gsm7",
    "segments",
    "signature",
]
