"""Phone numbers as a phone dials them: one tap in the chat calls the number.

Directories write numbers every way ("(515) 555-0149", "650 780-7525", "1-800-FLOWERS",
"312.938.2106 x12"). Written in international form ("+1 515-555-0149") a phone recognises them
as numbers to call; Google's libphonenumber (the `phonenumbers` package) knows every country's
rules, so a community outside the US only sets its region (PHONE_REGION).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import geocoder

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


def where_it_rings(number: str, region: str | None = None) -> str | None:
    """The place a number's area code belongs to, as libphonenumber's geocoder names it
    ("Chicago, IL", "Illinois"), or None (toll-free, unknown, not a number)."""
    try:
        parsed = phonenumbers.parse(number, region or _region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return geocoder.description_for_number(parsed, "en") or None
