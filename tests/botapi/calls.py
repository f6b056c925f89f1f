"""What the fake records and answers: the bot's calls, its files, error answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

# Descriptions for error codes injected without one (fail_next, outage).
DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class ApiError(Exception):
    """An error answer: HTTP status == ``error_code``, as Telegram does."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded (multipart) or referenced by file_id/URL."""

    field: str
    file_name: str
    mime_type: str
    data: bytes
    file_id: str
    file_unique_id: str

    @property
    def text(self) -> str:
        """The content decoded as UTF-8 (for CSV/text exports)."""
        return self.data.decode("utf-8")


@dataclass
class Call:
    """One request the bot made, with what the fake answered."""

    index: int
    method: str
    params: JSON
    time: float
    ok: bool
    result: Any = None
    error_code: int | None = None
    description: str | None = None
    files: dict[str, UploadedFile] = field(default_factory=dict)
    # True when the client had already hung up, e.g. the long poll python-telegram-bot
    # cancels on shutdown, which its final getUpdates then terminates with 409.
    client_gone: bool = False

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        """Text as the bot sent it (with HTML markup, if any)."""
        return self.params.get("text")

    @property
    def caption(self) -> str | None:
        return self.params.get("caption")

    @property
    def reply_markup(self) -> JSON | None:
        """The reply_markup as sent: inline, reply keyboard, remove or force-reply."""
        return self.params.get("reply_markup")

    @property
    def message(self) -> JSON | None:
        """The Message the fake returned, if the result was one."""
        return (
            self.result if isinstance(self.result, dict) and "message_id" in self.result else None
        )

    @property
    def message_id(self) -> int | None:
        if isinstance(self.result, dict):
            return self.result.get("message_id")
        return None

    @property
    def document(self) -> UploadedFile | None:
        return self.files.get("document")

    @property
    def photo(self) -> UploadedFile | None:
        return self.files.get("photo")

    @property
    def buttons(self) -> list[JSON]:
        """Inline keyboard buttons, flattened row by row (empty for other markups)."""
        markup = self.reply_markup
        rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
        return [button for row in rows for button in row]

    @property
    def button_labels(self) -> list[str]:
        return [button.get("text", "") for button in self.buttons]

    def __repr__(self) -> str:
        status = "ok" if self.ok else f"{self.error_code} {self.description}"
        if self.client_gone:
            status += " (client gone)"
        shown = {k: v for k, v in self.params.items() if k in ("chat_id", "text", "caption")}
        return f"<Call #{self.index} {self.method} {shown} -> {status}>"
