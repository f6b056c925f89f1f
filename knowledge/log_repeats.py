"""Repeated warnings and errors logged once a minute, with a count.

While the database is down every job that looks at it fails every second or so; a full
traceback each time buries everything else and fills the disk. The first of a kind (the same
logger, message template and exception type) goes through; the same again within the window
is held back, and the first after it goes through saying how many were held.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

REPEAT_WINDOW_SECONDS = 60.0


class RepeatedLogFilter(logging.Filter):
    """A handler filter: WARNING and above, once per kind per window, then with a count."""

    def __init__(
        self, window: float = REPEAT_WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.window = window
        self.clock = clock
        self._shown: dict[tuple[str, str, str], float] = {}
        self._held: dict[tuple[str, str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (
            record.name,
            str(getattr(record, "template", record.msg)),
            str(getattr(record, "error_type", "")),
        )
        now = self.clock()
        if now - self._shown.get(key, -self.window) < self.window:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._shown[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.getMessage()} ({held} more like this since the last one)"
            record.args = None
        return True


def install_log_repeats(logger: logging.Logger | None = None) -> None:
    """Give each of the handlers of `logger` (the root one) its own repeat filter."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RepeatedLogFilter) for f in handler.filters):
            handler.addFilter(RepeatedLogFilter())
