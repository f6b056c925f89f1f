"""Signed, expiring links to files the bot serves on its SMS port (a text cannot carry a DOCX
or an .ics): ``{base}/files/<id>/<expires>/<signature>/<name>``.

The signature is an HMAC of the file id and the expiry under a key derived from the Twilio
auth token, so a link cannot be guessed, extended or pointed at another file; the file itself
lives in the database (knowledge.sms.store_file) until it expires.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

FILES_PATH = "/files"
FILE_ROUTE = r"/files/(\d{1,12})/(\d{1,12})/([0-9a-f]{32})/[^/]{1,200}"


class LinkSigner:
    def __init__(self, secret: str, public_url: str) -> None:
        self._key = hmac.new(secret.encode(), b"resource-finder file links", "sha256").digest()
        parts = urlsplit(public_url)
        self.base = f"{parts.scheme}://{parts.netloc}"

    def _signature(self, file_id: int, expires: int) -> str:
        message = f"{file_id}:{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def url(self, file_id: int, name: str, expires_at: datetime) -> str:
        expires = int(expires_at.timestamp())
        signature = self._signature(file_id, expires)
        return f"{self.base}{FILES_PATH}/{file_id}/{expires}/{signature}/{quote(name)}"

    def valid(self, file_id: int, expires: int, signature: str, now: datetime) -> bool:
        if expires < now.astimezone(UTC).timestamp():
            return False
        return hmac.compare_digest(signature, self._signature(file_id, expires))
