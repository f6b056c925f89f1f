"""Words as the search reads them: folding, the light stemmer, "open now", typo keys.

No index here: these are the pure functions the index (knowledge/search.py) builds on.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import Stemmer  # type: ignore[import-untyped]
from wordfreq import freq_to_zipf, get_frequency_dict, zipf_frequency

from knowledge.text import fold
from knowledge.timewords import WEEKDAYS, weekday

# Every byte but a lowercase ASCII letter or digit becomes a space: fold() for ASCII text, ten
# times faster (a directory is mostly ASCII, and folding it was most of the build time).
_ASCII_SPACES = bytes(c if (48 <= c <= 57 or 97 <= c <= 122) else 32 for c in range(256))
# What an apostrophe leaves once folded into a space: "can't" -> "can t", "kid's" -> "kid s".
_CONTRACTION_ENDINGS = frozenset({"s", "t", "m", "d", "ll", "re", "ve"})
# Endings the light stemmer strips (English and Spanish) after a plural -s/-es, longest first,
# leaving at least four letters: "tutoring"/"tutor", "evaluation"/"evaluacion"/"evaluate".
_MIN_STEM = 4
_SUFFIXES = (  # longest first
    "amiento", "acion", "ation", "iendo", "ment", "ando", "ing", "ado", "ada", "ido", "ida",
    "ate", "er", "ed", "ar", "ir", "al", "ly", "a", "o", "e",
)  # fmt: skip
# Snowball's stemmers, for the verb forms and endings the light stemmer leaves alone ("nos
# desalojaron", "me desalojan" for "desalojar"; "divorciarme" for "divorcio").
_SNOWBALL = {"en": Stemmer.Stemmer("english"), "es": Stemmer.Stemmer("spanish")}
# A deletion-index entry packs a 35-bit hash of a word (or of it less one letter) over its
# 28-bit term number in one positive int64: the table sorts as plain integers and a look-up is
# two binary searches. The hash is FNV-1a, which numpy computes for the whole vocabulary at
# once; two words sharing a hash only add a candidate that the edit distance check then drops.
TERM_BITS = 28
TERM_MASK = (1 << TERM_BITS) - 1
HASH_MASK = (1 << 35) - 1
_FNV_OFFSET, _FNV_PRIME = 0xCBF29CE484222325, 0x100000001B3


COMMON_ZIPF = 3.0  # a word seen this often (once in a million words) is no typo
EVERYDAY_ZIPF = 4.0  # ...and this often (once in 100,000: "caliente", not "cicero") is no town
SPANISH_FIRST = 0.5  # Zipf above English for an everyday word to be Spanish before a town name


def _zipf(word: str, language: str) -> float:
    """How common `word` is in `language`, however it lost its accents: words are folded
    here, and families type "senora", "informacion" anyway."""
    found: float = zipf_frequency(word, language, wordlist="small")
    return max(found, _without_accents(language).get(word, 0.0))


@lru_cache(maxsize=2)
def _without_accents(language: str) -> dict[str, float]:
    """wordfreq's words of `language` that have accents, by their folded spelling."""
    table: dict[str, float] = {}
    for word, frequency in get_frequency_dict(language, wordlist="small").items():
        folded = fold(word)
        if folded != word:
            table[folded] = max(table.get(folded, 0.0), freq_to_zipf(frequency))
    return table


@lru_cache(maxsize=50_000)
def _common_in(word: str) -> frozenset[str]:
    """The languages, of English and Spanish, in which `word` is an everyday word."""
    return frozenset(language for language in ("en", "es") if _zipf(word, language) >= COMMON_ZIPF)


def how_common(word: str) -> float:
    """The word's Zipf frequency in English or Spanish, whichever is higher."""
    return max(_zipf(word, "en"), _zipf(word, "es"))


def is_common_word(word: str) -> bool:
    """Whether `word` is an everyday English or Spanish word (wordfreq's small lists): such a
    word is meant as written, never "corrected" into one the directory uses ("stuff" is not
    "staff", "police" not "policy")."""
    return bool(_common_in(word))


def is_foreign_to(word: str, languages: frozenset[str]) -> bool:
    """Whether `word` is an everyday word of another language than `languages`, and of none of
    them: English "called" is no form of Spanish "calle", nor Spanish "campo" of "camp"."""
    common = _common_in(word)
    return bool(common) and not common & languages


@lru_cache(maxsize=50_000)
def is_everyday_word(word: str) -> bool:
    """Whether `word` is among the commonest English or Spanish words, far commoner than a
    small town's name: said without "in" before it, "caliente" is hot, not Caliente, CA."""
    return any(_zipf(word, language) >= EVERYDAY_ZIPF for language in ("en", "es"))


@lru_cache(maxsize=50_000)
def is_spanish_word(word: str) -> bool:
    """Whether `word` is an everyday Spanish word, more than an English one ("largo", "mesa",
    "amarillo"; not "miami"): a town of that name elsewhere is one only when pointed at ("un
    programa largo" is no Largo, FL)."""
    spanish = _zipf(word, "es")
    return spanish >= EVERYDAY_ZIPF and spanish >= _zipf(word, "en") + SPANISH_FIRST


def words_of(text: str) -> list[str]:
    """Folded words, as fold() makes them, but with apostrophes dropped: "can't" -> "cant"."""
    if text.isascii():
        return text.lower().encode("ascii").translate(_ASCII_SPACES, b"'").decode("ascii").split()
    return fold(text.replace("'", "").replace("\u2019", "")).split()


# "open now", "still open", "open right now", "abierto ahora", "abiertas hoy"... (folded words)
_OPEN_NOW = re.compile(
    r"\b(?:(?:open|opened) (?:right now|now|today|tonight|at the moment|this (?:morning|"
    r"afternoon|evening))|still open|"
    r"abiert[oa]s? (?:ahora mismo|ahorita|ahora|hoy|en este momento)|"
    r"que (?:este|esten) abiert[oa]s?|siguen? abiert[oa]s?|algo abierto)\b"
)
# "necesito un lugar para mi papa con demencia ahorita, salgo tarde": needed now, not a story's
# time ("ahorita" or "right now" after the need, anywhere in the sentence)
_NEEDED_NOW = re.compile(
    r"\b(?:necesito|necesitamos|need|needs)\b(?: \w+){0,8}? (?:ahorita|right now)\b"
)
_NOW_WORDS = re.compile(r"\b(?:ahorita|right now)\b")


# A time word that ends the request asks for what is open then: "child support help in chicago
# right now", "ayuda con estampillas hoy mismo"; inside a sentence it tells a story instead ("he
# was arrested today, what do we do", "vive con nosotros ahora"). "now", "today", "hoy" and
# "ahora" alone at the end count only as a question ("anyone at the courthouse now?").
_WHEN_ASKED = re.compile(
    r"\b(?:hoy mismo|ahora mismo)\b|\b(?:right now|ahorita)(?: in person| en persona)?$"
)
_WHEN_ASKED_QUESTION = re.compile(r"\b(?:now|today|hoy|ahora)$")
# ...or after going there or talking to someone: "can i go in now", "puedo ir ahora", "need to
# talk to someone now".
_GOING_NOW = re.compile(
    r"\b(?:go|going|come|walk|talk|speak|ir|voy|vamos|hablar)\b(?: \w+){0,3}? (?:now|ahora)$"
    # ...or right after going, wherever it is: "quiero ir ahora al Daley Center"
    r"|\b(?:go|ir|voy|vamos) (?:now|ahora)\b"
)
_GOING_NOW_WORDS = re.compile(r"\b(go|ir|voy|vamos) (?:now|ahora)\b")
# A question about now that ends before the message does: "puedo dejar a mi papá ahorita?
# entro a trabajar temprano"
_CLAUSE_ASKS_NOW = re.compile(r"\b(?:right now|ahorita|now|ahora|today|hoy)$")
# Other times a family may want to be seen at (folded)...
_THEN = (
    r"(?:(?:after|before) lunch(?: today)?|right now|today|tonight|this (?:morning|afternoon|"
    r"evening)|ahorita|hoy|esta (?:manana|tarde|noche))"
)
# ...count when they say when to go ("can i go to the help desk after lunch today", "puedo ir
# ahorita al juzgado", "can someone help me this morning") or end a request for a desk or help
# ("court forms help this morning"), not when they say when something happened ("ICE picked up
# my husband this morning", "i need a place to sleep tonight" keeps every shelter).
_GOING_THEN = re.compile(
    rf"\b(?:go|going|come|walk in|can i call|can we call|help me|ir|voy|vamos|puedo llamar)\b"
    rf"(?: \w+){{0,10}}? {_THEN}\b"
)
_HELP_THEN = re.compile(
    r"\b(?:desk|center|centre|clinic|courthouse|court|office|help|walk in|juzgado|corte|"
    rf"oficina|ayuda)\b.* {_THEN}$"
)
_THEN_WORDS = re.compile(rf" {_THEN}\b")


# "walk in", "walk-in", "in person", "sin cita": to be seen without calling first (folded words).
_WALK_IN = re.compile(
    r"\b(?:walk ?ins?|drop ?in|in person|en persona|sin (?:hacer )?cita|"
    r"without (?:an )?appointment|no appointment)\b"
    # ...or to find help at the courthouse, being there ("hay abogado en la corte ahora?",
    # "anyone at the courthouse now"), not to have a hearing there ("cita en la corte")
    r"|\b(?:help|desk|lawyer|anyone|someone|ayuda|abogado|alguien|estoy|im|i am)"
    r"(?: \w+){0,2} (?:at the court(?:house)?|en la corte|en el juzgado)\b"
)


# Who is asking, when it is not the family: "school counselor here", "i'm a school social
# worker", "soy la consejera de la escuela". Their role names no need ("counselor" would make
# a student's eviction a counselling question).
_ROLE = (
    r"(?:school |the )?(?:counsell?or|social worker|teacher|nurse|psychologist|case manager|"
    r"caseworker|principal|family liaison|family advocate)"
)
_ES_ROLE = (
    r"(?:consejer[oa]|trabajadora social|trabajador social|maestr[oa]|enfermera|"
    r"psicolog[oa]|directora?)(?: escolar| de (?:la|una) escuela)?"
)
_ASKERS_ROLE = re.compile(
    rf"\b(?:(?:im|i am|as) an? {_ROLE}|{_ROLE} (?:here|asking|writing|working)|"
    rf"^{_ROLE}(?= at | from | with )|soy (?:la |el |una? )?{_ES_ROLE})\b"
)


def without_askers_role(words: list[str]) -> list[str]:
    """The question's words less the asker's own role ("school counselor here: a family...")."""
    joined = " ".join(words)
    if not _ASKERS_ROLE.search(joined):
        return words
    return _ASKERS_ROLE.sub(" ", joined).split()


# "My mother in law", "mi suegra": a relative, not the law ("law" would find every family law
# clinic for a counsellor who speaks Urdu).
_RELATIVES = frozenset(
    "mother father brother sister son daughter parents mom dad my our his her their".split()
)  # ...and "my in laws"


def without_in_laws(words: list[str]) -> list[str]:
    """The question's words less the "in law" of a relative ("my mother in law")."""
    kept: list[str] = []
    for i, word in enumerate(words):
        after_relative = i >= 2 and words[i - 1] == "in" and words[i - 2] in _RELATIVES
        if word in ("law", "laws") and after_relative:
            kept.pop()  # its "in"
            continue
        kept.append(word)
    return kept


# A lawyer asked for by name: "divorce lawyer", "abogado de inmigración" (folded words).
_LAWYER_WORDS = frozenset(
    {"lawyer", "lawyers", "attorney", "attorneys", "abogado", "abogados", "abogada", "abogadas"}
)


def asks_for_a_lawyer(words: list[str]) -> bool:
    """Whether the question asks for a lawyer, not only for help with a legal matter (nor
    for a power of attorney, a paper a senior centre may help with)."""
    return any(
        word in _LAWYER_WORDS and (i == 0 or words[i - 1] != "of") for i, word in enumerate(words)
    )


def asks_to_walk_in(words: list[str]) -> bool:
    """Whether the question asks to be seen in person without an appointment."""
    return bool(_WALK_IN.search(" ".join(words)))


def read_open_now(text: str) -> tuple[str, bool]:
    """The question without its "open now" part, and whether it had one."""
    folded = " ".join(words_of(text))
    rest = folded
    *asked, last = text.split("?")
    if asked and words_of(last):
        clauses = [_OPEN_NOW.sub(" ", " ".join(words_of(clause))) for clause in asked]
        rest = " ".join([*(_CLAUSE_ASKS_NOW.sub(" ", c.strip()) for c in clauses), last])
        rest = " ".join(words_of(rest))
    rest = _WHEN_ASKED.sub(" ", _OPEN_NOW.sub(" ", rest)).strip()
    if text.rstrip().endswith("?") or _GOING_NOW.search(rest):
        rest = _GOING_NOW_WORDS.sub(r"\1", _WHEN_ASKED_QUESTION.sub(" ", rest))
    if _GOING_THEN.search(rest) or _HELP_THEN.search(rest):
        rest = _THEN_WORDS.sub(" ", rest)
    if _NEEDED_NOW.search(rest):
        rest = _NOW_WORDS.sub(" ", rest)
    if rest == folded:
        return text, False
    return " ".join(rest.split()), True


# "open on saturday", "open sundays", "abierto el sábado": a day's name after "open" (folded).
_DAY_NAMES = "|".join(sorted({fold(name) for name in WEEKDAYS if len(name) > 3}, key=len)[::-1])
_OPEN_ON = re.compile(
    rf"\b(?:open|opened|abiert[oa]s?)(?: on| el| los)? (?P<day>{_DAY_NAMES})s?\b"
    rf"|\b(?:on|el|los) (?P<later>{_DAY_NAMES})s?\b"
    # "hoy domingo", "hoy es domingo"; not "thursday morning", which is as often when the
    # hearing is ("i have eviction court thursday morning") as when to come
    rf"|\bhoy (?:es )?(?P<today>{_DAY_NAMES})\b"
)


# "...today", "...hoy" ending a request: what is there today. Not a story's day ("the
# foreclosure papers came today", "me llegó la demanda hoy"): a verb in the past before it.
_TODAY_AT_END = re.compile(r" (?:for |para )?(?:today|hoy)$")
_TOLD_BEFORE = re.compile(
    r"\b(?:\w+ed|came|got|was|were|took|left|gave|sent|told|said|fue|llego|llegaron|"
    r"\w+aron|\w+ieron|paso|dijo|dijeron)(?: \w+){0,3} (?:today|hoy)$"
)


# ...and "on thursday" after a hearing is when the hearing is ("tengo corte el jueves"), but
# not after "sin cita", "without an appointment": walking in is when to come
_HEARING_BEFORE = re.compile(
    r"(?<!\bsin )(?<!\bwithout )(?<!\bwithout an )(?<!\bno )"
    r"\b(?:court|hearing|trial|appointment|corte|audiencia|juicio|cita)(?: is| es| date)? $"
)


def read_open_day(text: str, today: int | None = None) -> tuple[str, int | None]:
    """The question without its "open on Saturday" / "on Saturday" part, and that weekday
    (Monday 0), read with knowledge.timewords' day names; or, given `today`'s weekday, without
    the "today" a request ends with ("senior lunch in Menlo Park today"), and today."""
    folded = " ".join(words_of(text))
    found = _OPEN_ON.search(folded)
    if found is None:
        asked_for_today = _TODAY_AT_END.search(folded)
        if today is None or asked_for_today is None or _TOLD_BEFORE.search(folded):
            return text, None
        return folded[: asked_for_today.start()].strip(), today
    before = folded[: found.start()]
    # (after a hearing, the hearing's day; "me pagan hasta el viernes": until then)
    if found["later"] and (_HEARING_BEFORE.search(before) or before.endswith(("hasta ", "desde "))):
        return text, None
    day = weekday(next(name for name in found.groups() if name))
    rest = folded[: found.start()] + " " + folded[found.end() :]
    return " ".join(rest.split()), day


def join_contractions(words: list[str]) -> list[str]:
    """The lexicon arrives folded ("can t see the board"): glue endings back, as words_of does."""
    joined: list[str] = []
    for word in words:
        if joined and word in _CONTRACTION_ENDINGS:
            joined[-1] += word
        else:
            joined.append(word)
    return joined


def form(word: str) -> str:
    """The word as phrases are matched: singular-ish ("clases"/"clase", "classes"/"class",
    "parents"/"parent") and no further ("working" is not "work", "parenting" not "parent")."""
    if word.endswith("ies") and len(word) > 5:
        return word[:-3] + "y"
    if word.endswith("s") and len(word) > 4:
        word = word[:-1]
    if word.endswith("e") and len(word) > 5:
        word = word[:-1]
    return word


def snowball(word: str, language: str) -> str:
    """The word's Snowball stem in English or Spanish."""
    result: str = _SNOWBALL[language].stemWord(word)
    return result


def stem(word: str) -> str:
    """A light stemmer for matching document words ("funding" for "fund", "evaluacion" for
    "evaluation"); a match by stem counts a little less (STEM_FACTOR)."""
    if word.endswith(("ies", "ied")) and len(word) - 2 >= _MIN_STEM:
        word = word[:-3] + "y"  # "bullied"/"bullies" -> "bully", as "bullying" -> "bully"
    elif word.endswith("es") and len(word) - 2 >= _MIN_STEM:
        word = word[:-2]
    elif word.endswith("s") and len(word) - 1 >= _MIN_STEM:
        word = word[:-1]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            word = word[: -len(suffix)]
            break
    # "involvement" -> "involve" -> "involv", as "involved" -> "involv"
    return word[:-1] if word.endswith("e") and len(word) > _MIN_STEM else word


def inflections(word_stem: str) -> set[str]:
    """Every word that stem() reduces to `word_stem` is among these. Looking them up at query
    time replaces a stem table, which would cost a stem() call per word at build time."""
    words = {base + suffix for base in (word_stem, word_stem + "e") for suffix in ("", *_SUFFIXES)}
    return {
        *(word + plural for word in words for plural in ("", "s", "es")),
        *(word[:-1] + ending for word in words if word.endswith("y") for ending in ("ies", "ied")),
    }


def same_but_plural(one: str, other: str) -> bool:
    """Whether two words differ at most by a plural ending (pantry, pantries)."""
    return one in _plurals(other) or other in _plurals(one)


def _plurals(word: str) -> set[str]:
    forms = {word, word + "s", word + "es"}
    if word.endswith("y"):
        forms.add(word[:-1] + "ies")
    return forms


def max_edits(word: str) -> int:
    """How many typos a word may carry: none up to four letters, where real words sit one edit
    apart (cena/cama, visa/vita); one up to seven; two from eight ("imigration", "tutering")."""
    if len(word) < 5 or not word.isalpha():
        return 0
    return 1 if len(word) < 8 else 2


def deletes(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def delete_key(variant: str) -> int:
    """FNV-1a of an ASCII word, as delete_keys() computes it for many words at once."""
    value = _FNV_OFFSET
    for byte in variant.encode("ascii"):
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return (value & HASH_MASK) << TERM_BITS


def delete_keys(letters: np.ndarray, terms: np.ndarray) -> list[np.ndarray]:
    """Deletion-index entries for words of one length (`letters`: a row of bytes per word):
    each word whole, then less each of its letters in turn."""
    entries = []
    width = letters.shape[1]
    for skipped in (None, *range(width)):
        value = np.full(len(terms), _FNV_OFFSET, dtype=np.uint64)
        for column in range(width):
            if column != skipped:
                value ^= letters[:, column]
                value *= np.uint64(_FNV_PRIME)  # wraps around, as FNV wants
        entries.append(((value & np.uint64(HASH_MASK)).astype(np.int64) << TERM_BITS) | terms)
    return entries
