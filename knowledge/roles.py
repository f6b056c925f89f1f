"""Roles: family (everyone), partner, staff, coordinator. They live in the database (`chat.role`).

Coordinators come from COORDINATOR_IDS (made so on first contact by `get_chat`) or from a
one-time invitation: a coordinator makes a code with `/invite coordinator|staff` (or
`/invite partner ORG`, `resource-finder partner invite ORG_ID`), the new person sends
`/join CODE`. A partner code also links the chat to its organization (knowledge.partners).
COORDINATOR_IDS is the truth at start: an id that left it loses the role
(`apply_coordinator_ids`); invited coordinators keep theirs until a coordinator removes them
(`/coordinators`, `remove_coordinator`). Handlers check `role_of` against the database for
every coordinator action, button presses included, because whatever the client sends can be
forged.

The session is the caller's; nothing here commits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.chats import get_chat
from knowledge.models import Chat, Invitation, PartnerLink, Role, utcnow

INVITATION_TTL = timedelta(days=7)
# No 0/O, 1/I/L: codes get read aloud and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10  # about 49 bits
RANK = {Role.FAMILY: 0, Role.PARTNER: 1, Role.STAFF: 2, Role.COORDINATOR: 3}
INVITABLE = {"coordinator": Role.COORDINATOR, "staff": Role.STAFF}


async def role_of(
    session: AsyncSession, chat_id: int, coordinator_ids: frozenset[int] = frozenset()
) -> Role:
    """The chat's role as the database has it now; COORDINATOR_IDS are always coordinators.
    Asking makes no row: a chat that has none is a family."""
    if chat_id in coordinator_ids:
        return Role.COORDINATOR
    role = await session.scalar(select(Chat.role).where(Chat.id == chat_id))
    return Role(role) if role is not None else Role.FAMILY


def normalize_code(text: str) -> str:
    """What people type ("abcd-efgh-jk", with spaces) -> the stored form ("ABCDEFGHJK")."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def display_code(code: str) -> str:
    return "-".join(code[i : i + 5] for i in range(0, len(code), 5))


async def create_invitation(
    session: AsyncSession,
    *,
    role: Role,
    created_by: int,
    ttl: timedelta = INVITATION_TTL,
    now: datetime | None = None,
    organization_id: str | None = None,
) -> Invitation:
    """A new one-time code for `role`, valid for `ttl` (a partner's names its organization)."""
    if role == Role.FAMILY:
        raise ValueError("everyone is a family member already; invite staff or coordinators")
    if (role == Role.PARTNER) != (organization_id is not None):
        raise ValueError("a partner invitation, and only one, names an organization")
    now = now or utcnow()
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    invitation = Invitation(
        code=code,
        role=role,
        created_by=created_by,
        created_at=now,
        expires_at=now + ttl,
        organization_id=organization_id,
    )
    session.add(invitation)
    await session.flush()
    return invitation


async def invitation_organization(session: AsyncSession, code: str) -> str | None:
    """The organization a partner code links to (None: not a partner code, or no such code)."""
    invitation = await session.get(Invitation, normalize_code(code))
    return invitation.organization_id if invitation is not None else None


async def redeem_invitation(
    session: AsyncSession,
    code: str,
    chat_id: int,
    *,
    now: datetime | None = None,
    coordinator_ids: frozenset[int] = frozenset(),
    language: str = "en",
) -> Role | None:
    """Use a code once: the chat gets its role (never a lower one than it has). Returns the
    chat's role afterwards, or None when the code is unknown, expired or already used.
    `language` is the chat's when this makes its row (what the scheduler later writes in)."""
    now = now or utcnow()
    normalized = normalize_code(code)
    invitation = await session.get(Invitation, normalized)
    if invitation is None:
        return None
    # One statement decides who redeems it, so two people racing with one code cannot both win.
    claimed = await session.execute(
        update(Invitation)
        .where(
            Invitation.code == normalized,
            Invitation.used_by.is_(None),
            Invitation.expires_at > now,
        )
        .values(used_by=chat_id, used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return None
    chat = await get_chat(session, chat_id, language, coordinator_ids=coordinator_ids)
    granted = Role(invitation.role)
    if RANK[granted] > RANK[Role(chat.role)]:
        chat.role = granted
        chat.invited = True
    if invitation.organization_id is not None:
        if await session.get(PartnerLink, (chat_id, invitation.organization_id)) is None:
            session.add(PartnerLink(chat_id=chat_id, organization_id=invitation.organization_id))
    await session.flush()
    return Role(chat.role)


@dataclass(frozen=True, slots=True)
class CoordinatorEntry:
    chat_id: int
    configured: bool  # from COORDINATOR_IDS: only the operator can remove it, by editing that


async def apply_coordinator_ids(session: AsyncSession, coordinator_ids: frozenset[int]) -> int:
    """Coordinators made so by COORDINATOR_IDS whose id has left it are families again;
    invited ones keep their role. Returns how many lost it."""
    demoted = update(Chat).where(Chat.role == Role.COORDINATOR, Chat.invited.is_(False))
    if coordinator_ids:
        demoted = demoted.where(Chat.id.not_in(coordinator_ids))
    result = await session.execute(
        demoted.values(role=Role.FAMILY).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def list_coordinators(
    session: AsyncSession, coordinator_ids: frozenset[int]
) -> list[CoordinatorEntry]:
    """Everyone who is a coordinator now: COORDINATOR_IDS first, then the invited ones."""
    invited = await session.scalars(
        select(Chat.id).where(Chat.role == Role.COORDINATOR).order_by(Chat.id)
    )
    entries = [CoordinatorEntry(chat_id, True) for chat_id in sorted(coordinator_ids)]
    entries += [
        CoordinatorEntry(chat_id, False) for chat_id in invited if chat_id not in coordinator_ids
    ]
    return entries


async def remove_coordinator(
    session: AsyncSession, chat_id: int, coordinator_ids: frozenset[int]
) -> bool:
    """An invited coordinator becomes a family again. False if `chat_id` is not one (already
    removed, or from COORDINATOR_IDS, which only its operator can change)."""
    if chat_id in coordinator_ids:
        return False
    result = await session.execute(
        update(Chat)
        .where(Chat.id == chat_id, Chat.role == Role.COORDINATOR)
        .values(role=Role.FAMILY, invited=False)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
