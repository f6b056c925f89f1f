"""Who gets announcements and reminders: subscribing, narrowing to one school, the audience.

A school is a directory location that
  1. has "school" (or "escuela") in its name, e.g. Lincoln Elementary Community School, or
  2. offers, through service_at_location, a service tagged with the taxonomy term "school"
     (a term whose name or code is "school", any case).
Nothing else: the rule is meant to be read here, not discovered.

The session is the caller's; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.chats import get_chat
from knowledge.models import Attribute, Chat, Location, ServiceAtLocation, TaxonomyTerm

SCHOOL_WORDS = ("school", "escuela")
SCHOOL_TERM = "school"


@dataclass(frozen=True, slots=True)
class School:
    id: str  # the HSDS location id, as Chat.school_id and Message.school_id hold it
    name: str


async def schools(session: AsyncSession) -> list[School]:
    """Every school in the directory (see the module docstring), by name."""
    named = or_(*(func.lower(Location.name).contains(word) for word in SCHOOL_WORDS))
    tagged_services = (
        select(Attribute.link_id)
        .join(TaxonomyTerm, TaxonomyTerm.id == Attribute.taxonomy_term_id)
        .where(
            or_(Attribute.link_entity.is_(None), Attribute.link_entity == "service"),
            or_(
                func.lower(TaxonomyTerm.name) == SCHOOL_TERM,
                func.lower(TaxonomyTerm.code) == SCHOOL_TERM,
            ),
        )
    )
    tagged = Location.id.in_(
        select(ServiceAtLocation.location_id).where(
            ServiceAtLocation.service_id.in_(tagged_services)
        )
    )
    rows = await session.execute(
        select(Location.id, Location.name, Location.alternate_name)
        .where(or_(named, tagged))
        .order_by(Location.name, Location.id)
    )
    return [School(id_, name or alternate or id_) for id_, name, alternate in rows]


async def school(session: AsyncSession, school_id: str) -> School | None:
    return next((s for s in await schools(session) if s.id == school_id), None)


async def subscribe(
    session: AsyncSession,
    chat_id: int,
    *,
    language: str = "en",
    coordinator_ids: frozenset[int] = frozenset(),
) -> Chat:
    """Opt the chat in (again); its row is made now if it had none (in `language`, the one
    its announcements and reminders will be written in). A chat that writes to us has
    unblocked us, so that flag is cleared."""
    chat = await get_chat(session, chat_id, language, coordinator_ids)
    chat.subscribed = True
    chat.blocked = False
    await session.flush()
    return chat


async def unsubscribe(session: AsyncSession, chat_id: int) -> bool:
    """Opt the chat out; False if it was not subscribed."""
    chat = await session.get(Chat, chat_id)
    if chat is None or not chat.subscribed:
        return False
    chat.subscribed = False
    await session.flush()
    return True


async def choose_school(
    session: AsyncSession,
    chat_id: int,
    school_id: str | None,
    *,
    language: str = "en",
    coordinator_ids: frozenset[int] = frozenset(),
) -> Chat:
    """Narrow a subscription to one school (None: every school); subscribes if needed."""
    chat = await subscribe(session, chat_id, language=language, coordinator_ids=coordinator_ids)
    chat.school_id = school_id
    await session.flush()
    return chat


def _audience(school_id: str | None):  # type: ignore[no-untyped-def]
    """Reachable subscribers of a message for `school_id` (None: a message for every school).

    A chat narrowed to one school hears that school's messages and the all-school ones.
    """
    condition = and_(Chat.subscribed.is_(True), Chat.blocked.is_(False))
    if school_id is not None:
        condition = and_(condition, or_(Chat.school_id.is_(None), Chat.school_id == school_id))
    return condition


async def subscriber_ids(session: AsyncSession, school_id: str | None = None) -> list[int]:
    rows = await session.scalars(select(Chat.id).where(_audience(school_id)).order_by(Chat.id))
    return list(rows)


async def count_subscribers(session: AsyncSession, school_id: str | None = None) -> int:
    return int(
        await session.scalar(select(func.count()).select_from(Chat).where(_audience(school_id)))
        or 0
    )


async def mark_unreachable(session: AsyncSession, chat_ids: list[int]) -> None:
    """These chats blocked the bot (Telegram said 403): remember it and unsubscribe them."""
    if chat_ids:
        await session.execute(
            update(Chat)
            .where(Chat.id.in_(chat_ids))
            .values(blocked=True, subscribed=False)
            .execution_options(synchronize_session=False)
        )


async def subscribers_by_language(
    session: AsyncSession, school_id: str | None = None
) -> dict[str, list[int]]:
    """The audience of a message for `school_id`, grouped by the language each chat reads."""
    rows = await session.execute(
        select(Chat.id, Chat.language).where(_audience(school_id)).order_by(Chat.id)
    )
    groups: dict[str, list[int]] = {}
    for chat_id, language in rows:
        groups.setdefault(language or "en", []).append(chat_id)
    return groups
