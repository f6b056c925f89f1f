"""The webhook server against strangers and bad days, in process on a real database: secret
before body, a size cap, header and body timeouts, 400 for what is not an update, and a
/healthz that answers in time and tells a read-only or frozen database apart."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.webhook import SECRET_HEADER, check_health, web_server
from harness import BotHarness
from knowledge.db import is_sqlite

SECRET = "s3cret-Token_123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def server(bot: BotHarness) -> AsyncIterator[int]:
    port = free_port()
    http = web_server(bot.application, SECRET, header_timeout=0.5, body_timeout=0.5)
    http.listen(port, address="127.0.0.1")
    yield port
    http.stop()


async def exchange(port: int, head: str, body: bytes = b"", wait: float = 10) -> bytes:
    """Send `head` (and `body`), then read until the server closes or answers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), wait)
    finally:
        writer.close()


def post_head(length: int, secret: str | None = SECRET) -> str:
    lines = ["POST /telegram HTTP/1.1", "Host: bot", f"Content-Length: {length}"]
    if secret is not None:
        lines.append(f"{SECRET_HEADER}: {secret}")
    return "\r\n".join(lines) + "\r\n"


async def test_the_secret_is_checked_before_the_body_is_read(server: int) -> None:
    # The headers promise half a megabyte that never comes: the answer may not wait for it.
    for secret in (None, "wrong"):
        answer = await exchange(server, post_head(500_000, secret))
        assert answer.startswith(b"HTTP/1.1 403"), answer[:40]


async def test_a_body_over_the_cap_is_refused(server: int) -> None:
    assert (await exchange(server, post_head(50_000_000))).startswith(b"HTTP/1.1 413")
    chunked = "\r\n".join(
        ["POST /telegram HTTP/1.1", "Host: bot", "Transfer-Encoding: chunked"]
        + [f"{SECRET_HEADER}: {SECRET}", ""]
    )
    chunk = b"%x\r\n" % 300_000 + b"x" * 300_000 + b"\r\n"
    answer = await exchange(server, chunked, chunk * 5)  # 1.5 MB, no length said
    assert answer.startswith((b"HTTP/1.1 413", b"HTTP/1.1 400")) or answer == b"", answer[:40]


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b'{"message": "x"}', b'{"update_id": 1, "message": "x"}', b"null", b"{", b"\xff"],
)
async def test_what_is_not_an_update_gets_400(server: int, bot: BotHarness, body: bytes) -> None:
    answer = await exchange(server, post_head(len(body)), body)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:40]
    assert bot.application.update_queue.empty()


async def test_an_update_is_taken(server: int, bot: BotHarness) -> None:
    body = json.dumps({"update_id": 5, "message": {
        "message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "hi",
    }}).encode()  # fmt: skip
    assert (await exchange(server, post_head(len(body)), body)).startswith(b"HTTP/1.1 200")
    assert (await bot.application.update_queue.get()).update_id == 5


async def test_half_open_connections_are_closed(server: int) -> None:
    assert await exchange(server, "POST /telegram HTTP/1.1\r\nHost: b") == b""  # headers stall
    answer = await exchange(server, post_head(100), b"{" * 10)  # the body stalls
    assert answer == b"" or answer.startswith(b"HTTP/1.1 4")


# --- /healthz ----------------------------------------------------------------------------------


async def health(bot: BotHarness) -> dict[str, str]:
    # An upper bound, not a measurement: the check must answer rather than hang.
    return await asyncio.wait_for(check_health(bot.application), 6)


async def test_health_reports_the_database(bot: BotHarness) -> None:
    report = await health(bot)
    assert report["database"] == "ok" and report["bot_api"] == "unknown"


async def test_a_read_only_database_is_unhealthy(bot: BotHarness, database_url: str) -> None:
    engine: AsyncEngine = bot.application.bot_data["services"].engine

    def query_only(connection: Any, _record: Any) -> None:
        connection.cursor().execute("PRAGMA query_only = ON")

    if is_sqlite(database_url):
        event.listen(engine.sync_engine, "connect", query_only)
    else:
        async with engine.connect() as connection:
            name = await connection.scalar(text("SELECT current_database()"))
            await connection.execute(
                text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            )
            await connection.commit()
    await engine.dispose()  # new connections: read-only ones
    try:
        report = await health(bot)
        assert (report["status"], report["database"]) == ("unavailable", "read-only")
    finally:
        if is_sqlite(database_url):
            event.remove(engine.sync_engine, "connect", query_only)
        else:
            async with engine.connect() as connection:
                await connection.execute(text("SET TRANSACTION READ WRITE"))
                await connection.execute(
                    text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
                )
                await connection.commit()
        await engine.dispose()
    assert (await health(bot))["database"] == "ok"


async def test_a_frozen_database_is_reported_in_time(bot: BotHarness, engine: AsyncEngine) -> None:
    async with engine.connect() as holder:  # another process holds the table
        if engine.dialect.name == "sqlite":
            await holder.execute(text("UPDATE content_version SET version = version"))
        else:
            await holder.execute(text("LOCK TABLE content_version IN ACCESS EXCLUSIVE MODE"))
        report = await health(bot)
        assert report["database"] == "unavailable"
        await holder.rollback()
    assert (await health(bot))["database"] == "ok"
