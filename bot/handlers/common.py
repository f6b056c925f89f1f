"""Commands everyone has: /start, /help, /language, /privacy, /forget; and the error handler."""

from __future__ import annotations

import html
import logging
import time

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes

from bot.handlers import families, handoff, inline, staff
from bot.i18n import LANGUAGES, supported_language, translator
from bot.keyboards import categories_keyboard
from bot.render import button, keyboard
from bot.services import Dialect, caller, forget_cached, services
from knowledge.chats import forget_chat, get_chat
from knowledge.handoffs import coordinators
from knowledge.log_privacy import describe_exception

log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"en": "English", "es": "Español"}


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet in the user's language, say what the bot does, offer categories."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    _ = who._
    payload = context.args[0] if context.args else ""
    if await _open_deep_link(update, context, payload):
        return
    if await staff.start_menu(update, context, who):
        return
    # One message: Telegram allows about one message per second in a chat.
    how = (
        _("Text what you need in your own words or your ZIP code, or reply with a number:")
        if who.dialect is Dialect.SMS
        else _("Type what you need in your own words, share your location, or pick a category.")
    )
    await message.reply_text(
        _("Hi! I help families find local services: food, health, learning, housing and more.")
        + "\n"
        + how,
        reply_markup=categories_keyboard(
            services(context).finder.browsing, who.language, _, ask=await handoff.can_ask(context)
        ),
    )


async def _open_deep_link(update: Update, context: ContextTypes.DEFAULT_TYPE, payload: str) -> bool:
    """`/start cat-food`, `con-dental`, `svc-<id>`, `ev-<id>`: open it; False if not valid."""
    kind, _, value = payload.partition("-")
    lexicon = services(context).finder.lexicon
    who = await caller(update, context)
    if kind == "con" and lexicon.concept(value):
        await families.run_search(update, context, who, {"concept": value, "offset": 0})
        return True
    offered = services(context).finder.browsing.concepts_in(value)
    if kind == "cat" and offered:
        await families.run_search(update, context, who, {"concept": offered[0].id, "offset": 0})
        return True
    if kind == "svc" and value:
        return await inline.open_shared_service(update, context, who, value)
    if kind == "ev":
        return await inline.open_shared_event(update, context, who, value)
    return False


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What the bot can do, and the commands."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    _ = who._
    lines = [
        _("Type what you need, for example “dentist for my kid” or “necesito comida”."),
        "",
        "/start – " + _("categories"),
        "/ask – " + _("ask a person at the school"),
        "/events – " + _("school events"),
        "/subscribe – " + _("get school announcements and event reminders"),
        "/unsubscribe – " + _("stop announcements and reminders"),
        "/toolkit – " + _("the community school partnership toolkit"),
        "/materials – " + _("sample partnership documents"),
        "/language – " + _("English or Spanish"),
        "/privacy – " + _("what I store about you"),
        "/forget – " + _("delete everything I store about you"),
    ]
    if who.is_coordinator:
        lines += [
            "",
            _("For coordinators:"),
            "/newevent – " + _("create an event"),
            "/broadcast – " + _("send a message to subscribed families"),
            "/stats – " + _("what families asked, and what nobody answered"),
            "/invite – " + _("invite a coordinator, staff member or partner organization"),
            "/coordinators – " + _("who the coordinators are; remove invited ones"),
            "/review – " + _("families' reports of wrong listings"),
            "/survey – " + _("send the family needs survey, see its results"),
            "/poll – " + _("ask families one quick question"),
        ]
    await message.reply_text("\n".join(lines))


async def language_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer English or Spanish."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    await message.reply_text(
        who._("Which language do you prefer?"),
        reply_markup=keyboard([[button(LANGUAGE_NAMES[code], "lang", code) for code in LANGUAGES]]),
    )


async def set_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remember the chosen language."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    language = query.data.split(":", 1)[1]
    if language not in LANGUAGES:
        return
    who = await caller(update, context)
    async with services(context).transaction() as session:
        chat = await get_chat(session, who.chat_id)
        chat.language = language
    if context.chat_data is not None:
        context.chat_data["language"] = language
    _ = translator(language)
    await query.edit_message_text(_("Done: I will talk to you in English."))


async def privacy_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say in plain words what is stored and why."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    _ = who._
    kept = (
        _(
            "What I keep about you: your phone number (only to answer you and send what you "
            "asked for), your language, whether you asked for school announcements, and your "
            "answers to event invitations. That is all."
        )
        if who.dialect is Dialect.SMS
        else _(
            "What I keep about you: your chat number, your language, whether you asked for "
            "school announcements and for which school, and your answers to event invitations."
        )
    )
    await message.reply_text(
        kept
        + "\n\n"
        + _(
            "When you ask a person at the school (/ask), I keep your question and which chat "
            "asked it, so their answer can reach you; the school sees the question, never your "
            "name or chat number. It is deleted after 90 days."
        )
        + "\n\n"
        + _(
            "Your searches are saved without your name or chat number, so the school can see "
            "which needs nobody answers yet. Messages about danger are only counted, never "
            "saved."
        )
        + "\n\n"
        + _(
            "When you open a service's details, I remember which one for up to a month, to ask "
            "you once a few days later whether you got help there, and your answer. Tap "
            "“No more check-ins” to stop them. The school only sees counts, never who answered."
        )
        + "\n\n"
        + _("Use /forget to delete everything about you at any time.")
    )


async def forget_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask to confirm before deleting everything about this chat."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    _ = who._
    await message.reply_text(
        _("Delete everything I store about you? This cannot be undone."),
        reply_markup=keyboard(
            [
                [
                    button("🗑 " + _("Yes, delete"), "forget", "yes"),
                    button(_("No, keep"), "forget", "no"),
                ]
            ]
        ),
    )


async def confirm_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Delete the chat's rows everywhere, or keep them."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    who = await caller(update, context)
    if not query.data.endswith(":yes"):
        await query.edit_message_text(who._("OK, nothing was deleted."))
        return
    async with services(context).transaction() as session:
        await forget_chat(session, who.chat_id)
    forget_cached(context)
    await query.edit_message_text(
        who._("Done. I deleted everything I stored about you. Say hi any time to start again.")
    )


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command the bot does not have."""
    message = update.effective_message
    assert message is not None
    who = await caller(update, context)
    await message.reply_text(who._("I don't know that command. Try /help."))


async def ask_to_slow_down(application: Application, update: Update) -> None:  # type: ignore[type-arg]
    """Told once when a chat floods the bot; its extra messages are skipped for a while."""
    chat = update.effective_chat
    if chat is None or chat.type != "private":
        return
    user = update.effective_user
    _ = translator(supported_language(user.language_code if user else None))
    try:
        await application.bot.send_message(
            chat.id, html.escape(_("You're sending messages very fast. Please wait a moment."))
        )
    except TelegramError:
        log.warning("Could not ask chat %s to slow down", chat.id, exc_info=True)


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button no handler knows (an old message, or forged data)."""
    query = update.callback_query
    assert query is not None
    who = await caller(update, context)
    await query.answer(who._("That button has expired. Type your question or use /start."))


ALERT_WINDOW_SECONDS = 600.0  # one alert per kind of error per window


class ErrorAlerts:
    """Decides when coordinators hear about an error: once per kind per window, with a count."""

    def __init__(self, window: float = ALERT_WINDOW_SECONDS) -> None:
        self.window = window
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def should_alert(self, kind: str, now: float) -> int | None:
        """None to stay quiet; else how many of this kind were kept quiet since the last alert."""
        if now - self._last.get(kind, -self.window) < self.window:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return None
        self._last[kind] = now
        return self._suppressed.pop(kind, 0)


def _describe(update: object) -> str:
    """Where it happened, without what the person wrote (that is theirs)."""
    if not isinstance(update, Update):
        return type(update).__name__
    if update.callback_query is not None:
        return f"button {str(update.callback_query.data)[:40]!r}"
    message = update.effective_message
    if message is not None and message.text and message.text.startswith("/"):
        return f"command {message.text.split()[0][:32]}"
    return "message" if message is not None else "update"


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with context, apologise with a way forward, alert coordinators without flooding."""
    error = context.error
    if isinstance(error, BadRequest) and "not modified" in str(error).lower():
        return  # a button pressed twice: the message already shows what it should
    if isinstance(error, Forbidden):
        log.info("Chat blocked the bot while handling %s", _describe(update))
        return
    where = _describe(update)
    log.error("Error while handling %s", where, exc_info=error)
    chat = update.effective_chat if isinstance(update, Update) else None
    if chat is not None and chat.type == "private":  # never a word into a group
        language = (context.chat_data or {}).get("language", "en")
        _ = translator(language)
        try:
            await context.bot.send_message(
                chat.id,
                html.escape(
                    _("Sorry, something went wrong on my side. Please try again, or /start.")
                ),
            )
        except TelegramError:  # the apology itself must never raise
            log.warning("Could not send the apology", exc_info=True)
    if isinstance(error, NetworkError | RetryAfter):
        return  # Telegram or the network hiccuped: not something a coordinator can fix
    # One alert per type of error per window: each forged button's data must not make its own.
    kind = type(error).__name__
    await _alert_coordinators(context, kind, f"{kind} in {where}")


async def _alert_coordinators(context: ContextTypes.DEFAULT_TYPE, kind: str, what: str) -> None:
    alerts: ErrorAlerts = context.bot_data.setdefault("error_alerts", ErrorAlerts())
    suppressed = alerts.should_alert(kind, time.monotonic())
    app = context.bot_data.get("services")
    if suppressed is None or app is None:
        return
    try:
        async with app.sessions() as session:
            recipients = await coordinators(session, app.settings.coordinator_ids)
    except Exception as error:  # the database may be what failed: the log has to do
        log.warning("Could not look up whom to alert (%s)", describe_exception(error))
        return
    for recipient in recipients:
        _ = translator(recipient.language)
        text = _("⚠️ The bot hit an unexpected error: {kind}. Details are in the log.").format(
            kind=html.escape(what)
        )
        if suppressed:
            text += "\n" + _("(Not reported since the last alert: {count} more like it.)").format(
                count=suppressed
            )
        try:
            await context.bot.send_message(recipient.chat_id, text)
        except TelegramError:
            log.warning("Could not alert coordinator %s", recipient.chat_id, exc_info=True)
