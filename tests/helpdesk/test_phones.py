"""Vietnamese phone numbers in every common writing, and the texts that are not contact phones."""

from __future__ import annotations

import pytest

from bot.helpdesk import phones
from bot.helpdesk.phones import (
    EMERGENCY,
    EMPTY,
    FOREIGN,
    LANDLINE,
    MOBILE,
    NOT_A_NUMBER,
    SERVICE,
    TOO_LONG,
    TOO_SHORT,
    UNKNOWN_PREFIX,
)

VALID = [
    # (label, written, national number, kind, converted from an old 01xx number)
    ("plain mobile", "0912345678", "0912345678", MOBILE, False),
    ("spaces 4-3-3", "0912 345 678", "0912345678", MOBILE, False),
    ("dots", "0912.345.678", "0912345678", MOBILE, False),
    ("dashes", "0912-345-678", "0912345678", MOBILE, False),
    ("mixed separators", "09 12-34.56 78", "0912345678", MOBILE, False),
    ("one digit at a time", "0 3 8 1 2 3 4 5 6 7", "0381234567", MOBILE, False),
    ("+84", "+84912345678", "0912345678", MOBILE, False),
    ("+84 spaced", "+84 912 345 678", "0912345678", MOBILE, False),
    ("+84 dashes", "+84-91-234-5678", "0912345678", MOBILE, False),
    ("(+84)", "(+84) 35 123 4567", "0351234567", MOBILE, False),
    ("+84 (0)", "+84 (0) 912 345 678", "0912345678", MOBILE, False),
    ("+84 with the trunk 0", "+84 0912345678", "0912345678", MOBILE, False),
    ("84 without plus", "84912345678", "0912345678", MOBILE, False),
    ("84 spaced", "84 86 123 4567", "0861234567", MOBILE, False),
    ("0084", "0084 912 345 678", "0912345678", MOBILE, False),
    ("05 Vietnamobile", "0521234567", "0521234567", MOBILE, False),
    ("07 MobiFone", "070 123 4567", "0701234567", MOBILE, False),
    ("08 VinaPhone", "0888.123.456", "0888123456", MOBILE, False),
    ("full-width digits", "０９１２３４５６７８", "0912345678", MOBILE, False),
    ("surrounding spaces", "  0912345678  ", "0912345678", MOBILE, False),
    ("Hà Nội landline", "024 3825 1234", "02438251234", LANDLINE, False),
    ("HCMC landline, parentheses", "(028) 3829 1234", "02838291234", LANDLINE, False),
    ("Đà Nẵng landline", "0236.3821.234", "02363821234", LANDLINE, False),
    ("landline +84", "+84 24 3825 1234", "02438251234", LANDLINE, False),
    ("old Viettel 0168", "0168 123 4567", "0381234567", MOBILE, True),
    ("old MobiFone 0121", "01211234567", "0791234567", MOBILE, True),
    ("old VinaPhone 0127 +84", "+84 127 123 4567", "0811234567", MOBILE, True),
    ("old Gmobile 0199", "0199-123-4567", "0591234567", MOBILE, True),
]

INVALID = [
    # (label, written, reason)
    ("empty", "", EMPTY),
    ("blank", "   ", EMPTY),
    ("letter O for zero", "09O1234567", NOT_A_NUMBER),
    ("words", "số của tôi", NOT_A_NUMBER),
    ("a number with words", "sdt 0912345678", NOT_A_NUMBER),
    ("slash between numbers", "0912345678/0987654321", NOT_A_NUMBER),
    ("plus in the middle", "09+12345678", NOT_A_NUMBER),
    ("double plus", "++84912345678", NOT_A_NUMBER),
    ("too short mobile", "091234567", TOO_SHORT),
    ("far too short", "0912", TOO_SHORT),
    ("missing the 0", "912345678", TOO_SHORT),
    ("too long mobile", "09123456789", TOO_LONG),
    ("too short landline", "0243825123", TOO_SHORT),
    ("too long landline", "024382512345", TOO_LONG),
    ("a whole message", "0" * 41, TOO_LONG),
    ("ambulance 115", "115", EMERGENCY),
    ("police 113", "113", EMERGENCY),
    ("fire 114", "1 1 4", EMERGENCY),
    ("1900 hotline", "1900 9095", SERVICE),
    ("1800 hotline", "1800.1234", SERVICE),
    ("short service", "1022", SERVICE),
    ("US", "+1 202 555 0100", FOREIGN),
    ("Laos", "+856 20 5555 5555", FOREIGN),
    ("00 + Singapore", "0065 9123 4567", FOREIGN),
    ("old Hà Nội landline 04", "04 3825 1234", UNKNOWN_PREFIX),
    ("06 is not a prefix", "0612345678", UNKNOWN_PREFIX),
    ("old 01xx never assigned", "0130 123 4567", UNKNOWN_PREFIX),
    ("old 0168 one digit short", "0168123456", TOO_SHORT),
    ("ten digits, no 0", "6591234567", UNKNOWN_PREFIX),
]


@pytest.mark.parametrize(
    ("written", "number", "kind", "converted"),
    [row[1:] for row in VALID],
    ids=[row[0] for row in VALID],
)
def test_valid_numbers(written: str, number: str, kind: str, converted: bool) -> None:
    assert phones.parse(written) == phones.Phone(number, None, kind, converted)


@pytest.mark.parametrize(
    ("written", "reason"), [row[1:] for row in INVALID], ids=[row[0] for row in INVALID]
)
def test_invalid_numbers(written: str, reason: str) -> None:
    parsed = phones.parse(written)
    assert (parsed.number, parsed.reason, parsed.valid) == (None, reason, False)


def test_every_old_prefix_gives_a_current_mobile_prefix() -> None:
    for old, new in phones.OLD_MOBILE_PREFIXES.items():
        parsed = phones.parse(old + "1234567")
        assert parsed.number == new + "1234567" and parsed.converted, old
        assert parsed.number.startswith(phones.MOBILE_PREFIXES)
