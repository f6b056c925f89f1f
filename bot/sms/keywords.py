"""Words a text can be: the carriers' keywords, and the bot's own words for what Telegram does
with commands and menus.

Carrier keywords (CTIA; Twilio handles the same ones on long codes) count only when they are
the whole text, in any case, with spaces or a full stop around them:

- opt out of everything: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT (and REVOKE, OPTOUT,
  which Twilio honours too), in Spanish ALTO, PARAR;
- opt back in: START, UNSTOP (and YES, but only from a number that opted out);
- HELP (INFO, AYUDA): who the bot is and how to stop.

The bot's words map to the commands Telegram users type (MENU is /start, JOIN /subscribe,
FORGET /forget...), English and Spanish alike.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass


class Carrier(enum.Enum):
    OPT_OUT = "opt-out"
    OPT_IN = "opt-in"
    HELP = "help"


@dataclass(frozen=True, slots=True)
class Keyword:
    kind: Carrier
    language: str | None  # the language the word is in, when it tells


CARRIER_WORDS: dict[str, Keyword] = {
    **{
        word: Keyword(Carrier.OPT_OUT, None)
        for word in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")
    },
    "ALTO": Keyword(Carrier.OPT_OUT, "es"),
    "PARAR": Keyword(Carrier.OPT_OUT, "es"),
    "START": Keyword(Carrier.OPT_IN, None),
    "UNSTOP": Keyword(Carrier.OPT_IN, None),
    "HELP": Keyword(Carrier.HELP, None),
    "INFO": Keyword(Carrier.HELP, None),
    "AYUDA": Keyword(Carrier.HELP, "es"),
}
OPT_IN_WHEN_OPTED_OUT = frozenset({"YES"})

# The bot's words: (command, language of the word or None).
COMMAND_WORDS: dict[str, tuple[str, str | None]] = {
    "MENU": ("/start", None),
    "INICIO": ("/start", "es"),
    "JOIN": ("/subscribe", "en"),
    "SUBSCRIBE": ("/subscribe", "en"),
    "UNIRME": ("/subscribe", "es"),
    "SUSCRIBIRME": ("/subscribe", "es"),
    "LEAVE": ("/unsubscribe", "en"),
    "SALIR": ("/unsubscribe", "es"),
    "FORGET": ("/forget", "en"),
    "OLVIDAR": ("/forget", "es"),
    "BORRAR": ("/forget", "es"),
    "EVENTS": ("/events", "en"),
    "EVENTOS": ("/events", "es"),
    "ASK": ("/ask", "en"),
    "PREGUNTAR": ("/ask", "es"),
    "PRIVACY": ("/privacy", "en"),
    "PRIVACIDAD": ("/privacy", "es"),
    "LANGUAGE": ("/language", "en"),
    "IDIOMA": ("/language", "es"),
    "TOOLKIT": ("/toolkit", "en"),
    "MATERIALS": ("/materials", "en"),
    "MATERIALES": ("/materials", "es"),
    "SURVEY": ("/survey", "en"),  # go on with a survey stopped with Later
    "ENCUESTA": ("/survey", "es"),
}

_EDGES = re.compile(r"^[\s.!¡?¿]+|[\s.!¡?¿]+$")


def fold(text: str) -> str:
    """ "  Stop. " -> "STOP"; "Menú" -> "MENU"; inner spaces dropped ("STOP ALL" -> "STOPALL")."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"\s+", "", _EDGES.sub("", bare)).upper()


def carrier_keyword(text: str, opted_out: bool = False) -> Keyword | None:
    word = fold(text)
    if opted_out and word in OPT_IN_WHEN_OPTED_OUT:
        return Keyword(Carrier.OPT_IN, None)
    return CARRIER_WORDS.get(word)


def command_word(text: str) -> tuple[str, str | None] | None:
    """The command a text stands for ("/subscribe", "es"), if it is one of the bot's words."""
    return COMMAND_WORDS.get(fold(text))
