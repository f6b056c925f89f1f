"""While the database is down, each kind of error is logged once a minute, with a count."""

from __future__ import annotations

import io
import logging

from sqlalchemy.exc import OperationalError

from knowledge.log_privacy import install_log_privacy
from knowledge.log_repeats import RepeatedLogFilter


def test_the_same_error_every_second_is_logged_once_a_minute_with_a_count() -> None:
    install_log_privacy()
    now = [0.0]
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RepeatedLogFilter(window=60, clock=lambda: now[0]))
    logger = logging.getLogger("jobs.delivery.test_repeats")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        for second in range(150):  # a housekeeping job failing every second for 2.5 minutes
            now[0] = float(second)
            try:
                raise OperationalError("SELECT 1", {}, ConnectionRefusedError(f"try {second}"))
            except OperationalError:
                logger.exception("Delivery housekeeping failed; trying again shortly")
            if second % 10 == 0:
                logger.warning("Could not reach chat %s", second)  # another kind, same rule
        logger.info("back to normal")  # information is never held back
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    assert text.count("Traceback") == 3  # at 0 s, 60 s and 120 s
    assert text.count("Delivery housekeeping failed") == 3
    assert "(59 more like this since the last one)" in text
    assert text.count("Could not reach chat") == 3
    assert "back to normal" in text
