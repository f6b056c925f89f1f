"""Ask a person: a family's question goes to the coordinators, and a reply finds the family.

The family's chat id stays here, server-side: coordinators only see the question and its
language. Each coordinator message that carries a question is recorded (`HandoffCopy`), so a
reply to that message leads back to the handoff, and from there to the family.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.chats import get_chat
from knowledge.models import Chat, Handoff, HandoffCopy, Role, utcnow
from knowledge.text import clean_text

MAX_QUESTION_CHARACTERS = 3000


@dataclass(frozen=True, slots=True)
class Coordinator:
    chat_id: int
    language: str


async def coordinators(
    session: AsyncSession, configured_ids: Iterable[int] = ()
) -> list[Coordinator]:
    """Who answers questions: chats with the coordinator role, plus COORDINATOR_IDS."""
    rows = (
        await session.execute(
            select(Chat.id, Chat.language).where(
                Chat.role == Role.COORDINATOR, Chat.blocked.is_(False)
            )
        )
    ).all()
    found = {chat_id: language for chat_id, language in rows}
    for chat_id in configured_ids:
        found.setdefault(chat_id, "en")
    return [Coordinator(chat_id, found[chat_id]) for chat_id in sorted(found)]


async def create_handoff(
    session: AsyncSession, chat_id: int, question: str, language: str
) -> Handoff:
    """Store the family's question (trimmed) before it is sent to anyone."""
    await get_chat(session, chat_id, language)  # the answer must find its way back to this chat
    handoff = Handoff(
        chat_id=chat_id,
        question=clean_text(question).strip()[:MAX_QUESTION_CHARACTERS],
        language=language,
    )
    session.add(handoff)
    await session.flush()
    return handoff


async def record_copy(
    session: AsyncSession, handoff_id: int, coordinator_chat_id: int, message_id: int
) -> None:
    """Remember that this coordinator message carries the handoff."""
    session.add(
        HandoffCopy(
            handoff_id=handoff_id, coordinator_chat_id=coordinator_chat_id, message_id=message_id
        )
    )
    await session.flush()


async def discard_handoff(session: AsyncSession, handoff_id: int) -> None:
    """Drop a handoff no coordinator received."""
    await session.execute(delete(Handoff).where(Handoff.id == handoff_id))


async def handoff_for_reply(
    session: AsyncSession, coordinator_chat_id: int, message_id: int
) -> Handoff | None:
    """The handoff a coordinator's reply is about, or None if that message carries none."""
    return await session.scalar(
        select(Handoff)
        .join(HandoffCopy, HandoffCopy.handoff_id == Handoff.id)
        .where(
            HandoffCopy.coordinator_chat_id == coordinator_chat_id,
            HandoffCopy.message_id == message_id,
        )
    )


async def mark_answered(
    session: AsyncSession, handoff_id: int, when: datetime | None = None
) -> bool:
    """Record when the family got an answer; False if it had been answered before (or is gone)."""
    handoff = await session.get(Handoff, handoff_id)
    if handoff is None or handoff.answered_at is not None:
        return False
    handoff.answered_at = when or utcnow()
    await session.flush()
    return True
