"""First-reply latency through the whole stack: `resource-finder run` as a process, the loopback
Bot API server, long polling, search, rendering, sendMessage. Prints p50/p95/max.

    python -m benchmarks.first_reply_bench
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from botapi import FakeBotApi  # noqa: E402

QUESTIONS = [
    "dentist for my kid", "necesito comida", "help with rent", "ropa para mis hijos",
    "tutoring", "lentes", "food stamps", "clases de ingles", "light bill", "diapers",
]  # fmt: skip


def start_bot(api: FakeBotApi, database_url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **api.env(), "DATABASE_URL": database_url}
    env.pop("WEBHOOK_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def measure(rounds: int = 60, database_url: str | None = None) -> list[float]:
    with tempfile.TemporaryDirectory() as folder, FakeBotApi() as api:
        url = database_url or f"sqlite:///{folder}/bench.db"
        bot = start_bot(api, url)
        try:
            api.wait_until_polling(timeout=60)
            latencies = []
            for i in range(rounds):
                chat_id = 700000 + i
                mark = api.mark()
                started = time.perf_counter()
                api.push_message(chat_id, QUESTIONS[i % len(QUESTIONS)])
                api.wait_for(
                    lambda c, chat_id=chat_id: c.method == "sendMessage" and c.chat_id == chat_id,
                    timeout=10,
                    after_index=mark,
                )
                latencies.append((time.perf_counter() - started) * 1000)
            return latencies
        finally:
            bot.terminate()
            bot.wait(timeout=30)


def report(label: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(
        f"first reply ({label}, {len(latencies)} questions, new chat each): "
        f"p50 {statistics.median(ordered):.0f} ms, p95 {p95:.0f} ms, max {ordered[-1]:.0f} ms "
        f"(target p50 < 300 ms)"
    )


def main() -> None:
    report("SQLite", measure())
    postgres = os.environ.get("BENCH_DATABASE_URL")
    if postgres:
        report("PostgreSQL", measure(database_url=postgres))


if __name__ == "__main__":
    main()
