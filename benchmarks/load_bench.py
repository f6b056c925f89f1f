"""Load through the whole stack: `resource-finder run` as a process, the loopback Bot API server.

1. Steady: 500 families asking 50 questions a second for 20 s; first-reply latency p50/p99.
   Then again with one chat flooding the bot at 25 messages a second: the others' latency.
2. Burst: 1,000 questions from 1,000 chats waiting at once; answered per second.
On SQLite, and on PostgreSQL when BENCH_DATABASE_URL is set.

    python -m benchmarks.load_bench
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from benchmarks.first_reply_bench import QUESTIONS, start_bot  # noqa: E402
from botapi import FakeBotApi  # noqa: E402

STEADY_RATE = 50
STEADY_SECONDS = 20
FAMILIES = 500
BURST = 1000
FLOOD_RATE = 25
FLOODER = 777_000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


class ReplyClock:
    """Records when each chat's n-th question was pushed and when its n-th reply arrived."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self.pushed: dict[tuple[int, int], float] = {}
        self.lock = threading.Lock()
        self.asked: dict[int, int] = {}

    def ask(self, chat_id: int, text: str) -> None:
        with self.lock:
            number = self.asked.get(chat_id, 0)
            self.asked[chat_id] = number + 1
            self.pushed[(chat_id, number)] = time.time()  # the fake stamps calls with time.time()
        self.api.push_message(chat_id, text)

    def latencies(self, timeout: float) -> tuple[list[float], int]:
        """Per question, reply time minus push time; and how many got no reply in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._answered() >= len(self.pushed):
                break
            time.sleep(0.2)
        replies: dict[int, list[float]] = {}
        for call in self.api.calls_to("sendMessage"):
            if call.ok and isinstance(call.chat_id, int):
                replies.setdefault(call.chat_id, []).append(call.time)
        latencies = []
        for (chat_id, number), pushed in self.pushed.items():
            times = replies.get(chat_id, [])
            if number < len(times):
                latencies.append((times[number] - pushed) * 1000)
        return latencies, len(self.pushed) - len(latencies)

    def _answered(self) -> int:
        chats: dict[int, int] = {}
        for call in self.api.calls_to("sendMessage"):
            if call.ok and isinstance(call.chat_id, int):
                chats[call.chat_id] = chats.get(call.chat_id, 0) + 1
        return sum(min(n, self.asked.get(c, 0)) for c, n in chats.items())


def steady(api: FakeBotApi, first_chat: int, flooding: bool = False) -> None:
    """50 questions a second from 500 families; with `flooding`, one more chat sends 25 a
    second all along, and the families' latency must not change."""
    clock = ReplyClock(api)
    flood = threading.Thread(target=_flood, args=(api,), daemon=True)
    if flooding:
        flood.start()
    started = time.perf_counter()
    total = STEADY_RATE * STEADY_SECONDS
    for i in range(total):
        target = started + i / STEADY_RATE
        time.sleep(max(0.0, target - time.perf_counter()))
        clock.ask(first_chat + i % FAMILIES, QUESTIONS[i % len(QUESTIONS)])
    latencies, missing = clock.latencies(timeout=30)
    label = f" + 1 chat flooding {FLOOD_RATE}/s" if flooding else ""
    print(
        f"  steady {STEADY_RATE}/s from {FAMILIES} families{label}, {total} questions: "
        f"p50 {statistics.median(latencies):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms, "
        f"unanswered {missing} (target p99 <= 1000 ms)"
    )
    if flooding:
        flood.join()
        to_flooder = [c for c in api.calls_to("sendMessage") if c.chat_id == FLOODER]
        warnings = sum("very fast" in str(c.text) for c in to_flooder)
        print(
            f"    the flooding chat: {FLOOD_RATE * STEADY_SECONDS} messages, "
            f"{len(to_flooder) - warnings} answered, told to slow down {warnings} time(s)"
        )


def _flood(api: FakeBotApi) -> None:
    started = time.perf_counter()
    for i in range(FLOOD_RATE * STEADY_SECONDS):
        time.sleep(max(0.0, started + i / FLOOD_RATE - time.perf_counter()))
        api.push_message(FLOODER, QUESTIONS[i % len(QUESTIONS)])


def burst(database_url: str) -> None:
    """1,000 questions waiting when the bot looks: how fast it works through them."""
    with FakeBotApi() as api:
        for i in range(BURST):
            api.push_message(900_000 + i, QUESTIONS[i % len(QUESTIONS)])
        bot = start_bot(api, database_url)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and len(_answered_chats(api)) < BURST:
                time.sleep(0.2)
            fetched = [c.time for c in api.calls_to("getUpdates") if c.ok and c.result]
            replies = [c.time for c in api.calls_to("sendMessage") if c.ok]
            answered = len(_answered_chats(api))
            elapsed = max(replies) - min(fetched)
            print(
                f"  burst of {BURST} questions: {answered} answered in {elapsed:.2f} s from the "
                f"first fetch ({answered / elapsed:.0f} per second) (target >= 150/s)"
            )
        finally:
            bot.terminate()
            bot.wait(timeout=60)


def _answered_chats(api: FakeBotApi) -> set[int]:
    return {c.chat_id for c in api.calls_to("sendMessage") if c.ok and isinstance(c.chat_id, int)}


def run(label: str, database_url: str) -> None:
    # The bot and the loopback server share this machine's cores: other work lowers the figures.
    load = os.getloadavg()[0]
    print(f"load ({label}; {os.cpu_count()} CPUs, load average {load:.1f} at start):", flush=True)
    with FakeBotApi() as api:
        bot = start_bot(api, database_url)
        try:
            api.wait_until_polling(timeout=90)
            steady(api, 800_000)
            steady(api, 810_000, flooding=True)
        finally:
            bot.terminate()
            bot.wait(timeout=60)
    burst(database_url)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        run("SQLite", f"sqlite:///{folder}/load.db")
    postgres = os.environ.get("BENCH_DATABASE_URL")
    if postgres:
        subprocess.run(
            ["psql", postgres, "-q", "-c", "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"],
            check=False,
            capture_output=True,
        )
        run("PostgreSQL", postgres)


if __name__ == "__main__":
    main()
