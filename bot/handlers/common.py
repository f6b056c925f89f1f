"""Commands everyone has: /start, /help, /language, /privacy, /forget; and the error handler."""

from __future__ import annotations

import html
import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.handlers import families, inline
from bot.i18n import LANGUAGES, supported_language, translator
from bot.keyboards import categories_keyboard
from bot.render import button, keyboard
from bot.services import caller, forget_cached, services
from knowledge.chats import forget_chat, get_chat

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
    # One message: Telegram allows about one message per second in a chat.
    await message.reply_text(
        _("Hi! I help families find local services: food, health, learning, housing and more.")
        + "\n"
        + _("Type what you need in your own words, share your location, or pick a category."),
        reply_markup=categories_keyboard(services(context).finder.lexicon, who.language, _),
    )


async def _open_deep_link(update: Update, context: ContextTypes.DEFAULT_TYPE, payload: str) -> bool:
    """`/start cat-food`, `/start con-dental`, `/start svc-<id>`: open it; False if not valid."""
    kind, _, value = payload.partition("-")
    lexicon = services(context).finder.lexicon
    who = await caller(update, context)
    if kind == "con" and lexicon.concept(value):
        await families.run_search(update, context, who, {"concept": value, "offset": 0})
        return True
    if kind == "cat" and lexicon.category(value):
        await families.run_search(
            update, context, who, {"concept": lexicon.concepts_in(value)[0].id, "offset": 0}
        )
        return True
    if kind == "svc" and value:
        return await inline.open_shared_service(update, context, who, value)
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
        "/toolkit – " + _("the community school partnership toolkit"),
        "/materials – " + _("sample partnership documents"),
        "/language – " + _("English or Spanish"),
        "/privacy – " + _("what I store about you"),
        "/forget – " + _("delete everything I store about you"),
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
    await message.reply_text(
        _(
            "What I keep about you: your chat number, your language, whether you asked for "
            "school announcements, and your answers to event invitations. That is all."
        )
        + "\n\n"
        + _(
            "Your questions are saved without your name or chat number, so the school can see "
            "which needs nobody answers yet."
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
            [[button("🗑 " + _("Yes, delete"), "forget", "yes"), button(_("No, keep"), "forget", "no")]]
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


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with context and give the user a short apology with a way forward."""
    log.error("Error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        language = (context.chat_data or {}).get("language", "en")
        _ = translator(language)
        try:
            await context.bot.send_message(
                update.effective_chat.id,
                html.escape(_("Sorry, something went wrong on my side. Please try again, or /start.")),
            )
        except Exception:  # the apology itself must never raise
            log.warning("Could not send the apology", exc_info=True)
