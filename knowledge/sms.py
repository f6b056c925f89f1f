"""Phone numbers as chats: the number's chat id, opting out and in, the numbered choices a
reply presses, incoming ids seen, and files served as links. No Telegram, no Twilio here.

A number texting the bot gets a row in `sms_number`; its chat id is `SMS_CHAT_BASE + row id`.
Telegram's ids fit in 52 bits, so every id at or above 2**53 is a text-message chat, and the
handlers, roles, subscriptions and outbox treat it like any other chat. FORGET deletes the row:
texting again later starts a new chat id, linked to nothing before.

The session is the caller's; nothing here commits.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.models import (
    Chat,
    Delivery,
    SmsChoice,
    SmsFile,
    SmsInbound,
    SmsNumber,
    SmsSearch,
    SmsSending,
    utcnow,
)

if TYPE_CHECKING:
    from knowledge.calendar import QuietHours

SMS_CHAT_BASE = 2**53
WHATSAPP_PREFIX = "whatsapp:"
INBOUND_KEEP = timedelta(days=2)  # Twilio retries a webhook for minutes, not days
CHOICE_KEEP = timedelta(days=30)
SEARCH_KEEP = timedelta(days=1)
SENDING_KEEP = timedelta(days=1)  # an outcome still unknown after a day is not worth asking
# A number that only asked questions (no subscription, no language chosen) is dropped this
# long after its last text: it was kept only to answer.
IDLE_NUMBER_KEEP = timedelta(days=30)

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def is_sms_chat(chat_id: int) -> bool:
    return chat_id >= SMS_CHAT_BASE


def chat_id_of(number_id: int) -> int:
    return SMS_CHAT_BASE + number_id


def number_id_of(chat_id: int) -> int:
    return chat_id - SMS_CHAT_BASE


def normalize_address(address: str) -> str | None:
    """ "+1 (555) 123-4567" -> "+15551234567"; "whatsapp:+1555…" keeps its prefix; None if it
    is not an E.164 number (Twilio always sends E.164; anything else is not a phone)."""
    prefix = WHATSAPP_PREFIX if address.lower().startswith(WHATSAPP_PREFIX) else ""
    digits = re.sub(r"[\s().-]", "", address[len(prefix) :])
    return prefix + digits if _E164.match(digits) else None


def mask(address: str) -> str:
    """What logs may show of a number: never the number itself."""
    digest = hashlib.sha256(address.encode()).hexdigest()[:8]
    return f"number#{digest}"


@dataclass(frozen=True, slots=True)
class Number:
    chat_id: int
    address: str
    opted_out: bool


def _number(row: SmsNumber) -> Number:
    return Number(chat_id_of(row.id), row.address, row.opted_out)


async def number_for_address(session: AsyncSession, address: str) -> Number:
    """The number's chat (made on its first text), its last text marked now."""
    row = await session.scalar(select(SmsNumber).where(SmsNumber.address == address))
    if row is None:
        try:
            async with session.begin_nested():
                row = SmsNumber(address=address, opted_out=False)
                session.add(row)
        except IntegrityError:  # two texts from a new number at once: the other one made it
            row = await session.scalar(select(SmsNumber).where(SmsNumber.address == address))
            assert row is not None
    row.last_seen_at = utcnow()
    await session.flush()
    return _number(row)


async def number_of_chat(session: AsyncSession, chat_id: int) -> Number | None:
    if not is_sms_chat(chat_id):
        return None
    row = await session.get(SmsNumber, number_id_of(chat_id))
    return _number(row) if row is not None else None


async def set_opted_out(session: AsyncSession, chat_id: int, opted_out: bool) -> None:
    """STOP: nothing more is sent, subscriptions end. START: texts may be sent again (the
    number subscribes again with JOIN, as the rules want an explicit opt-in)."""
    await session.execute(
        update(SmsNumber)
        .where(SmsNumber.id == number_id_of(chat_id))
        .values(opted_out=opted_out)
        .execution_options(synchronize_session=False)
    )
    if opted_out:
        await session.execute(
            update(Chat)
            .where(Chat.id == chat_id)
            .values(subscribed=False)
            .execution_options(synchronize_session=False)
        )
        await session.execute(delete(SmsChoice).where(SmsChoice.chat_id == chat_id))
        await session.execute(delete(SmsSearch).where(SmsSearch.chat_id == chat_id))


async def first_time_seen(session: AsyncSession, message_sid: str) -> bool:
    """Record an incoming text's id; False if it was taken in before (a retried webhook)."""
    if await session.get(SmsInbound, message_sid) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(SmsInbound(message_sid=message_sid))
    except IntegrityError:
        return False
    return True


def texts_in_quiet_hours(
    quiet_hours: QuietHours, zone: ZoneInfo
) -> Callable[[], ColumnElement[bool] | None]:
    """For the outbox: during quiet hours (local time), the rows for numbers wait. Texts are
    not sent at night (carriers' and TCPA's expectations); a reply to a family who just wrote
    is not an outbox row and always goes."""

    def held() -> ColumnElement[bool] | None:
        local = utcnow().astimezone(zone).time()
        return Delivery.chat_id >= SMS_CHAT_BASE if quiet_hours.contains(local) else None

    return held


# --- texts whose outcome is unknown --------------------------------------------------------------


def text_digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


async def unsettled_send(session: AsyncSession, chat_id: int, digest: str) -> datetime | None:
    """When a send of this text to this number started without its answer being recorded."""
    row = await session.get(SmsSending, (chat_id, digest))
    return row.started_at if row is not None else None


async def start_send(session: AsyncSession, chat_id: int, digest: str) -> None:
    row = await session.get(SmsSending, (chat_id, digest))
    if row is None:
        session.add(SmsSending(chat_id=chat_id, digest=digest))
    else:
        row.started_at = utcnow()
    await session.flush()


async def settle_send(session: AsyncSession, chat_id: int, digest: str) -> None:
    await session.execute(
        delete(SmsSending).where(SmsSending.chat_id == chat_id, SmsSending.digest == digest)
    )


# --- numbered choices --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredChoice:
    key: str
    data: str
    message_id: int


def is_positional(key: str) -> bool:
    """ "1", "2"… and "M": a list's items and its next page. A new list replaces the last
    one's; "0" and words like "YES" are replaced only by the same key, so answering an
    invitation still works after a search."""
    return (key.isdigit() and key != "0") or key == "M"


async def save_choices(
    session: AsyncSession, chat_id: int, choices: Iterable[tuple[str, str]], message_id: int
) -> None:
    """Offer (key, callback data) pairs to this chat as the current choices."""
    pairs = list(dict(choices).items())
    if not pairs:
        return
    stale = {key for key, _ in pairs}
    if any(is_positional(key) for key in stale):
        offered = await session.scalars(select(SmsChoice.key).where(SmsChoice.chat_id == chat_id))
        stale |= {key for key in offered if is_positional(key)}
    await session.execute(
        delete(SmsChoice).where(SmsChoice.chat_id == chat_id, SmsChoice.key.in_(stale))
    )
    now = utcnow()
    session.add_all(
        SmsChoice(chat_id=chat_id, key=key, data=data[:128], message_id=message_id, created_at=now)
        for key, data in pairs
    )
    await session.flush()


async def choice_for(session: AsyncSession, chat_id: int, key: str) -> StoredChoice | None:
    row = await session.get(SmsChoice, (chat_id, key))
    if row is None or row.created_at < utcnow() - CHOICE_KEEP:
        return None
    return StoredChoice(row.key, row.data, row.message_id)


# --- the last search ("M" for more) --------------------------------------------------------------


async def save_search(session: AsyncSession, chat_id: int, state: dict[str, Any]) -> None:
    row = await session.get(SmsSearch, chat_id)
    if row is None:
        session.add(SmsSearch(chat_id=chat_id, state=json.dumps(state)))
    else:
        row.state, row.saved_at = json.dumps(state), utcnow()
    await session.flush()


async def last_search(session: AsyncSession, chat_id: int) -> dict[str, Any] | None:
    row = await session.get(SmsSearch, chat_id)
    if row is None or row.saved_at < utcnow() - SEARCH_KEEP:
        return None
    state = json.loads(row.state)
    return state if isinstance(state, dict) else None


# --- files served as links ---------------------------------------------------------------------


async def store_file(session: AsyncSession, name: str, content: bytes, keep: timedelta) -> SmsFile:
    """The file's row (one per distinct name and content), kept at least `keep` from now."""
    digest = hashlib.sha256(name.encode() + b"\0" + content).hexdigest()
    expires = utcnow() + keep
    row = await session.scalar(select(SmsFile).where(SmsFile.digest == digest))
    if row is None:
        try:
            async with session.begin_nested():
                row = SmsFile(digest=digest, name=name[:200], content=content, expires_at=expires)
                session.add(row)
        except IntegrityError:
            row = await session.scalar(select(SmsFile).where(SmsFile.digest == digest))
            assert row is not None
    row.expires_at = max(row.expires_at, expires)
    await session.flush()
    return row


async def stored_file(session: AsyncSession, file_id: int, now: datetime) -> SmsFile | None:
    row = await session.get(SmsFile, file_id)
    return row if row is not None and row.expires_at > now else None


# --- privacy -----------------------------------------------------------------------------------


async def forget_number(session: AsyncSession, chat_id: int) -> None:
    """FORGET (and /forget from a number): the number itself and its choices go."""
    if not is_sms_chat(chat_id):
        return
    await session.execute(delete(SmsChoice).where(SmsChoice.chat_id == chat_id))
    await session.execute(delete(SmsSearch).where(SmsSearch.chat_id == chat_id))
    await session.execute(delete(SmsSending).where(SmsSending.chat_id == chat_id))
    await session.execute(delete(SmsNumber).where(SmsNumber.id == number_id_of(chat_id)))


async def purge_expired_sms(session: AsyncSession, now: datetime) -> dict[str, int]:
    """Retention (PRIVACY.md): incoming ids after two days, old choices, expired files, and
    numbers that only asked questions a month after their last text."""
    removed: dict[str, int] = {}

    async def run(name: str, statement) -> None:  # type: ignore[no-untyped-def]
        result = await session.execute(statement)
        removed[name] = result.rowcount or 0  # type: ignore[attr-defined]

    await run("sms_inbound", delete(SmsInbound).where(SmsInbound.received_at < now - INBOUND_KEEP))
    await run("sms_choice", delete(SmsChoice).where(SmsChoice.created_at < now - CHOICE_KEEP))
    await run("sms_file", delete(SmsFile).where(SmsFile.expires_at < now))
    await run("sms_search", delete(SmsSearch).where(SmsSearch.saved_at < now - SEARCH_KEEP))
    await run("sms_sending", delete(SmsSending).where(SmsSending.started_at < now - SENDING_KEEP))
    # A number with a chat row (subscribed, a language chosen, an RSVP) stays until FORGET;
    # one that only asked questions goes a month after its last text.
    with_chat = select(Chat.id - SMS_CHAT_BASE).where(Chat.id >= SMS_CHAT_BASE)
    idle = list(
        await session.scalars(
            select(SmsNumber.id).where(
                SmsNumber.last_seen_at < now - IDLE_NUMBER_KEEP, SmsNumber.id.not_in(with_chat)
            )
        )
    )
    if idle:
        chats = [chat_id_of(number_id) for number_id in idle]
        await session.execute(delete(SmsChoice).where(SmsChoice.chat_id.in_(chats)))
        await session.execute(delete(SmsSearch).where(SmsSearch.chat_id.in_(chats)))
    await run("sms_number", delete(SmsNumber).where(SmsNumber.id.in_(idle)))
    return removed
