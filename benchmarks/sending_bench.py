"""Sending benchmark: `python -m benchmarks.sending_bench` (part of `make bench`).

The real bot (`python -m bot run`, its own process) against the loopback Bot API server, which
answers 429 whenever a rolling second would hold more than 30 sends:

1. a flash crowd: 300 families send /subscribe within one second (a QR code shown at a school
   event). Printed: answered, 429s, time to the last answer, reply latency p50/p99;
2. a per-chat 429 of 60 s: families write in at a steady pace, once as they are and once
   while one chat is held in a 60 s flood wait. Printed: the others' p99 both times, and when
   the flooded chat got its answer;
3. an API outage (502 for everything) of `--outage-seconds` (10 minutes by default) during a
   1,000-subscriber broadcast. Printed: delivered, lost, duplicates, time from the API's
   return to the last delivery.

These are figures, not tests. SQLite in a temporary folder unless --database-url is given
(a PostgreSQL database given there is WIPED first).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.broadcast_bench import (
    COORDINATOR,
    TEXT,
    Bot,
    _is_broadcast,
    _is_report,
    _quiet_disconnects,
    _wait_for_call,
    prepare_database,
)
from botapi import FakeBotApi

CROWD = 300
DONE = "Done! You will get announcements"
FIRST_CROWD = 2_000_001
STEADY = 120  # families writing in during the per-chat flood run, 4 a second
FLOODED = 2_500_000
SUBSCRIBERS = 1_000
FIRST_SUBSCRIBER = 3_000_001


def _answer_times(api: FakeBotApi, text: str) -> dict[int, float]:
    """When each chat first got `text`."""
    times: dict[int, float] = {}
    for call in api.calls:
        if call.ok and call.method == "sendMessage" and text in str(call.text):
            times.setdefault(int(call.chat_id), call.time)  # type: ignore[arg-type]
    return times


def _wait_for_answers(api: FakeBotApi, chats: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(set(chats) & set(_answer_times(api, DONE))) < len(chats):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not every chat answered in {timeout:.0f} s")
        time.sleep(0.25)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def flash_crowd(url: str | None) -> list[str]:
    chats = list(range(FIRST_CROWD, FIRST_CROWD + CROWD))
    with tempfile.TemporaryDirectory(prefix="sending-bench-") as tmp, FakeBotApi() as api:
        database = prepare_database(url, Path(tmp), [])
        api.rate_limit(30)
        bot = Bot(api, database, Path(tmp))
        try:
            bot.start()
            pushed: dict[int, float] = {}
            for chat_id in chats:
                pushed[chat_id] = time.time()
                api.push_message(chat_id, "/subscribe")
            _wait_for_answers(api, chats, timeout=300)
        finally:
            bot.stop()
        answers = _answer_times(api, DONE)
        latency = [answers[c] - pushed[c] for c in chats]
        sends = Counter(int(c.chat_id) for c in api.calls if c.ok and DONE in str(c.text))  # type: ignore[arg-type]
        return [
            "== Flash crowd: 300 families send /subscribe within one second",
            f"  answered             {len(answers):,} of {CROWD} (duplicates "
            f"{sum(n - 1 for n in sends.values())})",
            f"  429s received        {api.count_429} (target <= 5)",
            f"  busiest second       {api.max_sends_per_second} sends (the server admits 30)",
            f"  time to last answer  {max(answers.values()) - min(pushed.values()):.1f} s "
            f"(300 at 30/s: 10 s)",
            f"  reply latency        p50 {_percentile(latency, 0.5):.1f} s, "
            f"p99 {_percentile(latency, 0.99):.1f} s",
        ]


def _steady_run(api: FakeBotApi, first_chat: int, flooded: bool) -> tuple[list[float], float]:
    """STEADY families write in at 4 a second; with `flooded`, FLOODED first, in a 60 s flood
    wait. Returns the others' reply latencies and the flooded chat's (0 without)."""
    chats = list(range(first_chat, first_chat + STEADY))
    pushed: dict[int, float] = {}
    if flooded:
        api.flood_chat(FLOODED, 60)
        pushed[FLOODED] = time.time()
        api.push_message(FLOODED, "/subscribe")
        _wait_for_call(api, lambda c: c.error_code == 429 and c.chat_id == FLOODED, 30)
    for chat_id in chats:
        pushed[chat_id] = time.time()
        api.push_message(chat_id, "/subscribe")
        time.sleep(0.25)
    _wait_for_answers(api, chats + ([FLOODED] if flooded else []), timeout=300)
    answers = _answer_times(api, DONE)
    latency = [answers[c] - pushed[c] for c in chats]
    return latency, (answers[FLOODED] - pushed[FLOODED]) if flooded else 0.0


def per_chat_flood(url: str | None) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="sending-bench-") as tmp, FakeBotApi() as api:
        database = prepare_database(url, Path(tmp), [])
        api.rate_limit(30)
        bot = Bot(api, database, Path(tmp))
        try:
            bot.start()
            calm, _ = _steady_run(api, FIRST_CROWD, flooded=False)
            stormy, flooded_after = _steady_run(api, FIRST_CROWD + STEADY, flooded=True)
        finally:
            bot.stop()
        return [
            "== One chat in a 60 s flood wait (429 retry_after 60) while families write in",
            f"  others' reply p99    {_percentile(calm, 0.99):.2f} s without it, "
            f"{_percentile(stormy, 0.99):.2f} s with it (p50 {_percentile(calm, 0.5):.2f} / "
            f"{_percentile(stormy, 0.5):.2f} s)",
            f"  flooded chat         answered after {flooded_after:.1f} s (its wait: 60 s)",
            f"  429s received        {api.count_429}",
        ]


def outage(url: str | None, seconds: float) -> list[str]:
    chat_ids = list(range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + SUBSCRIBERS))
    with tempfile.TemporaryDirectory(prefix="sending-bench-") as tmp, FakeBotApi() as api:
        database = prepare_database(url, Path(tmp), chat_ids)
        api.rate_limit(30)
        bot = Bot(api, database, Path(tmp))
        try:
            bot.start()
            api.push_message(COORDINATOR, f"/broadcast {TEXT}")
            api.wait_for_reply(COORDINATOR, timeout=60)
            api.wait_for_callback_answer(api.press(COORDINATOR, "Send", timeout=30), timeout=30)
            while sum(1 for c in api.calls if _is_broadcast(c)) < SUBSCRIBERS // 5:
                time.sleep(0.05)
            api.outage(seconds)
            down_at = time.time()
            print(f"  (API down for {seconds:.0f} s from {SUBSCRIBERS // 5} sends)", flush=True)
            time.sleep(seconds)
            back_at = time.time()
            report = _wait_for_call(api, _is_report, timeout=SUBSCRIBERS / 30 * 3 + 300)
        finally:
            bot.stop()
        calls = api.calls
        sends = Counter(int(c.chat_id) for c in calls if _is_broadcast(c))  # type: ignore[arg-type]
        after = [c.time for c in calls if _is_broadcast(c) and c.time >= back_at]
        failed_tries = sum(1 for c in calls if c.error_code == 502 and c.time >= down_at)
        first = (min(after) - back_at) if after else 0.0
        return [
            f"== API outage (502) of {seconds:.0f} s during a {SUBSCRIBERS:,}-subscriber broadcast",
            f"  delivered            {len(sends):,} of {SUBSCRIBERS:,} "
            f"({len(after):,} after the API came back)",
            f"  lost                 {sum(1 for c in chat_ids if sends[c] == 0)}",
            f"  duplicates           {sum(n - 1 for n in sends.values())}",
            f"  tries while down     {failed_tries:,} (probes at growing intervals, up to 30 s)",
            f"  back to first send   {first:.1f} s; to the last "
            f"{(max(after) - back_at) if after else 0.0:.1f} s",
            f"  final report says    {_delivered_line(str(report.text))}",
            f"  429s received        {api.count_429}",
        ]


def _delivered_line(report: str) -> str:
    return next((line.strip() for line in report.splitlines() if "Delivered" in line), "?")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (WIPED first); default SQLite")
    parser.add_argument("--outage-seconds", type=float, default=600.0)
    parser.add_argument("--only", choices=("crowd", "flood", "outage"))
    args = parser.parse_args(argv if argv is not None else [])
    _quiet_disconnects()
    runs = {
        "crowd": lambda: flash_crowd(args.database_url),
        "flood": lambda: per_chat_flood(args.database_url),
        "outage": lambda: outage(args.database_url, args.outage_seconds),
    }
    for name, run in runs.items():
        if args.only in (None, name):
            print("\n".join(run()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
