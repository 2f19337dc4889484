"""Vietnamese phone numbers as people write them → the national form ``0xxxxxxxxx``.

Accepted: ``+84``, ``84``, ``0084`` or ``0`` in front (``+84 (0) 912…`` too), separated by
spaces, dots, dashes or parentheses. Mobile numbers have 10 digits and start with 03, 05, 07,
08 or 09; landlines have 11 digits and start with 02 (area codes since 2017). An old 11-digit
mobile number (01xx, renumbered in 2018) is given back in its current form with
``converted=True``, so the form can read the new number back to the person. Emergency and
service numbers (113, 115, 1900…) and foreign numbers are not contact phones.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MOBILE, LANDLINE = "mobile", "landline"

# Why a text is not a contact phone (the form picks the question to ask again from these).
EMPTY = "empty"
NOT_A_NUMBER = "not_a_number"  # letters or other signs
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
EMERGENCY = "emergency"  # 111–115: the person should call it, not give it
SERVICE = "service"  # 1800 / 1900 hotlines and other short numbers
FOREIGN = "foreign"
UNKNOWN_PREFIX = "unknown_prefix"

MOBILE_PREFIXES = ("03", "05", "07", "08", "09")
LANDLINE_PREFIX = "02"
MOBILE_LENGTH, LANDLINE_LENGTH = 10, 11
EMERGENCY_NUMBERS = frozenset({"111", "112", "113", "114", "115"})
MAX_INPUT = 40  # a phone number, not a message

# The 2018 renumbering of 11-digit mobile numbers (QĐ 798/QĐ-BTTTT, 25/5/2018): old prefix →
# new prefix; the 7 digits after the prefix are unchanged.
OLD_MOBILE_PREFIXES = {
    **{f"016{d}": f"03{d}" for d in "23456789"},  # Viettel 0162–0169 → 032–039
    "0120": "070",  # MobiFone
    "0121": "079",
    "0122": "077",
    "0126": "076",
    "0128": "078",
    "0123": "083",  # VinaPhone
    "0124": "084",
    "0125": "085",
    "0127": "081",
    "0129": "082",
    "0186": "056",  # Vietnamobile
    "0188": "058",
    "0199": "059",  # Gmobile
}

_SEPARATORS = re.compile(r"[\s.\-()]+")


@dataclass(frozen=True)
class Phone:
    """A parse result: the national number, or None and the reason."""

    number: str | None
    reason: str | None = None
    kind: str | None = None  # MOBILE | LANDLINE
    converted: bool = False  # written with an old 01xx prefix, given in its current form

    @property
    def valid(self) -> bool:
        return self.number is not None


def parse(text: str) -> Phone:
    """The contact phone in ``text`` (the whole text is the number), or why it is not one."""
    raw = unicodedata.normalize("NFKC", text).strip()  # NFKC: full-width digits → ASCII
    if not raw:
        return Phone(None, EMPTY)
    if len(raw) > MAX_INPUT:
        return Phone(None, TOO_LONG)
    compact = _SEPARATORS.sub("", raw)
    international = compact.startswith("+")
    digits = compact.removeprefix("+")
    if not digits.isascii() or not digits.isdigit():
        return Phone(None, NOT_A_NUMBER)
    if not international and digits.startswith("00"):  # the international call prefix
        international, digits = True, digits[2:]
    if international:
        if not digits.startswith("84"):
            return Phone(None, FOREIGN)
        return _national(_trunk(digits[2:]))
    if digits in EMERGENCY_NUMBERS:
        return Phone(None, EMERGENCY)
    if digits.startswith("0"):
        return _national(digits)
    if digits.startswith("84") and len(digits) >= MOBILE_LENGTH + 1:  # 84 + 9 or 10 digits
        return _national(_trunk(digits[2:]))
    if digits.startswith(("1800", "1900")) or len(digits) <= 6:
        return Phone(None, SERVICE if digits.startswith("1") else TOO_SHORT)
    return Phone(None, TOO_SHORT if len(digits) < MOBILE_LENGTH else UNKNOWN_PREFIX)


def _trunk(rest: str) -> str:
    """After the country code: the national number, keeping a written trunk 0 only once."""
    return rest if rest.startswith("0") else "0" + rest


def _national(number: str) -> Phone:
    if len(number) < MOBILE_LENGTH:
        return Phone(None, TOO_SHORT)
    if number.startswith("01"):
        new = OLD_MOBILE_PREFIXES.get(number[:4])
        if new is None:
            return Phone(None, UNKNOWN_PREFIX)
        if len(number) != LANDLINE_LENGTH:  # the old mobile numbers had 11 digits
            return Phone(None, TOO_SHORT if len(number) < LANDLINE_LENGTH else TOO_LONG)
        return Phone(new + number[4:], kind=MOBILE, converted=True)
    if number.startswith(LANDLINE_PREFIX):
        return _sized(number, LANDLINE_LENGTH, LANDLINE)
    if number.startswith(MOBILE_PREFIXES):
        return _sized(number, MOBILE_LENGTH, MOBILE)
    return Phone(None, UNKNOWN_PREFIX)


def _sized(number: str, length: int, kind: str) -> Phone:
    if len(number) < length:
        return Phone(None, TOO_SHORT)
    if len(number) > length:
        return Phone(None, TOO_LONG)
    return Phone(number, kind=kind)
