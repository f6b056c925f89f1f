"""Partners keep their own listings current: who speaks for which organization, when each of
its services is next asked "Is this still right?", and the answers (a confirmation or a change,
applied at once and recorded by knowledge.listing_changes with who and when).

The database says what is owed: one `listing_check` row per service of an organization that
has partners, `pending` until `due_at`, then `asked` (and asked again VERIFY_EVERY later while
nobody answers), then pending again VERIFY_EVERY after the answer. Partners see their
organization's listings and nothing of families.

The session is the caller's; nothing here commits.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.freshness import checked_on
from knowledge.listing_changes import (
    Change,
    change_address,
    change_hours,
    change_phone,
    close_listing,
    confirm_listing,
)
from knowledge.models import Chat, ListingCheck, Organization, PartnerLink, Service, utcnow

SOURCE = "partner"  # ListingChange.source of what partners change
PENDING, ASKED = "pending", "asked"
EDITABLE = ("phone", "hours", "address")
STALE_AFTER = timedelta(days=365)  # "not confirmed in 12 months"
MAX_MATCHES = 5


class NotTheirListing(PermissionError):
    """The chat does not speak for the organization that offers the service."""


@dataclass(frozen=True, slots=True)
class DueCheck:
    check_id: int
    service_id: str
    partners: list[tuple[int, str]]  # (chat id, language) of everyone who speaks for it


@dataclass(frozen=True, slots=True)
class StaleListing:
    service_id: str
    service: str
    organization: str
    partners: int  # how many chats speak for the organization (0: nobody to ask)
    assured_date: date | None
    last_changed: datetime | None
    asked_at: datetime | None  # asked and not answered yet, since


# --- who speaks for which organization ------------------------------------------------------------


async def find_organizations(session: AsyncSession, text: str) -> list[Organization]:
    """The organization with this id, or those whose name contains the words (a few at most)."""
    wanted = " ".join(text.split())
    if not wanted:
        return []
    exact = await session.get(Organization, wanted)
    if exact is not None:
        return [exact]
    named = func.lower(Organization.name).contains(wanted.lower())
    return list(
        await session.scalars(
            select(Organization).where(named).order_by(Organization.name).limit(MAX_MATCHES)
        )
    )


async def organizations_of(session: AsyncSession, chat_id: int) -> list[Organization]:
    return list(
        await session.scalars(
            select(Organization)
            .join(PartnerLink, PartnerLink.organization_id == Organization.id)
            .where(PartnerLink.chat_id == chat_id)
            .order_by(Organization.name)
        )
    )


async def speaks_for(session: AsyncSession, chat_id: int, service_id: str) -> bool:
    """Whether the chat is a partner of the organization offering the service."""
    linked = await session.scalar(
        select(func.count())
        .select_from(Service)
        .join(PartnerLink, PartnerLink.organization_id == Service.organization_id)
        .where(Service.id == service_id, PartnerLink.chat_id == chat_id)
    )
    return bool(linked)


# --- when to ask ----------------------------------------------------------------------------------


def _partnered_services():  # type: ignore[no-untyped-def]
    return (
        select(Service.id, Service.assured_date, Service.last_modified)
        .where(Service.organization_id.in_(select(PartnerLink.organization_id)))
        .where(func.lower(func.coalesce(Service.status, "active")) == "active")
    )


async def schedule_checks(session: AsyncSession, now: datetime, every: timedelta) -> int:
    """Give every active service that has partners and no check yet its first one: when its
    last confirmation or change is `every` old (now, if it never had one). Returns how many."""
    rows = (
        await session.execute(
            _partnered_services().where(Service.id.not_in(select(ListingCheck.service_id)))
        )
    ).all()
    for service_id, assured, modified in rows:
        last = checked_on(assured, modified, now.tzinfo or UTC)
        due = now
        if last is not None:
            due = max(now, datetime.combine(last, datetime.min.time(), tzinfo=now.tzinfo) + every)
        session.add(ListingCheck(service_id=service_id, status=PENDING, due_at=due))
    if rows:
        await session.flush()
    return len(rows)


async def due_checks(session: AsyncSession, now: datetime) -> list[DueCheck]:
    """Checks whose time has come (first asks, and questions nobody answered for VERIFY_EVERY),
    with the partners to ask (in their languages)."""
    rows = (
        await session.execute(
            select(ListingCheck.id, ListingCheck.service_id, PartnerLink.chat_id, Chat.language)
            .join(Service, Service.id == ListingCheck.service_id)
            .join(PartnerLink, PartnerLink.organization_id == Service.organization_id)
            .outerjoin(Chat, Chat.id == PartnerLink.chat_id)
            .where(ListingCheck.due_at <= now)
            .where(or_(Chat.blocked.is_(None), Chat.blocked.is_(False)))
            .order_by(ListingCheck.due_at, ListingCheck.id, PartnerLink.chat_id)
        )
    ).all()
    partners: dict[tuple[int, str], list[tuple[int, str]]] = defaultdict(list)
    for check_id, service_id, chat_id, language in rows:
        partners[(check_id, service_id)].append((chat_id, language or "en"))
    return [DueCheck(check_id, sid, chats) for (check_id, sid), chats in partners.items()]


async def claim_check(
    session: AsyncSession, check_id: int, now: datetime, every: timedelta
) -> bool:
    """Asked now, and again `every` from now unless someone answers: one statement moves
    `due_at`, so exactly one process wins it (True for that one)."""
    claimed = await session.execute(
        update(ListingCheck)
        .where(ListingCheck.id == check_id, ListingCheck.due_at <= now)
        .values(status=ASKED, asked_at=now, due_at=now + every)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


async def next_due(session: AsyncSession) -> datetime | None:
    """When the next question falls due (None when no service has partners)."""
    return await session.scalar(
        select(func.min(ListingCheck.due_at)).where(
            ListingCheck.service_id.in_(_partnered_services().with_only_columns(Service.id)),
        )
    )


# --- answers --------------------------------------------------------------------------------------


async def check_for(session: AsyncSession, check_id: int, chat_id: int) -> ListingCheck:
    """The check, when the chat may answer it: LookupError, NotTheirListing otherwise."""
    check = await session.get(ListingCheck, check_id)
    if check is None:
        raise LookupError(check_id)
    if not await speaks_for(session, chat_id, check.service_id):
        raise NotTheirListing(check.service_id)
    return check


def _answered(check: ListingCheck, now: datetime, every: timedelta) -> None:
    check.status = PENDING
    check.due_at = now + every
    check.answered_at = now
    check.editing_by = check.editing_field = None


async def confirm(
    session: AsyncSession,
    check_id: int,
    chat_id: int,
    *,
    today: date,
    every: timedelta,
    now: datetime | None = None,
) -> Change:
    """[Still right]: the listing's assured_date becomes today."""
    now = now or utcnow()
    check = await check_for(session, check_id, chat_id)
    change = await confirm_listing(
        session, check.service_id, source=SOURCE, changed_by=chat_id, today=today, now=now
    )
    _answered(check, now, every)
    return change


async def change_field(
    session: AsyncSession,
    check_id: int,
    chat_id: int,
    field: str,
    text: str,
    *,
    every: timedelta,
    now: datetime | None = None,
) -> Change:
    """A new phone, hours or address, applied at once (InvalidValue when it does not fit)."""
    now = now or utcnow()
    check = await check_for(session, check_id, chat_id)
    edit = {"phone": change_phone, "hours": change_hours, "address": change_address}[field]
    change = await edit(session, check.service_id, text, source=SOURCE, changed_by=chat_id, now=now)
    _answered(check, now, every)
    return change


async def withdraw(
    session: AsyncSession,
    check_id: int,
    chat_id: int,
    *,
    every: timedelta,
    now: datetime | None = None,
) -> Change:
    """[No longer offered]: the service leaves search results (its record and history stay)."""
    now = now or utcnow()
    check = await check_for(session, check_id, chat_id)
    change = await close_listing(session, check.service_id, source=SOURCE, changed_by=chat_id)
    _answered(check, now, every)
    return change


async def start_editing(session: AsyncSession, check_id: int, chat_id: int, field: str) -> None:
    """The partner's next text is the new value of `field` (one edit at a time per chat)."""
    if field not in EDITABLE:
        raise ValueError(field)
    await stop_editing(session, chat_id)
    check = await check_for(session, check_id, chat_id)
    check.editing_by, check.editing_field = chat_id, field


async def editing_of(session: AsyncSession, chat_id: int) -> ListingCheck | None:
    return await session.scalar(
        select(ListingCheck).where(ListingCheck.editing_by == chat_id).limit(1)
    )


async def stop_editing(session: AsyncSession, chat_id: int) -> None:
    await session.execute(
        update(ListingCheck)
        .where(ListingCheck.editing_by == chat_id)
        .values(editing_by=None, editing_field=None)
        .execution_options(synchronize_session=False)
    )


# --- what is out of date --------------------------------------------------------------------------


async def stale_listings(session: AsyncSession, today: date) -> list[StaleListing]:
    """Active services nobody confirmed in the last 12 months (assured_date), oldest first,
    with how many partners could be asked and whether a question is out."""
    cutoff = today - STALE_AFTER
    partner_counts = dict(
        (
            await session.execute(
                select(PartnerLink.organization_id, func.count()).group_by(
                    PartnerLink.organization_id
                )
            )
        ).all()
    )
    rows = await session.execute(
        select(
            Service.id,
            Service.name,
            Service.organization_id,
            Organization.name,
            Service.assured_date,
            Service.last_modified,
            ListingCheck.status,
            ListingCheck.asked_at,
        )
        .outerjoin(Organization, Organization.id == Service.organization_id)
        .outerjoin(ListingCheck, ListingCheck.service_id == Service.id)
        .where(func.lower(func.coalesce(Service.status, "active")) == "active")
        .where(or_(Service.assured_date.is_(None), Service.assured_date < cutoff))
        .order_by(Service.assured_date.is_not(None), Service.assured_date, Service.id)
    )
    return [
        StaleListing(
            service_id=sid,
            service=name,
            organization=org_name or "",
            partners=int(partner_counts.get(org_id, 0)),
            assured_date=assured,
            last_changed=modified,
            asked_at=asked_at if status == ASKED else None,
        )
        for sid, name, org_id, org_name, assured, modified, status, asked_at in rows
    ]
