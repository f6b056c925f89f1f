"""Chats the bot talks to: language, role, subscription; and forgetting them completely."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.models import Chat, Delivery, Role, Rsvp


async def get_chat(
    session: AsyncSession,
    chat_id: int,
    language: str = "en",
    coordinator_ids: frozenset[int] = frozenset(),
) -> Chat:
    """The chat's row, created on first contact (coordinators from COORDINATOR_IDS)."""
    chat = await session.get(Chat, chat_id)
    if chat is None:
        role = Role.COORDINATOR if chat_id in coordinator_ids else Role.FAMILY
        chat = Chat(id=chat_id, language=language, role=role, subscribed=False, blocked=False)
        session.add(chat)
        await session.flush()
    elif chat_id in coordinator_ids and chat.role != Role.COORDINATOR:
        chat.role = Role.COORDINATOR
    return chat


async def forget_chat(session: AsyncSession, chat_id: int) -> None:
    """Delete every row about this chat, in every table that names it."""
    await session.execute(delete(Rsvp).where(Rsvp.chat_id == chat_id))
    await session.execute(delete(Delivery).where(Delivery.chat_id == chat_id))
    await session.execute(delete(Chat).where(Chat.id == chat_id))
