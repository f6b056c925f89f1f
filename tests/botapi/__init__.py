"""Loopback stand-in for the Telegram Bot API used by end-to-end tests.

server.py     FakeBotApi: start and stop, injected faults, inspecting, waiting, routing
users.py      what users do (messages, locations, button presses), pushed as updates
messages.py   Bot API methods that send, edit and delete messages
updates.py    the other Bot API methods: updates, webhooks, queries, commands
state.py      the state all of those share
calls.py      recorded calls, uploaded files, error answers
html.py       Telegram's HTML parse mode and UTF-16 lengths
transport.py  the HTTP server and request decoding
"""

from .calls import ApiError, Call, UploadedFile
from .html import parse_html
from .server import FakeBotApi

__all__ = ["ApiError", "Call", "FakeBotApi", "UploadedFile", "parse_html"]
