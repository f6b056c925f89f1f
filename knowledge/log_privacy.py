"""What the log may hold (PRIVACY.md): never what a person wrote, a bot token or a phone number.

Every log record passes through one record factory, so this holds for every logger (ours,
SQLAlchemy's, python-telegram-bot's, httpx's, APScheduler's) and every handler:

- an exception keeps its traceback (file, line, code) but each exception in the chain is
  reduced to its type, and for a database error the table: their messages carry the values a
  statement was given (`… my husband hits me`) and a driver's DETAIL (`Failing row contains …`);
- a Bot API token in a URL (`…/bot123:ABC…/sendMessage`, httpx logs it at INFO) becomes
  `bot<token>`, and an E.164 phone number becomes `number#<hash>`.

Engines also get `hide_parameters=True` (knowledge/db.py), so SQLAlchemy never renders them.
"""

from __future__ import annotations

import logging
import re
import traceback
from types import TracebackType
from typing import Any

from sqlalchemy.exc import StatementError

from knowledge.sms import mask

_TOKEN = re.compile(r"\b(bot)?\d{5,}:[A-Za-z0-9_-]{30,}")
_PHONE = re.compile(r"(?<![\w+])\+[1-9]\d{7,14}\b")
_TABLE = re.compile(
    r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|FROM)\s+\"?([A-Za-z_][\w]*)", re.IGNORECASE
)
_WITHHELD = "(message withheld: it may hold what a person wrote)"
_installed: list[Any] = []
# Their DEBUG lines carry every value a statement or a Bot API call was given and returned.
VERBATIM_LOGGERS = ("aiosqlite", "telegram.Bot", "telegram.ext.ExtBot", "httpcore")


def redact(text: str) -> str:
    """A log line without bot tokens or phone numbers."""
    text = _TOKEN.sub(lambda match: (match.group(1) or "") + "<token>", text)
    return _PHONE.sub(lambda match: mask(match.group(0)), text)


def describe_exception(error: BaseException) -> str:
    """`IntegrityError (table handoff)`: the type, and the table of a failed statement."""
    name = type(error).__name__
    statement = getattr(error, "statement", None) if isinstance(error, StatementError) else None
    table = _TABLE.search(statement) if isinstance(statement, str) else None
    return f"{name} (table {table.group(1)})" if table else name


def redacted_traceback(
    exc_info: tuple[type[BaseException], BaseException, TracebackType | None],
) -> str:
    """The traceback as Python prints it, each exception's message replaced by its type."""
    chain: list[tuple[BaseException, str]] = []
    error: BaseException | None = exc_info[1]
    link = ""
    while error is not None and all(error is not seen for seen, _ in chain):
        chain.append((error, link))
        if error.__cause__ is not None:
            error, link = error.__cause__, "direct cause"
        elif error.__context__ is not None and not error.__suppress_context__:
            error, link = error.__context__, "context"
        else:
            error = None
    lines: list[str] = []
    for error, _link in reversed(chain):
        lines.append("Traceback (most recent call last):\n")
        lines.extend(traceback.format_tb(error.__traceback__))
        lines.append(f"{describe_exception(error)}: {_WITHHELD}\n")
        if _link == "direct cause":
            lines.append(
                "\nThe above exception was the direct cause of the following exception:\n\n"
            )
        elif _link == "context":
            lines.append(
                "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
    return redact("".join(lines).rstrip("\n"))


def install_log_privacy() -> None:
    """Make every log record from now on private (idempotent)."""
    if _installed:
        return
    for name in VERBATIM_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    make_record = logging.getLogRecordFactory()

    def private_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging to report
            return record
        record.template = str(record.msg)  # what makes two records alike (log_repeats.py)
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.error_type = type(record.exc_info[1]).__name__
            record.exc_text = redacted_traceback(record.exc_info)  # type: ignore[arg-type]
            record.exc_info = None
        return record

    logging.setLogRecordFactory(private_record)
    _installed.append(private_record)
