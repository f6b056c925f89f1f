"""Text messages (SMS through Twilio; WhatsApp the same way later)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from knowledge.models.base import Base, UTCDateTime, utcnow


class SmsNumber(Base):
    """A phone number that texted the bot. Its chat id is `knowledge.sms.chat_id_of(id)`, in a
    range no Telegram id reaches, so the same handlers, roles and outbox serve it. The number
    is kept only to reply and deliver; FORGET deletes the row (knowledge.sms.forget_number)."""

    __tablename__ = "sms_number"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # E.164 ("+15551234567"); a WhatsApp sender would be "whatsapp:+15551234567".
    address: Mapped[str] = mapped_column(String(48), unique=True)
    # Said STOP (or a carrier refused it): nothing is sent until START.
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last text from it (retention; WhatsApp's 24-hour reply window).
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsChoice(Base):
    """A numbered choice offered to a number ("2", "M", "YES"): what replying it presses.
    Kept in the database, so a reply still works after a restart."""

    __tablename__ = "sms_choice"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(16), primary_key=True)
    data: Mapped[str] = mapped_column(String(128))  # the button's callback data
    message_id: Mapped[int] = mapped_column(BigInteger)  # the message the button was on
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsSearch(Base):
    """A number's last search (what "M" pages through), so "M" works after a restart. It holds
    the question with the number, so it goes after a day, at FORGET and at STOP."""

    __tablename__ = "sms_search"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(Text)  # JSON: text or need, place, page
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsSending(Base):
    """A text handed to Twilio whose answer is not in yet (body digest, no number, no text).
    Left behind by a crash or a timeout, it makes the next send of the same text to the same
    number ask Twilio first whether it went, so a restart does not text anyone twice."""

    __tablename__ = "sms_sending"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsInbound(Base):
    """Twilio's id of a text already taken in, so a retried webhook is answered once. No
    number and no text: only the id and when."""

    __tablename__ = "sms_inbound"

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SmsFile(Base):
    """A file the bot sent as a link instead of an attachment (a material, an event's .ics):
    served on the SMS port under a signed link until `expires_at`."""

    __tablename__ = "sms_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # one row per distinct file
    name: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
