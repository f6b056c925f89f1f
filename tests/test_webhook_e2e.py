"""The webhook deployment: secret checked, health endpoint, graceful stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.local_chat import message_update
from botapi import FakeBotApi

SECRET = "s3cret-Token_123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(port: int, payload: dict, secret: str | None) -> int:  # type: ignore[type-arg]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/telegram",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"}
        | ({"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


@pytest.fixture
def webhook_bot(
    database_url: str, tmp_path: Path
) -> Iterator[tuple[FakeBotApi, int, subprocess.Popen[str]]]:
    port = free_port()
    with FakeBotApi() as api:
        env = {
            **os.environ,
            **api.env(),
            "DATABASE_URL": database_url,
            "WEBHOOK_URL": "https://bot.example.invalid/",
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN": "127.0.0.1",
            "WEBHOOK_PORT": str(port),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 60
            while health(port) != 200:
                assert process.poll() is None, process.stderr.read()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "the webhook server did not come up"
                time.sleep(0.2)
            yield api, port, process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


def test_webhook_is_registered_with_the_secret(webhook_bot) -> None:  # type: ignore[no-untyped-def]
    api, _, _ = webhook_bot
    registration = api.calls_to("setWebhook")[-1]
    assert registration.params["url"] == "https://bot.example.invalid/telegram"
    assert registration.params["secret_token"] == SECRET


def test_requests_without_the_right_secret_are_refused(webhook_bot) -> None:  # type: ignore[no-untyped-def]
    api, port, _ = webhook_bot
    assert post(port, message_update(31, "dentist"), None) == 403
    assert post(port, message_update(31, "dentist"), "wrong") == 403
    assert post(port, {"not": "an update"}, SECRET) == 400
    time.sleep(0.5)
    assert api.sent_to(31) == []


def test_an_update_with_the_secret_is_answered(webhook_bot) -> None:  # type: ignore[no-untyped-def]
    api, port, _ = webhook_bot
    assert post(port, message_update(32, "dentist"), SECRET) == 200
    reply = api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == 32, timeout=20)
    assert "Dental" in (reply.text or "")


def test_sigterm_finishes_updates_in_flight_and_exits_cleanly(webhook_bot) -> None:  # type: ignore[no-untyped-def]
    api, port, process = webhook_bot
    for chat in range(40, 45):
        assert post(port, message_update(chat, "food pantry"), SECRET) == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    answered = {c.chat_id for c in api.calls_to("sendMessage")}
    assert set(range(40, 45)) <= answered


def test_long_polling_serves_health_when_asked(database_url: str) -> None:
    port = free_port()
    with FakeBotApi() as api:
        env = {**os.environ, **api.env(), "DATABASE_URL": database_url, "HEALTH_PORT": str(port)}
        env.pop("WEBHOOK_URL", None)
        process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env)
        try:
            api.wait_until_polling(timeout=60)
            assert health(port) == 200
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()


def wait_for_health(port: int, wanted: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while health(port) != wanted:
        assert time.monotonic() < deadline, f"/healthz never answered {wanted}"
        time.sleep(0.2)


def test_health_is_503_while_get_updates_fails_and_recovers(database_url: str) -> None:
    port = free_port()
    with FakeBotApi() as api:
        env = {**os.environ, **api.env(), "DATABASE_URL": database_url, "HEALTH_PORT": str(port)}
        env.pop("WEBHOOK_URL", None)
        process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env)
        try:
            api.wait_until_polling(timeout=60)
            wait_for_health(port, 200, 30)
            for _ in range(4):
                api.fail_next("getUpdates", 502)
            api.push_message(61, "hello")  # ends the long poll waiting now
            wait_for_health(port, 503, 60)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                pytest.fail(f"healthy while getUpdates fails: {answer.read()!r}")
        except urllib.error.HTTPError as error:
            assert json.loads(error.read())["bot_api"] == "failing"
            wait_for_health(port, 200, 90)  # the failures end; so does the alarm
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
