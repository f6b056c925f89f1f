"""SMS broadcast benchmark: `python -m benchmarks.sms_broadcast_bench` (part of `make bench`).

The real bot (`python -m bot run`, its own process, SMS only) sends a broadcast to 2,000
subscribed phone numbers through the loopback Twilio Messages API, paced at
SMS_RATE_PER_SECOND=10. Printed: the sustained rate against the setting (target: within 5%),
the busiest rolling second the fake saw, lost and duplicated texts. Then the same with the bot
killed (SIGKILL) midway, at a random moment, and started again.

These are figures, not tests. SQLite in a temporary folder unless --database-url is given
(a PostgreSQL database given there is WIPED first). About 3.5 minutes per broadcast.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the loopback Twilio server lives with the tests

from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from harness import reset_postgres  # noqa: E402
from jobs.outbox import BROADCAST, enqueue  # noqa: E402
from knowledge.db import create_engine, create_sessionmaker  # noqa: E402
from knowledge.migrate import upgrade_database  # noqa: E402
from knowledge.models import Chat, Delivery, DeliveryStatus, Message, SmsNumber  # noqa: E402
from knowledge.sms import chat_id_of  # noqa: E402
from twilioapi import FakeTwilio, Sms  # noqa: E402

TEXT = "Benchmark broadcast: family night is Thursday at 6 pm"
RATE = 10.0


def number(index: int) -> str:
    return f"+1555{index:07d}"


@dataclass
class Figures:
    title: str
    subscribers: int
    delivered: int
    seconds: float
    paused: float
    busiest_second: int
    lost: int
    duplicates: int
    statuses: Counter[str]

    def lines(self) -> list[str]:
        rate = self.delivered / self.seconds if self.seconds else 0.0
        off = 100 * (rate - RATE) / RATE
        out = [
            f"== {self.title}",
            f"  numbers              {self.subscribers:,}",
            f"  delivered            {self.delivered:,}",
            f"  sustained rate       {rate:.2f} texts/s over {self.seconds:.0f} s of sending "
            f"({off:+.1f}% of SMS_RATE_PER_SECOND={RATE:g}; target within 5%)",
            f"  busiest second       {self.busiest_second} texts",
        ]
        if self.paused:
            out.append(f"  restart gap          {self.paused:.1f} s (kill -9 to first send again)")
        out += [
            f"  lost                 {self.lost}",
            f"  duplicates           {self.duplicates}",
            f"  outbox rows          {dict(sorted(self.statuses.items()))}",
        ]
        return out


async def _seed(url: str, subscribers: int) -> None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            numbers = [{"id": i, "address": number(i), "opted_out": False} for i in
                       range(1, subscribers + 1)]  # fmt: skip
            chats = [
                {"id": chat_id_of(i), "language": "en", "role": "family", "subscribed": True,
                 "blocked": False}
                for i in range(1, subscribers + 1)
            ]  # fmt: skip
            for start in range(0, subscribers, 1000):
                await session.execute(insert(SmsNumber), numbers[start : start + 1000])
                await session.execute(insert(Chat), chats[start : start + 1000])
    finally:
        await engine.dispose()


async def _broadcast(url: str, subscribers: int) -> None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            recipients = [chat_id_of(i) for i in range(1, subscribers + 1)]
            await enqueue(session, kind=BROADCAST, text=TEXT, recipients=recipients)
    finally:
        await engine.dispose()


async def _outbox(url: str) -> Counter[str]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(Delivery.status)
                .join(Message, Message.id == Delivery.message_id)
                .where(Message.kind == BROADCAST)
            )
            return Counter(DeliveryStatus(s).value for s in rows)
    finally:
        await engine.dispose()


class Bot:
    def __init__(self, twilio: FakeTwilio, url: str, folder: Path) -> None:
        self.twilio, self.url, self.folder = twilio, url, folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("WEBHOOK_", "HEALTH_", "TELEGRAM_", "TWILIO_", "SMS_"))
            },
            **self.twilio.env(),
            "DATABASE_URL": self.url,
            "SMS_WEBHOOK_URL": f"http://127.0.0.1:{self.port}/sms",
            "SMS_PORT": str(self.port),
            "SMS_RATE_PER_SECOND": f"{RATE:g}",
            "WEBHOOK_LISTEN": "127.0.0.1",
            "QUIET_HOURS": "off",
            "PYTHONUNBUFFERED": "1",
        }
        log = (self.folder / f"bot-{self.runs}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=env,
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{self.port}/healthz"
                with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError("the bot did not come up")

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


def _broadcast_texts(twilio: FakeTwilio) -> list[Sms]:
    return [m for m in list(twilio.messages) if TEXT in m.body]


def _wait_for(twilio: FakeTwilio, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(_broadcast_texts(twilio)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} texts after {timeout:.0f} s")
        time.sleep(0.1)


def _busiest_second(times: list[float]) -> int:
    busiest, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest


def run_broadcast(title: str, subscribers: int, url: str | None, kill: bool) -> Figures:
    with tempfile.TemporaryDirectory(prefix="sms-bench-") as tmp, FakeTwilio() as twilio:
        folder = Path(tmp)
        if url is None:
            url = f"sqlite:///{folder / 'bench.db'}"
        elif make_url(url).get_backend_name().startswith("postgres"):
            asyncio.run(reset_postgres(url))
        upgrade_database(url)
        asyncio.run(_seed(url, subscribers))
        bot = Bot(twilio, url, folder)
        expected = subscribers / RATE
        paused = 0.0
        try:
            bot.start()
            asyncio.run(_broadcast(url, subscribers))
            if kill:
                _wait_for(twilio, subscribers // 2, timeout=expected * 3)
                time.sleep(random.uniform(0, 1.0))  # a random moment, not one between sends
                killed_at = time.monotonic()
                bot.kill()
                print(f"  (killed at {len(_broadcast_texts(twilio)):,} texts; restarting)")
                bot.start()
                _wait_for(twilio, len(_broadcast_texts(twilio)) + 1, timeout=180)
                times = [m.at for m in _broadcast_texts(twilio)]
                paused = min(t for t in times if t > killed_at) - max(
                    t for t in times if t <= killed_at
                )
            _wait_for(twilio, subscribers, timeout=expected * 3 + 120)
            time.sleep(3)  # anything sent twice would arrive by now
        finally:
            bot.stop()
        texts = _broadcast_texts(twilio)
        sends = Counter(m.to for m in texts)
        times = sorted(m.at for m in texts)
        return Figures(
            title=title,
            subscribers=subscribers,
            delivered=len(sends),
            seconds=(times[-1] - times[0] - paused) if times else 0.0,
            paused=paused,
            busiest_second=_busiest_second(times),
            lost=sum(1 for i in range(1, subscribers + 1) if sends[number(i)] == 0),
            duplicates=sum(n - 1 for n in sends.values()),
            statuses=asyncio.run(_outbox(url)),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=2_000)
    parser.add_argument("--database-url", help="PostgreSQL to use (WIPED); default: temp SQLite")
    parser.add_argument("--skip-kill", action="store_true", help="only the uninterrupted run")
    args = parser.parse_args(argv)
    print(
        f"SMS broadcast to {args.subscribers:,} numbers at SMS_RATE_PER_SECOND={RATE:g}, "
        f"through the loopback Twilio Messages API ({os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at start)",
        flush=True,
    )
    runs = [("uninterrupted", False)]
    if not args.skip_kill:
        runs.append(("kill -9 midway, restarted", True))
    for title, kill in runs:
        figures = run_broadcast(title, args.subscribers, args.database_url, kill)
        print("\n".join(figures.lines()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
