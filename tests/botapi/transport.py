"""HTTP for the fake: a keep-alive server on 127.0.0.1 and request decoding.

Requests come as a query string, JSON, a urlencoded form or multipart/form-data
(uploads), like python-telegram-bot sends them; each is handed to
:meth:`FakeBotApi._handle_http`.
"""

from __future__ import annotations

import json
import re
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .calls import JSON, bad

if TYPE_CHECKING:
    from .server import FakeBotApi

# Form fields kept as strings; every other form field is JSON-decoded, because
# python-telegram-bot sends non-string values (ints, bools, objects) JSON-encoded.
_STRING_FIELDS = frozenset(
    "text caption parse_mode title address foursquare_id foursquare_type "
    "google_place_id google_place_type callback_query_id inline_query_id url "
    "inline_message_id next_offset secret_token ip_address action "
    "business_connection_id message_effect_id language_code document photo "
    "thumbnail emoji query description short_description name switch_pm_text "
    "switch_pm_parameter file_id".split()
)

# The answer _serve cuts short: a success whose body does not parse (see garble_next).
GARBLED: JSON = {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects
    timeout = 300  # idle keep-alive connections eventually close
    server: Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus
        # delayed ACKs add ~40 ms to every call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        self._serve()

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        body = self._read_body()
        status, payload = self.server.api._handle_http(
            self.path, self.headers.get("Content-Type", ""), body, self._client_gone
        )
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        if payload is GARBLED:
            data = b'{"ok":true,"result":{"message_id":'
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. a cancelled long poll); Telegram doesn't care either

    def _client_gone(self) -> bool:
        """True if the client closed the connection (readable with nothing to read)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # keep test output clean; every call is in FakeBotApi.calls


class Server(ThreadingHTTPServer):
    """The HTTP server; ``api`` (set by :meth:`FakeBotApi.start`) answers every request."""

    daemon_threads = True
    # The default backlog of 5 drops connection attempts when the bot opens many at once, and
    # each dropped SYN costs a one-second retransmit: that would be the fake's delay, not the bot's.
    request_queue_size = 256
    api: FakeBotApi

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        # Open keep-alive connections, so stop() can cut them: otherwise their handler
        # threads would keep answering the bot after the fake was stopped.
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self.connections_lock:
            for connection in self.connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    """Split multipart/form-data into text fields and (filename, mime, bytes) files."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise bad("can't parse multipart/form-data: no boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'(?:^|;)\s*name="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name is None:
            continue
        if filename is not None:
            mime = headers.get("content-type", "application/octet-stream")
            files[name.group(1)] = (filename.group(1), mime, content)
        else:
            fields[name.group(1)] = content.decode("utf-8")
    return fields, files


def _decode_field(name: str, raw: str) -> Any:
    if name in _STRING_FIELDS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_params(
    content_type: str, body: bytes, query: str
) -> tuple[JSON, dict[str, tuple[str, str, bytes]]]:
    """A request's parameters, and its uploads as (filename, mime, bytes) by field name."""
    params: JSON = {k: _decode_field(k, v) for k, v in parse_qsl(query)}
    raw_files: dict[str, tuple[str, str, bytes]] = {}
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json" and body:
        try:
            decoded = json.loads(body)
        except ValueError:
            raise bad("can't parse JSON object") from None
        if not isinstance(decoded, dict):
            raise bad("JSON object expected")
        params.update(decoded)
    elif kind == "multipart/form-data":
        fields, raw_files = _parse_multipart(content_type, body)
        params.update({k: _decode_field(k, v) for k, v in fields.items()})
    elif body:
        form = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        params.update({k: _decode_field(k, v) for k, v in form})
    return params, raw_files
