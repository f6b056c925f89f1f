"""Builds the python-telegram-bot Application: services, defaults and every handler, in order."""

from __future__ import annotations

import logging
from functools import partial

from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.api_link import BotApiLink, WatchedRequest
from bot.config import Settings
from bot.handlers import (
    access,
    common,
    conversation,
    coordinators,
    event_admin,
    event_cards,
    events,
    families,
    followups,
    handoff,
    inline,
    new_event,
    partners,
    review,
    staff,
    survey_admin,
    surveys,
    texts,
)
from bot.handlers import stats as stats_handlers
from bot.i18n import translator
from bot.replies import ReplyRateLimiter
from bot.services import BotServices, forget_idle_chat_state
from bot.sms import ChannelRequest, start_sms, stop_sms
from bot.telegram_request import TrustSuccessRequest
from bot.telegram_sender import start_delivery, stop_delivery
from bot.updates import ChatOrderedProcessor
from bot.webhook import start_health_server
from jobs import scheduler as scheduling
from jobs.followups import FollowUpScheduler
from jobs.reminders import ReminderScheduler
from jobs.retention import schedule_retention
from jobs.sender import SendLimiter
from jobs.verification import VerificationScheduler
from knowledge.calendar import parse_quiet_hours
from knowledge.db import create_engine, create_sessionmaker
from knowledge.finder import ResourceFinder
from knowledge.lexicon import default_lexicon
from knowledge.listing_reports import chats_with_drafts
from knowledge.log_privacy import install_log_privacy
from knowledge.phones import use_region
from knowledge.queries import QueryLogger
from knowledge.roles import apply_coordinator_ids
from knowledge.setup import prepare_database
from knowledge.survey_answers import chats_awaiting_other

log = logging.getLogger(__name__)

COMMANDS = ("start", "help", "language", "privacy", "forget")


def register_handlers(application: Application) -> None:  # type: ignore[type-arg]
    """Every handler, in the order they are tried."""
    private = filters.ChatType.PRIVATE
    # --- access: business, channel and group updates and invalid buttons stop here ---
    application.add_handler(TypeHandler(Update, access.screen_update), group=access.SCREEN_GROUP)
    application.add_handler(CommandHandler("start", common.start, filters=private))
    application.add_handler(CommandHandler("help", common.help_command, filters=private))
    application.add_handler(CommandHandler("language", common.language_command, filters=private))
    application.add_handler(CommandHandler("privacy", common.privacy_command, filters=private))
    application.add_handler(CommandHandler("forget", common.forget_command, filters=private))
    # --- text messages: "2", "M", "YES", "JOIN" read as the button or command they stand for ---
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & texts.NUMBER_CHAT, texts.read_reply),
        group=texts.GROUP,
    )

    # --- surveys: a family writing its "other" answer (first: the text is the answer) ---
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND & private,
            surveys.other_text,
        ),
        group=surveys.GROUP,
    )

    # --- staff (materials, toolkit) ---
    application.add_handler(CommandHandler("materials", staff.materials_command, filters=private))
    application.add_handler(CommandHandler("toolkit", staff.toolkit_command, filters=private))
    application.add_handler(CallbackQueryHandler(staff.send_material, pattern=r"^mat:"))
    application.add_handler(CallbackQueryHandler(staff.toolkit_callback, pattern=r"^tk(:|$)"))
    application.add_handler(
        CallbackQueryHandler(staff.send_material_format, pattern=r"^matf:(docx|pdf):")
    )
    application.add_handler(CallbackQueryHandler(staff.materials_list, pattern=r"^mats$"))
    application.add_handler(CallbackQueryHandler(staff.toolkit_section_callback, pattern=r"^tks:"))
    application.add_handler(InlineQueryHandler(inline.answer_inline_query))
    # --- ask a person (handoff) ---
    # --- follow-ups and the review queue: a family typing the right value for a report, a
    # coordinator typing a fix (each their own group, tried first; both stop what they take) ---
    text = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND & private
    # A partner typing a new phone, hours or address for its own listing (tried first of all).
    application.add_handler(MessageHandler(text, partners.edit_text), group=partners.GROUP)
    application.add_handler(CommandHandler("cancel", partners.cancel_edit), group=partners.GROUP)
    application.add_handler(MessageHandler(text, review.edit_text), group=review.GROUP)
    application.add_handler(CommandHandler("cancel", review.cancel_edit), group=review.GROUP)
    application.add_handler(MessageHandler(text, followups.report_text), group=followups.GROUP)
    # Its own group, tried before the others: while a family is asked for their question (in
    # the database, so across restarts), their text is the question; anything else ends the
    # question and is handled as usual. Coordinators' replies are relayed from a group before.
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.REPLY & filters.TEXT & ~filters.COMMAND & private,
            handoff.relay_answer,
        ),
        group=handoff.RELAY_GROUP,
    )
    application.add_handler(
        CommandHandler("ask", handoff.ask, filters=private), group=handoff.GROUP
    )
    application.add_handler(
        CallbackQueryHandler(handoff.ask, pattern=r"^ask$"), group=handoff.GROUP
    )
    application.add_handler(
        CommandHandler("cancel", handoff.cancel, filters=private), group=handoff.GROUP
    )
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND & private,
            handoff.forward_question,
        ),
        group=handoff.GROUP,
    )
    application.add_handler(TypeHandler(Update, handoff.drop_question), group=handoff.GROUP)
    # --- coordinators (roles, subscriptions, broadcast) ---
    application.add_handler(
        CommandHandler("subscribe", coordinators.subscribe_command, filters=private)
    )
    application.add_handler(
        CommandHandler(["unsubscribe", "stop"], coordinators.unsubscribe_command, filters=private)
    )
    application.add_handler(CommandHandler("invite", coordinators.invite_command, filters=private))
    application.add_handler(CommandHandler("join", coordinators.join_command, filters=private))
    application.add_handler(
        CommandHandler("coordinators", access.coordinators_command, filters=private)
    )
    application.add_handler(
        CallbackQueryHandler(access.remove_coordinator_button, pattern=r"^crm:\d+$")
    )
    application.add_handler(coordinators.broadcast_conversation())
    application.add_handler(
        CallbackQueryHandler(coordinators.choose_school_button, pattern=r"^sub:")
    )
    application.add_handler(CallbackQueryHandler(coordinators.broadcast_button, pattern=r"^bc:"))
    # --- events ---
    application.add_handler(new_event.new_event_conversation())
    application.add_handler(event_admin.edit_event_conversation())
    application.add_handler(CommandHandler("events", events.events_command, filters=private))
    application.add_handler(CommandHandler("stats", stats_handlers.stats_command, filters=private))
    # --- surveys and polls ---
    application.add_handler(CommandHandler("survey", survey_admin.survey_command, filters=private))
    application.add_handler(CommandHandler("poll", survey_admin.poll_command, filters=private))
    application.add_handler(
        CallbackQueryHandler(survey_admin.survey_button, pattern=r"^sv:[pasxr]:")
    )
    application.add_handler(CallbackQueryHandler(surveys.survey_press, pattern=surveys.PATTERN))
    application.add_handler(CallbackQueryHandler(events.rsvp, pattern=r"^rsvp:\d+:[01]$"))
    application.add_handler(CallbackQueryHandler(events.show_event, pattern=r"^ev:\d+$"))
    application.add_handler(CallbackQueryHandler(events.send_calendar_file, pattern=r"^evi:\d+$"))
    application.add_handler(CallbackQueryHandler(event_admin.manage_event, pattern=r"^evm:\d+:"))

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
    # --- follow-ups: check-in answers, problem reports, the coordinators' review ---
    application.add_handler(
        CallbackQueryHandler(followups.check_in_answer, pattern=r"^fu:\d+:[yrtnwx]$")
    )
    application.add_handler(CallbackQueryHandler(followups.report_problem, pattern=r"^rp:."))
    application.add_handler(
        CallbackQueryHandler(
            followups.choose_problem, pattern=r"^rpk:(phone|hours|address|closed|other):."
        )
    )
    application.add_handler(CallbackQueryHandler(followups.skip_suggestion, pattern=r"^rps:\d+$"))
    application.add_handler(CallbackQueryHandler(followups.cancel_report, pattern=r"^rpc:\d+$"))
    application.add_handler(CommandHandler("review", review.review_command, filters=private))
    # --- partners: "Is this still right?" answered ---
    application.add_handler(
        CallbackQueryHandler(
            partners.check_button, pattern=r"^pv:\d+:(ok|phone|hours|address|no|gone|c)$"
        )
    )
    application.add_handler(
        CallbackQueryHandler(
            review.review_button, pattern=r"^rv:\d+:([adnc]|f:(phone|hours|address|closed))$"
        )
    )

    application.add_handler(MessageHandler(filters.COMMAND & private, common.unknown_command))
    application.add_handler(MessageHandler(filters.LOCATION & private, families.shared_location))
    # Free text: danger first, then small talk, then a search (bot/handlers/conversation.py).
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & private, conversation.answer_text)
    )
    # Photos, stickers, voice notes, files: say what the bot understands.
    application.add_handler(
        MessageHandler(private & ~filters.StatusUpdate.ALL, families.other_message)
    )
    # A button from an old message, or forged data: answer it so the phone stops spinning.
    application.add_handler(CallbackQueryHandler(common.stale_button))
    application.add_error_handler(common.error_handler)


async def post_init(application: Application) -> None:  # type: ignore[type-arg]
    """Create the long-lived services: database, search index."""
    settings: Settings = application.bot_data["settings"]
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    for line in await prepare_database(settings.database_url, sessions):
        log.info(line)
    async with sessions() as session, session.begin():  # COORDINATOR_IDS is the truth at start
        demoted = await apply_coordinator_ids(session, settings.coordinator_ids)
    if demoted:
        log.warning("%d coordinators left COORDINATOR_IDS and are families again", demoted)
    finder = ResourceFinder(sessions, default_lexicon(), settings.zone)
    await finder.refresh(force=True)
    query_log = QueryLogger(sessions)
    query_log.start()
    async with sessions() as session:  # who is in the middle of typing something for us
        typing_other = await chats_awaiting_other(session)
        reporting = await chats_with_drafts(session)
    application.bot_data["services"] = BotServices(
        settings, engine, sessions, finder, query_log, typing_other, reporting
    )
    application.bot_data["health_server"] = start_health_server(application, settings)
    # --- text messages: the SMS channel, before the outbox may send to a number ---
    await start_sms(application)
    # --- coordinators: the shared APScheduler and the outbox's delivery worker ---
    scheduler = application.bot_data.setdefault(
        "scheduler", scheduling.create_scheduler(settings.zone)
    )
    await start_delivery(application, coordinators.progress_text)
    # --- events: announcements and reminders, looked for on the shared scheduler ---
    reminders = ReminderScheduler(
        scheduler,
        sessions,
        zone=settings.zone,
        texts=event_cards.ChatEventTexts(settings.zone),
        quiet_hours=parse_quiet_hours(settings.quiet_hours),
        check_seconds=settings.reminder_check_seconds,
    )
    application.bot_data["reminders"] = reminders
    await reminders.start()
    # --- follow-ups: check-ins owed after a card, looked for on the shared scheduler ---
    follow_ups = FollowUpScheduler(
        scheduler,
        sessions,
        zone=settings.zone,
        texts=followups.ChatCheckInTexts(),
        quiet_hours=parse_quiet_hours(settings.quiet_hours),
        check_seconds=settings.reminder_check_seconds,
    )
    application.bot_data["follow_ups"] = follow_ups
    await follow_ups.start()
    # --- partners: "Is this still right?" every VERIFY_EVERY, per service ---
    verification = VerificationScheduler(
        scheduler,
        sessions,
        every=settings.verify_every,
        zone=settings.zone,
        texts=partners.ChatListingCheckTexts(settings.zone),
        quiet_hours=parse_quiet_hours(settings.quiet_hours),
        check_seconds=settings.reminder_check_seconds,
    )
    application.bot_data["verification"] = verification
    await verification.start()
    # --- privacy: expired rows go (PRIVACY.md), and so does idle chats' in-memory state ---
    schedule_retention(scheduler, sessions)
    scheduling.add_interval_job(
        scheduler,
        partial(forget_idle_chat_state, application),
        seconds=3600,
        job_id="forget-idle-chat-state",
    )
    scheduling.start(scheduler)
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
                    BotCommand("events", _("school events")),
                    BotCommand("subscribe", _("get school announcements and event reminders")),
                    BotCommand("toolkit", _("the community school partnership toolkit")),
                    BotCommand("materials", _("sample partnership documents")),
                ],
                language_code=None if language == "en" else language,
            )


async def post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    sms_server = application.bot_data.pop("sms_server", None)
    if sms_server is not None:  # no new texts; the outbox may still finish sending some
        sms_server.stop()
    # --- events: no reminder check may be running when the engine goes ---
    if application.bot_data.get("reminders") is not None:
        await application.bot_data["reminders"].stop()
    if application.bot_data.get("follow_ups") is not None:
        await application.bot_data["follow_ups"].stop()
    if application.bot_data.get("verification") is not None:
        await application.bot_data["verification"].stop()
    # --- coordinators: stop the scheduler, then the delivery worker (before the engine goes) ---
    if application.bot_data.get("scheduler") is not None:
        scheduling.shutdown(application.bot_data["scheduler"])
    await stop_delivery(application)
    await stop_sms(application)
    health_server = application.bot_data.get("health_server")
    if health_server is not None:
        health_server.stop()
    app: BotServices | None = application.bot_data.get("services")
    if app is not None:
        await app.query_log.stop()
        await app.engine.dispose()


def build_application(
    settings: Settings, request: BaseRequest | None = None, token: str | None = None
) -> Application:  # type: ignore[type-arg]
    """The bot, talking to Telegram, or with `request` to an in-process Bot API."""
    install_log_privacy()  # before anything can log (PRIVACY.md, "Logs")
    # One budget for every message the bot sends: replies and outbox.
    limiter = SendLimiter(settings.telegram_rate_per_second)
    builder = (
        ApplicationBuilder()
        .token(token or settings.telegram_bot_token)
        .base_url(settings.telegram_api_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.zone))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if request is None:  # an in-process Bot API (tests, the terminal, SMS only) has no limits
        builder = builder.rate_limiter(ReplyRateLimiter(limiter))
    # Telegram takes about 30 messages a second; more connections than that only queue.
    if settings.sms_enabled:  # a number's chat is answered by text, any other on Telegram
        inner = request or TrustSuccessRequest(HTTPXRequest(connection_pool_size=32))
        builder = builder.request(ChannelRequest(inner))
    elif request is not None:
        builder = builder.request(request)
    else:
        builder = builder.request(TrustSuccessRequest(HTTPXRequest(connection_pool_size=32)))
    # /healthz reports how the last getUpdates went (bot/api_link.py).
    link = BotApiLink()
    polling = request or HTTPXRequest(connection_pool_size=1)
    builder = builder.get_updates_request(WatchedRequest(polling, link))
    processor = ChatOrderedProcessor(max_concurrent_updates=256)
    application = builder.concurrent_updates(processor).build()
    processor.on_flood = partial(common.ask_to_slow_down, application)
    application.bot_data["settings"] = settings
    application.bot_data["bot_api_link"] = link
    application.bot_data["send_limiter"] = limiter
    use_region(settings.phone_region)  # one community per process: its numbers' country
    register_handlers(application)
    return application
