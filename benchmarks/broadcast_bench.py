"""Broadcast benchmark: `python -m benchmarks.broadcast_bench` (part of `make bench`).

The real bot (`python -m bot run`, its own process) broadcasts to 10,000 subscribers, 5% of
whom blocked it, through the loopback Bot API server, which answers 429 whenever a rolling
second would hold more than 30 sends (Telegram's documented ceiling). Printed: sustained rate,
429s received, the busiest second the server saw, lost and duplicated messages. Then the same
with the bot killed (SIGKILL) midway, at a random moment, and started again.

For comparison it also measures python-telegram-bot's AIORateLimiter, with its defaults, on the
same server (what a bot that relied on it would get).

These are figures, not tests. SQLite in a temporary folder unless --database-url is given
(a PostgreSQL database given there is WIPED first). About 6 minutes per broadcast.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the loopback Bot API server lives with the tests

from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from botapi import Call, FakeBotApi  # noqa: E402
from botapi import transport as _loopback  # noqa: E402
from harness import reset_postgres  # noqa: E402
from knowledge.db import create_engine, create_sessionmaker  # noqa: E402
from knowledge.migrate import upgrade_database  # noqa: E402
from knowledge.models import Chat, Delivery, DeliveryStatus, Message  # noqa: E402

COORDINATOR = 990_001
FIRST_FAMILY = 1_000_001
TEXT = "Benchmark broadcast: family night is Thursday at 6 pm"
TELEGRAM_CEILING = 30


@dataclass
class Figures:
    title: str
    subscribers: int
    reachable: int
    blocked: int
    delivered: int
    seconds: float
    paused: float
    count_429: int
    busiest_second: int
    busiest_chat_second: int
    lost: int
    duplicates: int
    attempts_403: int
    statuses: Counter[str]
    progress_edits: int
    reports: int

    def lines(self) -> list[str]:
        rate = self.delivered / self.seconds if self.seconds else 0.0
        share = 100 * rate / TELEGRAM_CEILING
        out = [
            f"== {self.title}",
            f"  subscribers          {self.subscribers:,} ({self.blocked:,} blocked the bot)",
            f"  delivered            {self.delivered:,} of {self.reachable:,} reachable",
            f"  sustained rate       {rate:.1f} messages/s over {self.seconds:.0f} s of sending "
            f"({share:.0f}% of Telegram's {TELEGRAM_CEILING}/s; target >= 28)",
        ]
        if self.paused:
            out.append(f"  restart gap          {self.paused:.1f} s (kill -9 to first send again)")
        out += [
            f"  429s received        {self.count_429}",
            f"  busiest second       {self.busiest_second} sends overall, "
            f"{self.busiest_chat_second} to one chat (the server admits at most 30: beyond "
            f"that it answers 429)",
            f"  blocked (403) tries  {self.attempts_403:,} (each chat once, then unsubscribed)",
            f"  lost                 {self.lost}",
            f"  duplicates           {self.duplicates}",
            f"  outbox rows          {dict(sorted(self.statuses.items()))}",
            f"  progress edits       {self.progress_edits}, final reports {self.reports}",
        ]
        return out


def _quiet_disconnects() -> None:
    """A killed bot leaves half-read requests; the server need not print a traceback each."""
    original = _loopback.Server.handle_error

    def handle_error(self: object, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        original(self, request, client_address)  # type: ignore[arg-type]

    _loopback.Server.handle_error = handle_error  # type: ignore[method-assign]


# --- setting up ------------------------------------------------------------------------------


async def _seed(url: str, chat_ids: list[int]) -> None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            rows = [
                {"id": c, "language": "en", "role": "family", "subscribed": True, "blocked": False}
                for c in chat_ids
            ]
            for start in range(0, len(rows), 1000):
                await session.execute(insert(Chat), rows[start : start + 1000])
    finally:
        await engine.dispose()


async def _outbox(url: str) -> Counter[str]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(Delivery.status)
                .join(Message, Message.id == Delivery.message_id)
                .where(Message.kind == "broadcast")
            )
            return Counter(DeliveryStatus(s).value for s in rows)
    finally:
        await engine.dispose()


def prepare_database(url: str | None, folder: Path, chat_ids: list[int]) -> str:
    if url is None:
        url = f"sqlite:///{folder / 'bench.db'}"
    elif make_url(url).get_backend_name().startswith("postgres"):
        asyncio.run(reset_postgres(url))
    upgrade_database(url)
    asyncio.run(_seed(url, chat_ids))
    return url


class Bot:
    def __init__(self, api: FakeBotApi, url: str, folder: Path) -> None:
        self.api, self.url, self.folder = api, url, folder
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK_", "HEALTH_"))},
            **self.api.env(),
            "DATABASE_URL": self.url,
            "COORDINATOR_IDS": str(COORDINATOR),
            "PYTHONUNBUFFERED": "1",
        }
        log = (self.folder / f"bot-{self.runs}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],  # warnings only: logging costs CPU too
            env=env,
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.api.wait_until_polling(timeout=180)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


# --- one broadcast ---------------------------------------------------------------------------


def _is_broadcast(call: Call) -> bool:
    return (
        call.ok
        and call.method == "sendMessage"
        and call.chat_id != COORDINATOR  # the preview quotes the text too
        and TEXT in str(call.text)
    )


def _is_report(call: Call) -> bool:
    return (
        call.ok
        and call.method == "sendMessage"
        and call.chat_id == COORDINATOR
        and "Broadcast finished" in str(call.text)
    )


def run_broadcast(
    title: str, subscribers: int, blocked_share: float, url: str | None, kill: bool
) -> Figures:
    chat_ids = list(range(FIRST_FAMILY, FIRST_FAMILY + subscribers))
    step = max(1, round(1 / blocked_share)) if blocked_share > 0 else 0
    blocked = set(chat_ids[::step]) if step else set()
    reachable = [c for c in chat_ids if c not in blocked]
    with tempfile.TemporaryDirectory(prefix="broadcast-bench-") as tmp, FakeBotApi() as api:
        folder = Path(tmp)
        database = prepare_database(url, folder, chat_ids)
        api.rate_limit(TELEGRAM_CEILING)
        for chat_id in blocked:
            api.block_chat(chat_id)
        bot = Bot(api, database, folder)
        try:
            bot.start()
            api.push_message(COORDINATOR, f"/broadcast {TEXT}")
            api.wait_for_reply(COORDINATOR, timeout=60)
            api.wait_for_callback_answer(api.press(COORDINATOR, "Send", timeout=30), timeout=30)
            expected = len(reachable) / TELEGRAM_CEILING
            paused = 0.0
            if kill:
                _wait_for_broadcast_sends(api, len(reachable) // 2, timeout=expected * 3)
                time.sleep(random.uniform(0, 1.0))  # a random moment, not one between sends
                killed_at = time.time()  # the server stamps calls with time.time()
                bot.kill()
                print(f"  (killed at {_count(api):,} sends; restarting)", flush=True)
                bot.start()
                first_again = _wait_for_call(
                    api, lambda c: _is_broadcast(c) and c.time > killed_at, timeout=180
                )
                last_before = max(
                    c.time for c in api.calls if _is_broadcast(c) and c.time <= killed_at
                )
                paused = first_again.time - last_before
            _wait_for_call(api, _is_report, timeout=expected * 3 + 120)
        finally:
            bot.stop()
        calls = api.calls
        sends = Counter(int(c.chat_id) for c in calls if _is_broadcast(c))  # type: ignore[arg-type]
        times = sorted(c.time for c in calls if _is_broadcast(c))
        statuses = asyncio.run(_outbox(database))
        return Figures(
            title=title,
            subscribers=subscribers,
            reachable=len(reachable),
            blocked=len(blocked),
            delivered=len(sends),
            seconds=(times[-1] - times[0] - paused) if times else 0.0,
            paused=paused,
            count_429=api.count_429,
            busiest_second=api.max_sends_per_second,
            busiest_chat_second=max(api.max_chat_sends_per_second.values(), default=0),
            lost=sum(1 for c in reachable if sends[c] == 0),
            duplicates=sum(n - 1 for n in sends.values()),
            attempts_403=sum(1 for c in calls if c.error_code == 403),
            statuses=statuses,
            progress_edits=sum(
                1
                for c in calls
                if c.ok and c.method == "editMessageText" and c.chat_id == COORDINATOR
            ),
            reports=sum(1 for c in calls if _is_report(c)),
        )


def _count(api: FakeBotApi) -> int:
    return sum(1 for c in api.calls if _is_broadcast(c))


def _wait_for_call(api: FakeBotApi, predicate: Callable[[Call], bool], timeout: float) -> Call:
    """Poll the new calls now and then. (FakeBotApi.wait_for rescans every call each time one
    is recorded, holding the server's lock: with 20,000 calls that slows the server itself.)"""
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        calls = api.calls
        found = next((c for c in calls[seen:] if predicate(c)), None)
        if found is not None:
            return found
        seen = len(calls)
        time.sleep(0.25)
    raise TimeoutError(f"no matching call in {timeout:.0f} s")


def _wait_for_broadcast_sends(api: FakeBotApi, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    seen = sent = 0
    while sent < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} sends after {timeout:.0f} s")
        time.sleep(0.05)
        calls = api.calls
        sent += sum(1 for c in calls[seen:] if _is_broadcast(c))
        seen = len(calls)


# --- python-telegram-bot's AIORateLimiter, for comparison -------------------------------------


async def _ptb_limiter(sends: int) -> tuple[int, int, int]:
    from telegram.error import RetryAfter
    from telegram.ext import AIORateLimiter, ExtBot

    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)

    with FakeBotApi() as api:
        api.rate_limit(TELEGRAM_CEILING)
        bot = ExtBot(api.token, base_url=api.base_url, rate_limiter=AIORateLimiter())
        async with bot:

            async def send(chat_id: int) -> bool:
                try:
                    await bot.send_message(chat_id, "hello")
                    return True
                except RetryAfter:
                    return False

            results = await asyncio.gather(*(send(FIRST_FAMILY + i) for i in range(sends)))
        return api.max_sends_per_second, api.count_429, sum(1 for ok in results if not ok)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--blocked", type=float, default=0.05, help="share that blocked the bot")
    parser.add_argument("--database-url", help="PostgreSQL to use (WIPED); default: temp SQLite")
    parser.add_argument("--skip-kill", action="store_true", help="only the uninterrupted run")
    args = parser.parse_args(argv)
    _quiet_disconnects()
    print(
        f"Broadcast to {args.subscribers:,} subscribers, {args.blocked:.0%} blocked, against a "
        f"loopback Bot API server answering 429 above {TELEGRAM_CEILING} sends in any second",
        flush=True,
    )
    print(
        f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start: the rate "
        "depends on how promptly the bot's event loop runs, so a busy machine lowers it)",
        flush=True,
    )
    _, floods, refused = asyncio.run(_ptb_limiter(150))
    print(
        f"== for comparison, python-telegram-bot's AIORateLimiter with its defaults, 150 sends "
        f"at once to the same server: {floods} answered 429 ({refused} failed with RetryAfter)",
        flush=True,
    )
    runs = [("uninterrupted", False)]
    if not args.skip_kill:
        runs.append(("kill -9 midway, restarted", True))
    for title, kill in runs:
        figures = run_broadcast(title, args.subscribers, args.blocked, args.database_url, kill)
        print("\n".join(figures.lines()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
