"""Chats the bot talks to: language, role, subscription; and forgetting them completely."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.followups import forget_follow_ups
from knowledge.listing_reports import forget_reporter
from knowledge.models import (
    Chat,
    Delivery,
    Event,
    Handoff,
    HandoffCopy,
    Invitation,
    ListingChange,
    ListingCheck,
    Message,
    PartnerLink,
    Role,
    Rsvp,
)
from knowledge.sms import forget_number
from knowledge.survey_answers import forget_surveys


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


async def follow_language(session: AsyncSession, chat_id: int, language: str) -> None:
    """The chat wrote in `language`: a stored chat keeps talking in it (none is created)."""
    chat = await session.get(Chat, chat_id)
    if chat is not None:
        chat.language = language


async def forget_chat(session: AsyncSession, chat_id: int) -> None:
    """Delete every row about this chat, in every table that names it."""
    handoffs = select(Handoff.id).where(Handoff.chat_id == chat_id)
    await session.execute(delete(HandoffCopy).where(HandoffCopy.handoff_id.in_(handoffs)))
    await session.execute(delete(HandoffCopy).where(HandoffCopy.coordinator_chat_id == chat_id))
    await session.execute(delete(Handoff).where(Handoff.chat_id == chat_id))
    await session.execute(
        delete(Invitation).where(
            (Invitation.created_by == chat_id) | (Invitation.used_by == chat_id)
        )
    )
    await session.execute(delete(Rsvp).where(Rsvp.chat_id == chat_id))
    # What a coordinator published stays for the families; only the link to them goes.
    await session.execute(
        update(Message).where(Message.created_by == chat_id).values(created_by=None)
    )
    await session.execute(
        update(Message)
        .where(Message.progress_chat_id == chat_id)
        .values(progress_chat_id=None, progress_message_id=None)
    )
    await session.execute(update(Event).where(Event.created_by == chat_id).values(created_by=None))
    await session.execute(delete(Delivery).where(Delivery.chat_id == chat_id))
    # Check-ins, their answers and the opt-out; reports keep only the listing's side.
    await forget_follow_ups(session, chat_id)
    await forget_reporter(session, chat_id)
    await session.execute(
        update(ListingChange).where(ListingChange.changed_by == chat_id).values(changed_by=None)
    )
    # A partner's link to its organization, and a value it was typing; its changes stay above.
    await session.execute(delete(PartnerLink).where(PartnerLink.chat_id == chat_id))
    await session.execute(
        update(ListingCheck)
        .where(ListingCheck.editing_by == chat_id)
        .values(editing_by=None, editing_field=None)
    )
    await forget_surveys(session, chat_id)  # unfinished ones: finished answers name no one
    await session.execute(delete(Chat).where(Chat.id == chat_id))
    await forget_number(session, chat_id)  # a text-message chat: the phone number too
