"""The long-lived services handlers use, created in post_init and closed in post_shutdown."""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Update
from telegram.ext import Application, ContextTypes

from bot.config import Settings
from bot.i18n import Translate, supported_language, translator
from knowledge.chats import follow_language
from knowledge.finder import ResourceFinder
from knowledge.models import Chat, Role, utcnow
from knowledge.queries import QueryLogger
from knowledge.roles import role_of
from knowledge.sms import is_sms_chat

log = logging.getLogger(__name__)

IDLE_CHAT_STATE_SECONDS = 24 * 3600


@dataclass
class BotServices:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    finder: ResourceFinder
    query_log: QueryLogger
    # Chats a survey asked to type an "other" answer: read at start, kept here after, so a
    # family's ordinary message costs no database look-up to learn it is not one.
    typing_other: set[int] = field(default_factory=set)
    # Chats whose listing report waits for its text (knowledge.listing_reports), likewise.
    reporting: set[int] = field(default_factory=set)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One session per task, committed when the block ends without error."""
        async with self.sessions() as session, session.begin():
            yield session

    def local_now(self) -> datetime:
        return utcnow().astimezone(self.settings.zone)


def services(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.bot_data["services"]  # type: ignore[no-any-return]


class Dialect(enum.StrEnum):
    """How a chat reads the bot: Telegram (HTML, buttons) or SMS (short plain texts, numbered
    choices). Handlers ask only where a text message needs a shorter answer."""

    TELEGRAM = "telegram"
    SMS = "sms"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is talking, as the handlers need it: chat, language, role, texts."""

    chat_id: int
    language: str
    role: Role
    telegram_language: str | None
    _: Translate
    # Whether the chat has a row, when this very update read it (None: answered from the cache).
    stored: bool | None = None
    dialect: Dialect = Dialect.TELEGRAM

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR


def acting_user(update: Update) -> int | None:
    """Who acts: the user, in their own private chat. None anywhere else (a group, a channel,
    a business chat the bot reads for someone), where nobody may act as a coordinator."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None or chat.type != "private" or chat.id != user.id:
        return None
    if update.business_message or update.edited_business_message:
        return None
    return user.id


async def current_role(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Role:
    """The acting user's role, read from the database now (the chat's cache brought up to
    date): whatever the client sends, or has cached, can be out of date or forged."""
    person = acting_user(update)
    if person is None:
        return Role.FAMILY
    app = services(context)
    async with app.sessions() as session:
        role = await role_of(session, person, app.settings.coordinator_ids)
    if context.chat_data is not None:
        context.chat_data["role"] = role
    return role


async def caller(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Caller:
    """The chat's language and role, from the cache or the database.

    The role is always the database's (or COORDINATOR_IDS'), never anything the client sent.
    A chat that only asks questions gets no row at all: one is made when it chooses something
    worth remembering (a language, a subscription, an RSVP, a question for a person).
    """
    chat = update.effective_chat
    user = update.effective_user
    assert chat is not None
    person = acting_user(update)
    telegram_language = user.language_code if user else None
    app = services(context)
    cached = context.chat_data if context.chat_data is not None else {}
    stored = None
    if "language" not in cached or "role" not in cached:
        async with app.sessions() as session:
            row = await session.get(Chat, chat.id)
        stored = row is not None
        if row is not None:
            cached["language"], cached["role"] = row.language, row.role
        else:
            cached["language"] = supported_language(telegram_language)
            cached["role"] = Role.FAMILY
        if person is not None and person in app.settings.coordinator_ids:
            cached["role"] = Role.COORDINATOR
    cached["seen"] = time.time()
    language = cached["language"]
    dialect = Dialect.SMS if is_sms_chat(chat.id) else Dialect.TELEGRAM
    # Roles belong to a user in their own private chat, never to a chat.
    role = Role(cached["role"]) if person is not None else Role.FAMILY
    return Caller(
        chat.id,
        language,
        role,
        telegram_language,
        translator(language),
        stored,
        dialect,
    )


def language_notice(leaving: Translate, language: str) -> str:
    """ "I will answer in Spanish from now on", said in the language being left: the person
    read it a moment ago, and may not read the new one (a phone set to English, say)."""
    _ = leaving
    if language == "es":
        return _("I will answer in Spanish from now on. /language changes it.")
    return _("I will answer in English from now on. /language changes it.")


async def switch_language(context: ContextTypes.DEFAULT_TYPE, who: Caller, language: str) -> Caller:
    """Talk to this chat in `language` from now on: the family wrote in it."""
    if who.stored is not False:  # a chat just seen to have no row has none to change
        async with services(context).transaction() as session:
            await follow_language(session, who.chat_id, language)
    if context.chat_data is not None:
        context.chat_data["language"] = language
    return replace(who, language=language, _=translator(language))


async def forget_idle_chat_state(
    application: Application,  # type: ignore[type-arg]
    now: float | None = None,
    idle_seconds: float = IDLE_CHAT_STATE_SECONDS,
) -> int:
    """Drop the in-memory state (cached language and role, the last search) of chats silent
    for `idle_seconds`, so memory does not grow with every family ever heard from. What
    matters is in the database; an old "More results" button then says it has expired."""
    cutoff = (time.time() if now is None else now) - idle_seconds
    idle = [c for c, data in application.chat_data.items() if data.get("seen", 0.0) < cutoff]
    for chat_id in idle:
        application.drop_chat_data(chat_id)
    if idle:
        log.info("Forgot the in-memory state of %d idle chats", len(idle))
    return len(idle)


def forget_cached(context: ContextTypes.DEFAULT_TYPE) -> None:
    if context.chat_data is not None:
        context.chat_data.clear()
