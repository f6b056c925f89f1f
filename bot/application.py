"""Builds the python-telegram-bot Application: services, defaults and every handler, in order."""

from __future__ import annotations

import logging
import warnings
from functools import partial

from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest
from telegram.warnings import PTBUserWarning

from bot.config import Settings
from bot.handlers import common, families, handoff, inline, staff
from bot.i18n import translator
from bot.services import BotServices
from bot.updates import ChatOrderedProcessor
from knowledge.db import create_engine, create_sessionmaker
from knowledge.finder import ResourceFinder
from knowledge.lexicon import default_lexicon
from knowledge.setup import prepare_database

log = logging.getLogger(__name__)

COMMANDS = ("start", "help", "language", "privacy", "forget")


def register_handlers(application: Application) -> None:  # type: ignore[type-arg]
    """Every handler, in the order they are tried."""
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("start", common.start, filters=private))
    application.add_handler(CommandHandler("help", common.help_command, filters=private))
    application.add_handler(CommandHandler("language", common.language_command, filters=private))
    application.add_handler(CommandHandler("privacy", common.privacy_command, filters=private))
    application.add_handler(CommandHandler("forget", common.forget_command, filters=private))

    # --- staff (materials, toolkit) ---
    application.add_handler(CommandHandler("materials", staff.materials_command, filters=private))
    application.add_handler(CommandHandler("toolkit", staff.toolkit_command, filters=private))
    application.add_handler(CallbackQueryHandler(staff.send_material, pattern=r"^mat:"))
    application.add_handler(CallbackQueryHandler(staff.toolkit_callback, pattern=r"^tk(:|$)"))
    application.add_handler(InlineQueryHandler(inline.answer_inline_query))
    # --- ask a person (handoff) ---
    # Its own group, tried before the others: while a family is asked for their question,
    # their text is the question; anything else ends the question and is handled as usual.
    # Keyed by chat and user, not by message, although a button starts it: PTB warns about
    # that combination, and here it is what we mean.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"If 'per_message=False'", PTBUserWarning)
        ask_a_person = ConversationHandler(
            entry_points=[
                CommandHandler("ask", handoff.ask, filters=private),
                CallbackQueryHandler(handoff.ask, pattern=r"^ask$"),
            ],
            states={
                handoff.QUESTION: [
                    MessageHandler(filters.TEXT & ~filters.COMMAND, handoff.forward_question)
                ],
            },
            fallbacks=[
                CommandHandler("cancel", handoff.cancel),
                TypeHandler(Update, handoff.drop_question),
            ],
            allow_reentry=True,
            name="ask",
        )
    application.add_handler(ask_a_person, group=handoff.GROUP)
    application.add_handler(
        MessageHandler(
            filters.REPLY & filters.TEXT & ~filters.COMMAND & private, handoff.relay_answer
        ),
        group=handoff.GROUP,
    )
    # --- coordinators (roles, subscriptions, broadcast) ---
    # --- events ---

    application.add_handler(CallbackQueryHandler(common.set_language, pattern=r"^lang:"))
    application.add_handler(CallbackQueryHandler(common.confirm_forget, pattern=r"^forget:"))
    application.add_handler(CallbackQueryHandler(families.show_categories, pattern=r"^cats$"))
    application.add_handler(CallbackQueryHandler(families.open_category, pattern=r"^cat:"))
    application.add_handler(CallbackQueryHandler(families.open_concept, pattern=r"^con:"))
    application.add_handler(CallbackQueryHandler(families.show_details, pattern=r"^d:"))
    application.add_handler(CallbackQueryHandler(families.send_map, pattern=r"^m:"))
    application.add_handler(CallbackQueryHandler(families.more_results, pattern=r"^more$"))
    application.add_handler(CallbackQueryHandler(families.ask_for_location, pattern=r"^near$"))
    application.add_handler(CallbackQueryHandler(families.not_what_i_need, pattern=r"^nw$"))
    application.add_handler(CallbackQueryHandler(families.feedback, pattern=r"^fb:\d+:[01]$"))

    application.add_handler(MessageHandler(filters.COMMAND & private, common.unknown_command))
    application.add_handler(MessageHandler(filters.LOCATION & private, families.shared_location))
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & private, families.search_text)
    )
    application.add_error_handler(common.error_handler)


async def post_init(application: Application) -> None:  # type: ignore[type-arg]
    """Create the long-lived services: database, search index."""
    settings: Settings = application.bot_data["settings"]
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    for line in await prepare_database(settings.database_url, sessions):
        log.info(line)
    finder = ResourceFinder(sessions, default_lexicon(), settings.zone)
    await finder.refresh(force=True)
    application.bot_data["services"] = BotServices(settings, engine, sessions, finder)
    if application.bot_data.get("set_commands", True):
        for language in ("en", "es"):
            _ = translator(language)
            await application.bot.set_my_commands(
                [
                    BotCommand("start", _("categories")),
                    BotCommand("help", _("how to use the bot")),
                    BotCommand("language", _("English or Spanish")),
                    BotCommand("privacy", _("what I store about you")),
                    BotCommand("forget", _("delete everything I store about you")),
                    BotCommand("ask", _("ask a person at the school")),
                    BotCommand("toolkit", _("the community school partnership toolkit")),
                    BotCommand("materials", _("sample partnership documents")),
                ],
                language_code=None if language == "en" else language,
            )


async def post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    app: BotServices | None = application.bot_data.get("services")
    if app is not None:
        await app.engine.dispose()


def build_application(
    settings: Settings, request: BaseRequest | None = None, token: str | None = None
) -> Application:  # type: ignore[type-arg]
    builder = (
        ApplicationBuilder()
        .token(token or settings.telegram_bot_token)
        .base_url(settings.telegram_api_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.zone))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    processor = ChatOrderedProcessor(max_concurrent_updates=256)
    application = builder.concurrent_updates(processor).build()
    processor.on_flood = partial(common.ask_to_slow_down, application)
    application.bot_data["settings"] = settings
    register_handlers(application)
    return application
