"""Loopback stand-in for the Telegram Bot API used by end-to-end tests."""

from .server import ApiError, Call, FakeBotApi, UploadedFile, parse_html

__all__ = ["ApiError", "Call", "FakeBotApi", "UploadedFile", "parse_html"]
