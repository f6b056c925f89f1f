"""Load through the whole stack: `resource-finder run` as a process, the loopback Bot API server.

1. Steady: 500 families asking 50 questions a second for 20 s; first-reply latency p50/p99.
   Then again with one chat flooding the bot at 25 messages a second: the others' latency.
2. Burst: 1,000 questions from 1,000 chats at once; answered per second.
Both with long polling (the questions wait in getUpdates) and as a webhook deployment (the
questions are POSTed to /telegram with the secret, 8 connections at a time, as Telegram does).
On SQLite, and on PostgreSQL when BENCH_DATABASE_URL is set.

    python -m benchmarks.load_bench
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from benchmarks.first_reply_bench import QUESTIONS  # noqa: E402
from bot.local_chat import message_update  # noqa: E402
from botapi import FakeBotApi  # noqa: E402

STEADY_RATE = 50
STEADY_SECONDS = 20
FAMILIES = 500
BURST = 1000
FLOOD_RATE = 25
FLOODER = 777_000
WEBHOOK_SECRET = "load-bench-secret"
WEBHOOK_CONNECTIONS = 8

Ask = Callable[[int, str], None]  # (chat id, text): one question reaches the bot


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


# --- the bot, polling or behind its webhook ---------------------------------------------------


class Deployment:
    """The bot as a process, and how a question reaches it."""

    def __init__(self, api: FakeBotApi, database_url: str, webhook: bool) -> None:
        self.api = api
        self.webhook = webhook
        self.port = _free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "HEALTH_"))},
            **api.env(),
            "DATABASE_URL": database_url,
            # This measures the bot, not Telegram's ceiling: 50 questions a second need more
            # than the 30 answers a second the bot allows itself by default (the loopback
            # server here does not limit; sending_bench measures the paced crowd).
            "TELEGRAM_RATE_PER_SECOND": "1000",
        }
        if webhook:
            env.update(
                WEBHOOK_URL="https://bot.invalid/",
                WEBHOOK_SECRET=WEBHOOK_SECRET,
                WEBHOOK_LISTEN="127.0.0.1",
                WEBHOOK_PORT=str(self.port),
            )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._local = threading.local()

    def wait_until_ready(self, timeout: float = 90) -> None:
        if not self.webhook:
            self.api.wait_until_polling(timeout=timeout)
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError("the webhook server did not come up")

    def ask(self, chat_id: int, text: str) -> None:
        if not self.webhook:
            self.api.push_message(chat_id, text)
            return
        connection = getattr(self._local, "connection", None)
        if connection is None:  # one keep-alive connection per sending thread, as Telegram
            connection = self._local.connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=30
            )
        body = json.dumps(message_update(chat_id, text)).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
        }
        connection.request("POST", "/telegram", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"the webhook answered {response.status}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)


@contextmanager
def deployed(database_url: str, webhook: bool) -> Iterator[Deployment]:
    with FakeBotApi() as api:
        bot = Deployment(api, database_url, webhook)
        try:
            yield bot
        finally:
            bot.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- measuring ------------------------------------------------------------------------------


class ReplyClock:
    """Records when each chat's n-th question was sent and when its n-th reply arrived."""

    def __init__(self, api: FakeBotApi, ask: Ask) -> None:
        self.api = api
        self._ask = ask
        self.pushed: dict[tuple[int, int], float] = {}
        self.lock = threading.Lock()
        self.asked: dict[int, int] = {}

    def ask(self, chat_id: int, text: str) -> None:
        with self.lock:
            number = self.asked.get(chat_id, 0)
            self.asked[chat_id] = number + 1
            self.pushed[(chat_id, number)] = time.time()  # the fake stamps calls with time.time()
        self._ask(chat_id, text)

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


def steady(bot: Deployment, first_chat: int, flooding: bool = False) -> None:
    """50 questions a second from 500 families; with `flooding`, one more chat sends 25 a
    second all along, and the families' latency must not change."""
    clock = ReplyClock(bot.api, bot.ask)
    flood = threading.Thread(target=_flood, args=(bot,), daemon=True)
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
        f"unanswered {missing} (target p99 <= 1000 ms)",
        flush=True,
    )
    if flooding:
        flood.join()
        to_flooder = [c for c in bot.api.calls_to("sendMessage") if c.chat_id == FLOODER]
        warnings = sum("very fast" in str(c.text) for c in to_flooder)
        print(
            f"    the flooding chat: {FLOOD_RATE * STEADY_SECONDS} messages, "
            f"{len(to_flooder) - warnings} answered, told to slow down {warnings} time(s)",
            flush=True,
        )


def _flood(bot: Deployment) -> None:
    started = time.perf_counter()
    for i in range(FLOOD_RATE * STEADY_SECONDS):
        time.sleep(max(0.0, started + i / FLOOD_RATE - time.perf_counter()))
        bot.ask(FLOODER, QUESTIONS[i % len(QUESTIONS)])


def burst(database_url: str, webhook: bool) -> None:
    """1,000 questions at once: waiting in getUpdates when the bot starts polling, or POSTed
    to the webhook as fast as 8 connections allow."""
    with deployed(database_url, webhook) as bot:
        questions = [(900_000 + i, QUESTIONS[i % len(QUESTIONS)]) for i in range(BURST)]
        if webhook:
            bot.wait_until_ready()
            started = time.time()
            with ThreadPoolExecutor(WEBHOOK_CONNECTIONS) as pool:
                list(pool.map(lambda question: bot.ask(*question), questions))
        else:
            for chat_id, text in questions:
                bot.ask(chat_id, text)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(_answered_chats(bot.api)) < BURST:
            time.sleep(0.2)
        if not webhook:
            started = min(c.time for c in bot.api.calls_to("getUpdates") if c.ok and c.result)
        replies = [c.time for c in bot.api.calls_to("sendMessage") if c.ok]
        answered = len(_answered_chats(bot.api))
        elapsed = max(replies) - started
        since = "the first POST" if webhook else "the first fetch"
        print(
            f"  burst of {BURST} questions: {answered} answered in {elapsed:.2f} s from {since} "
            f"({answered / elapsed:.0f} per second) (target >= 150/s)",
            flush=True,
        )


def _answered_chats(api: FakeBotApi) -> set[int]:
    return {c.chat_id for c in api.calls_to("sendMessage") if c.ok and isinstance(c.chat_id, int)}


def run(label: str, database_url: str, fresh: Callable[[], str]) -> None:
    for webhook in (False, True):
        mode = "webhook" if webhook else "long polling"
        # The bot and the loopback server share this machine's cores: other work lowers the
        # figures.
        load = os.getloadavg()[0]
        print(
            f"load ({label}, {mode}; {os.cpu_count()} CPUs, load average {load:.1f} at start):",
            flush=True,
        )
        with deployed(database_url, webhook) as bot:
            bot.wait_until_ready()
            steady(bot, 800_000)
            steady(bot, 810_000, flooding=True)
        burst(database_url, webhook)
        database_url = fresh()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        count = 0

        def fresh_sqlite() -> str:
            nonlocal count
            count += 1
            return f"sqlite:///{folder}/load-{count}.db"

        run("SQLite", fresh_sqlite(), fresh_sqlite)
    postgres = os.environ.get("BENCH_DATABASE_URL")
    if postgres:

        def fresh_postgres() -> str:
            subprocess.run(
                ["psql", postgres, "-q", "-c", "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"],
                check=False,
                capture_output=True,
            )
            return postgres

        run("PostgreSQL", fresh_postgres(), fresh_postgres)


if __name__ == "__main__":
    main()
