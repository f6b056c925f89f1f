"""Phone numbers as a phone dials them: one tap in the chat calls the number.

Directories write numbers every way ("(515) 555-0149", "650 780-7525", "1-800-FLOWERS",
"312.938.2106 x12"). Written in international form ("+1 515-555-0149") a phone recognises them
as numbers to call; Google's libphonenumber (the `phonenumbers` package) knows every country's
rules, so a community outside the US only sets its region (PHONE_REGION).
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

log = logging.getLogger(__name__)

DEFAULT_REGION = "US"
# The community's region, for numbers written without a country code. One per process: the
# composition root sets it from PHONE_REGION (bot.application.build_application).
_region = DEFAULT_REGION
_SHORT_CODE = re.compile(r"^\+?[0-9]{2,6}$")  # 911, 988, 112, 024: dialled as written


@dataclass(frozen=True, slots=True)
class PhoneLine:
    """One number of a service, with what the directory says about it."""

    number: str
    kind: str | None = None  # HSDS phone type: voice, text, fax, cell, textphone...
    extension: str | None = None
    description: str | None = None
    languages: tuple[str, ...] = ()  # language codes or names the line is answered in
    place: str | None = None  # the location it rings at, for a location's number


def use_region(region: str) -> None:
    """Read numbers without a country code as this region's ("US", "MX", "ES")."""
    global _region
    _region = region.upper()


def dialable(number: str, extension: str | None = None, region: str | None = None) -> str:
    """The number in international form ("+1 515-555-0149 ext. 12"); short codes (911) and
    what is not a phone number are given back as written, tidied."""
    written = " ".join(number.split())
    if _SHORT_CODE.match(written.replace(" ", "")):
        return written.replace(" ", "")
    try:
        parsed = phonenumbers.parse(written, region or _region)
    except phonenumbers.NumberParseException:
        return written
    if not phonenumbers.is_possible_number(parsed):
        return written
    if extension and not parsed.extension:
        parsed.extension = "".join(c for c in extension if c.isdigit()) or None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def is_phone_number(text: str, region: str | None = None) -> bool:
    """Whether `text` is a number someone can dial: a full number or a short code like 988."""
    written = "".join(text.split())
    if _SHORT_CODE.match(written):
        return True
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(text, region or _region))
    except phonenumbers.NumberParseException:
        return False


def is_known_region(region: str) -> bool:
    return region.upper() in phonenumbers.SUPPORTED_REGIONS


# Where numbers ring, once found out: (number, region) -> "Chicago, IL", or None.
_rings: dict[tuple[str, str], str | None] = {}
GEOCODER_SECONDS = 60


def where_they_ring(numbers: Iterable[str], region: str | None = None) -> dict[str, str]:
    """The place each number's area code belongs to, as libphonenumber's geocoder names it
    ("Chicago, IL", "Illinois"); numbers it cannot place (toll-free, unknown) are left out.

    The geocoder's data, every country's in every language, takes some 100 MB once imported
    and is never let go, for the few services that name no place: it is asked in a
    short-lived child process, and its answers are kept."""
    region = region or _region
    wanted = set(numbers)
    asked = sorted(n for n in wanted if (n, region) not in _rings)
    if asked:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "knowledge.phones", region],
                input=json.dumps(asked),
                capture_output=True,
                text=True,
                timeout=GEOCODER_SECONDS,
                check=True,
            )
            found: dict[str, str] = json.loads(done.stdout)
        except (OSError, subprocess.SubprocessError, ValueError):
            log.warning(
                "the phone geocoder did not answer: services naming no place stay unplaced",
                exc_info=True,
            )
            found = {}
        else:
            for number in asked:
                _rings[(number, region)] = found.get(number)
    return {n: town for n in wanted if (town := _rings.get((n, region)))}


def _geocode(numbers: list[str], region: str) -> dict[str, str]:
    from phonenumbers import geocoder  # only ever in the child process

    places = {}
    for number in numbers:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            if place := geocoder.description_for_number(parsed, "en"):
                places[number] = place
    return places


if __name__ == "__main__":  # where_they_ring's child process: numbers in, places out (JSON)
    print(json.dumps(_geocode(json.load(sys.stdin), sys.argv[1])))
