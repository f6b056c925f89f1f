"""What a directory's fees text tells a family: free, a price to show, or nothing at all.

Directories fill `fees_description` with "None", "N/A", "$0", "-" as often as with a real
answer. "None" and "$0" mean it costs nothing and are said as "Free"; "N/A" and "-" say nothing
and are left out, so a card never reads "💲 None.".
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.text import fold

# Folded (lowercase, no accents or punctuation), compared with the whole text.
NO_COST = frozenset(
    {
        "free",
        "none",
        "no fee",
        "no fees",
        "no cost",
        "no charge",
        "no charges",
        "free of charge",
        "no",
        "0",
        "0 00",
        "gratis",
        "gratuito",
        "gratuita",
        "sin costo",
        "sin cargo",
        "ninguno",
        "ninguna",
    }
)
SAYS_NOTHING = frozenset(
    {"", "n a", "na", "nan", "null", "unknown", "tbd", "not applicable", "not available"}
)


@dataclass(frozen=True, slots=True)
class Fees:
    free: bool = False
    text: str | None = None  # what to show as written, when it says more than "free"


def read_fees(text: str | None) -> Fees | None:
    """None when the text says nothing; Fees(free=True) for "None", "$0", "no fee"...;
    otherwise the text itself."""
    if text is None:
        return None
    written = " ".join(text.split()).strip(" .;,")
    folded = fold(written.replace("$", ""))
    if folded in SAYS_NOTHING:
        return None
    if folded in NO_COST:
        return Fees(free=True)
    return Fees(text=written)
