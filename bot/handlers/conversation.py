"""What a person types, taken as they mean it: danger first, then small talk, then a question.

1. Danger ("my child is not breathing", "me quiero morir") gets the crisis reply before anything
   else (bot/handlers/crisis.py), then the usual results with the crisis lines first, and never
   "no match". It is not written to the gap report.
2. Small talk ("hi", "thanks", "?", "hola", "ok") gets a friendly answer with the menu, in the
   language it was written in, and is not a search.
3. Anything else is a question for the search (bot/handlers/families.py).

The language follows the person both ways: a message clearly in the other language switches the
chat to it, and the notice saying so is written in the language being left, which the person
could read a moment ago.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.handlers import families, handoff
from bot.handlers.crisis import answer_danger
from bot.keyboards import categories_keyboard
from bot.render import escape
from bot.services import Caller, caller, language_notice, services, switch_language
from knowledge.crisis import Danger, default_crisis_signals, results_about
from knowledge.language import LanguageGuesser, language_guesser
from knowledge.search import SearchQuery
from knowledge.smalltalk import SmallTalk, default_small_talk
from knowledge.text import clean_text

MAX_QUESTION_CHARACTERS = 500
CRISIS_RESULTS = 20  # results looked at for what may follow a crisis reply


def _guesser(context: ContextTypes.DEFAULT_TYPE) -> LanguageGuesser:
    guesser = context.bot_data.get("language_guesser")
    if guesser is None:
        talk = default_small_talk()
        guesser = language_guesser(
            services(context).finder.lexicon, {lang: talk.phrases_in(lang) for lang in ("en", "es")}
        )
        context.bot_data["language_guesser"] = guesser
    return guesser  # type: ignore[no-any-return]


async def answer_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Free text: a crisis reply for danger, a friendly answer to small talk, else a search."""
    message = update.effective_message
    assert message is not None and message.text is not None
    text = clean_text(message.text).strip()[:MAX_QUESTION_CHARACTERS]
    who = await caller(update, context)
    danger = default_crisis_signals().detect(text)
    if danger is not None:
        await _answer_danger(update, context, who, danger, text)
        return
    talk = default_small_talk().recognise(text)
    if talk is not None:
        await _answer_small_talk(update, context, who, talk)
        return
    notice = ""
    written = _guesser(context).guess(text)
    if written is not None and written != who.language:
        notice = language_notice(who._, written) + "\n\n"
        who = await switch_language(context, who, written)
    await families.search_text(update, context, notice=notice)


async def _answer_danger(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller, danger: Danger, text: str
) -> None:
    """The crisis reply, then the usual results with the directory's crisis lines first; if
    nothing else matches, the crisis reply stands alone (never "no match")."""
    who, lines = await answer_danger(update, context, who, danger)
    query = SearchQuery(
        text=text, language=who.language, limit=CRISIS_RESULTS, kinds=frozenset({"service"})
    )
    only = await results_about(services(context).finder, default_crisis_signals(), danger, query)
    state: dict[str, Any] = {
        "text": text,
        "offset": 0,
        "crisis": True,
        "first": [{"id": record.id, "title": record.name} for record in lines],
        "only": only,
    }
    await families.run_search(update, context, who, state)


async def _answer_small_talk(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Caller, talk: SmallTalk
) -> None:
    """A friendly answer and the menu, in the language the person wrote in."""
    message = update.effective_message
    assert message is not None
    notice = ""
    if talk.language is not None and talk.language != who.language:
        notice = language_notice(who._, talk.language) + "\n\n"
        who = await switch_language(context, who, talk.language)
    _ = who._
    answers = {
        "greeting": _(
            "Hi! I help families find local services: food, health, learning, housing and more."
        )
        + "\n"
        + _("Type what you need in your own words, share your location, or pick a category."),
        "thanks": _("You're welcome! Anything else? Type what you need, or pick a category."),
        "help": _(
            "Type what you need in your own words, for example “dentist for my kid” or "
            "“necesito comida”, or pick a category. /help lists everything I can do."
        ),
        "menu": _("What do you need help with?"),
        "yes": _("Good! Type what you need, or pick a category."),
        "no": _("All right. If you need something else, type it here or pick a category."),
        "bye": _("Take care! Write any time you need something."),
    }
    markup = categories_keyboard(
        services(context).finder.browsing,
        who.language,
        _,
        ask=await handoff.can_ask(context),
    )
    await message.reply_text(escape(notice + answers[talk.kind]), reply_markup=markup)
