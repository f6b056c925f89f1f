"""Ages: those a question gives ("my 16 year old", "im 72", "mi hijo de 15 años") and those a
service takes ("Age 21-60", "age 55 or over", "ages 3-12", HSDS minimum_age / maximum_age).

A caseworker checks age first: a 16-year-old is not sent to a rehab centre for ages 21-60, nor a
child to a senior centre.
"""

from __future__ import annotations

import math
import re

# What makes a question about a child (folded words), or about the asker's son or daughter
# (of any age, but not of a senior centre's).
CHILD_WORDS = frozenset(
    "kid kids child children toddler toddlers baby babies teen teens teenager teenagers youth "
    "adolescent adolescents nino ninos nina ninas bebe bebes adolescente adolescentes".split()
)
OFFSPRING_WORDS = frozenset("son sons daughter daughters hijo hijos hija hijas".split())
AGE_WORDS = (["year"], ["years"], ["yr"], ["yrs"], ["yo"], ["ano"], ["anos"])  # "my 78 yo mom"
AGE_BEFORE = (["im"], ["shes"], ["hes"], ["age"], ["aged"], ["turned"], ["turning"])
# "my mom is 80": a person, "is", then the age (not "my rent is 900")
PEOPLE = frozenset(
    {"mom", "dad", "mother", "father", "grandma", "grandpa", "grandmother", "grandfather",
     "husband", "wife", "son", "daughter", "she", "he", "i", "law"}  # "mother in law is 72"
)  # fmt: skip
# "mi papá de 75", "mi mamá tiene 77": a person, "de" or "tiene", then the age (not "una renta
# de 900")
PERSONAS = frozenset(
    "papa mama padre madre abuelo abuela abuelito abuelita hijo hija esposo esposa suegro "
    "suegra tio tia nino nina".split()
)
OLDER_ADULTS_AGE = 60  # an age from which a question is about an older adult
ADULT_AGE = 18
# A service taking nobody younger than this is for older adults ("age 55 or over").
OLDER_ADULT_SERVICE_AGE = 50

ANY_AGE = (0.0, math.inf)
_AGE = r"\bage[sd]?\s+"
_BETWEEN = re.compile(_AGE + r"(\d{1,3})\s*(?:-|to|through)\s*(\d{1,3})\b")
_FROM = re.compile(_AGE + r"(\d{1,3})\s*(?:\+|(?:or|and) (?:over|older|above|up))")
# "under age 18", "under 5 years": not "under 3 persons" or "under 200% of poverty"
_UNDER = re.compile(r"\b(?:under|younger than)\s+(?:age\s+(\d{1,2})|(\d{1,2})\s+(?:years?|yrs?))\b")


def ages_in(words: list[str]) -> list[int]:
    """Ages a question gives: a number before "years" or "años", after "im" or "age", or
    after a person and "is", "de" or "tiene" ("my mom is 80", "mi papá de 75")."""
    return [
        int(word)
        for i, word in enumerate(words)
        if word.isdigit()
        and len(word) <= 3
        and (
            words[i + 1 : i + 2] in AGE_WORDS
            or words[i + 1 : i + 3] == ["y", "o"]  # "my 10 y/o"
            or words[i - 1 : i] in AGE_BEFORE
            or (i >= 2 and words[i - 1] in ("is", "am") and words[i - 2] in PEOPLE)
            or (i >= 2 and words[i - 1] in ("de", "tiene") and words[i - 2] in PERSONAS)
        )
    ]


# A household asking ("family of 5", "comida para mi familia"): parents and children, not a
# senior centre's members, unless it names an elder of theirs ("support for our family, my mom
# has dementia") (folded words)
_HOUSEHOLD = re.compile(
    r"\b(?:(?:family|familia) (?:of|de) \d{1,2}|(?:my|our|mi|nuestra) (?:family|familia))\b"
)
ELDER_WORDS = frozenset(
    "mom dad mother father parents grandma grandpa grandmother grandfather grandparents elderly "
    "senior seniors mama papa madre padre padres abuela abuelo abuelita abuelito abuelos "
    "ancianos lola lolo".split()
)


def about_a_child(words: list[str]) -> bool:
    """Whether a question is about a child: "kids", "niños", "my 6 year old", "de 15 años",
    or a household with them ("family of 5", "mi familia")."""
    if CHILD_WORDS.intersection(words):
        return True
    if _HOUSEHOLD.search(" ".join(words)) and not ELDER_WORDS.intersection(words):
        return True
    return any(age < ADULT_AGE for age in ages_in(words))


def an_older_adults_age(words: list[str]) -> bool:
    """Whether a question gives an older adult's age: "im 72", "mi mamá de 70 años"."""
    return any(age >= OLDER_ADULTS_AGE for age in ages_in(words))


def asked_ages(words: list[str]) -> list[tuple[float, float]]:
    """The ages the person asked for may have, as ranges: each age given; else under 18 for a
    child, under 50 for a son or daughter; none when the question says nothing of age."""
    given = ages_in(words)
    if given:
        return [(float(age), float(age)) for age in given]
    if CHILD_WORDS.intersection(words):
        return [(0.0, ADULT_AGE - 1.0)]
    if OFFSPRING_WORDS.intersection(words):
        return [(0.0, OLDER_ADULT_SERVICE_AGE - 1.0)]
    return []


def served_ages(
    minimum: float | None, maximum: float | None, eligibility: str, description: str
) -> tuple[float, float]:
    """The ages a service takes, from its HSDS ages and what its eligibility (else its
    description) says; several ranges ("age 60 or over, disabled individuals age 18-59") make
    one from the youngest to the oldest. Any age when nothing is said."""
    ranges: list[tuple[float, float]] = []
    if minimum is not None or maximum is not None:
        ranges.append((minimum or 0.0, maximum if maximum is not None else math.inf))
    for text in (eligibility, description):
        found = _ranges_in(text.lower())
        if found:
            ranges += found
            break
    if not ranges:
        return ANY_AGE
    return min(low for low, _ in ranges), max(high for _, high in ranges)


def _ranges_in(text: str) -> list[tuple[float, float]]:
    ranges = [(float(m[1]), float(m[2])) for m in _BETWEEN.finditer(text) if int(m[1]) <= int(m[2])]
    ranges += [(float(m[1]), math.inf) for m in _FROM.finditer(text)]
    ranges += [(0.0, float(m[1] or m[2]) - 1) for m in _UNDER.finditer(text)]  # "under 18": 17
    return ranges
