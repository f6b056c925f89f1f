"""A database outage under the running bot: each kind of error is logged once, not every second.

The bot reaches PostgreSQL through a loopback TCP relay that the test cuts, as a network
outage or a crashed database server would. (SQLite is in the process: it cannot go away
under it; the once-a-minute rule itself is tested in tests/test_log_repeats.py.)
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from sqlalchemy.engine import make_url

from botapi import FakeBotApi
from knowledge.db import is_sqlite


class Relay:
    """Forwards 127.0.0.1:<port> to the database until `cut()`."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.sockets: list[socket.socket] = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.open:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.open = False
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def test_an_outage_is_logged_once_per_kind_not_every_second(database_url: str) -> None:
    if is_sqlite(database_url):
        pytest.skip("SQLite lives in the process; a network outage needs PostgreSQL")
    url = make_url(database_url)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    with FakeBotApi() as api:
        env = {**os.environ, **api.env(), "DATABASE_URL": proxied}
        env.pop("WEBHOOK_URL", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            api.wait_until_polling(timeout=60)
            relay.cut()
            time.sleep(8)  # the housekeeping loops look every second or so
            api.push_message(62, "dentist")  # a family writes meanwhile
            time.sleep(2)
            process.send_signal(signal.SIGTERM)
            try:
                _, log = process.communicate(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                _, log = process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    failures = Counter(kinds_of_failure(log))
    assert failures, "the outage was not logged at all"
    assert max(failures.values()) == 1, failures.most_common(3)


def kinds_of_failure(log: str) -> list[tuple[str, str]]:
    """(message, exception type) of each WARNING or ERROR line; counts in a message ignored."""
    kinds = []
    for block in re.split(r"\n(?=\d{4}-\d\d-\d\d )", log):
        head = re.match(r"^\S+ \S+ (?:WARNING|ERROR) (.*)", block)
        if head is None:
            continue
        message = re.sub(r"\d+", "N", head.group(1))
        types = re.findall(r"^(\w+)(?: \(table \w+\))?: \(message withheld", block, re.M)
        kinds.append((message, types[-1] if types else ""))
    return kinds
