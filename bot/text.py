"""Vietnamese text handling: NFC, tone-mark placement, accent folding, chat abbreviations.

Standard library only and Python 3.10-safe: the Rasa server (Python 3.10) imports this module
through ``bot.assistant.vi_tokenizer``; the app (Python >= 3.12) imports it too.
"""

from __future__ import annotations

import re
import unicodedata

# Tone marks as combining characters (NFD): grave, acute, tilde, hook above, dot below.
_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"

# "hoà" (new style) and "hòa" (old style) are the same word; we write the old style, which is
# what most keyboards and official place names use. Only open syllables move the mark: in
# "hoàn" the mark stays on "a" in both styles, and "quý" keeps it on "y" ("qu" is a consonant).
# A breve, circumflex or horn after the mark belongs to the same vowel ("hoặc"): no move.
_OPEN = r"(?![a-zA-ZđĐ\u0302\u0306\u031b])"
_OLD_STYLE_OA_OE = re.compile(r"([oO])([aAeE])([" + _TONE_MARKS + r"])" + _OPEN)
_OLD_STYLE_UY = re.compile(r"(?<![qQ])([uU])([yY])([" + _TONE_MARKS + r"])" + _OPEN)

# Control characters (C0, DEL, C1) except tab and newline; zero-width and bidi marks.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060\ufeff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# 0 or +84, then 8-10 more digits, optionally grouped by spaces, dots or dashes:
# "0912 345 678", "+84912345678", "024.3825.1234".
PHONE = re.compile(r"(?<![\w+])(?:\+84|0)(?:[ .-]?\d){8,10}(?![\w])")
PHONE_MASK = "[phone]"

# Chat abbreviations, keyed by the folded token (see fold()). Only unambiguous ones: "a", "e",
# "c" (anh/em/chị) and "bn" (bạn/bao nhiêu) are left for the model to learn from context.
ABBREVIATIONS: dict[str, str] = {
    "ko": "khong",
    "k": "khong",
    "kg": "khong",
    "kh": "khong",
    "khg": "khong",
    "hok": "khong",
    "hk": "khong",
    "khum": "khong",
    "dc": "duoc",
    "j": "gi",
    "ntn": "nhu the nao",
    "sdt": "so dien thoai",
    "dt": "dien thoai",
    "mk": "minh",
    "mik": "minh",
    "mjk": "minh",
    "vs": "voi",
    "r": "roi",
    "oy": "roi",
    "rui": "roi",
    "ng": "nguoi",
    "trc": "truoc",
    "cx": "cung",
    "bit": "biet",
    "bik": "biet",
    "bjk": "biet",
    "kb": "khong biet",
    "hnay": "hom nay",
    "bh": "bao gio",
    "nhiu": "nhieu",
    "thui": "thoi",
    "dag": "dang",
    "ak": "a",
    "ah": "a",
    "cj": "chi",
    "ad": "admin",
    "bv": "benh vien",
    "ubnd": "uy ban nhan dan",
    "tp": "thanh pho",
    "hn": "ha noi",
    "hcm": "ho chi minh",
    "tphcm": "ho chi minh",
    "sg": "sai gon",
    "oke": "ok",
    "okie": "ok",
    "okay": "ok",
}


def clean(text: str) -> str:
    """Drop control and zero-width characters, collapse spaces, trim; keeps newlines."""
    text = _CONTROL.sub("", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def normalize(text: str) -> str:
    """NFC with one tone-mark placement (hòa, thủy), cleaned of control characters."""
    decomposed = unicodedata.normalize("NFD", clean(text))
    decomposed = _OLD_STYLE_OA_OE.sub(r"\1\3\2", decomposed)
    decomposed = _OLD_STYLE_UY.sub(r"\1\3\2", decomposed)
    return unicodedata.normalize("NFC", decomposed)


class _Marks(dict[int, int | None]):
    """``str.translate``'s table that drops combining marks (category Mn), each character
    looked up once: a pass in C instead of a category call per character. Only characters
    below U+3000 (Latin, Vietnamese, the marks themselves, punctuation) are kept in the table,
    so text in every script under the sun cannot grow it beyond a few thousand entries."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.category(chr(code)) == "Mn" else code
        if code < 0x3000:
            self[code] = kept
        return kept


_MARKS = _Marks({ord("đ"): ord("d"), ord("Đ"): ord("D")})


def strip_diacritics(text: str) -> str:
    """The text as typed on a keyboard without Vietnamese input: marks removed, case kept."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).translate(_MARKS))


def fold(text: str) -> str:
    """The matching key: normalized, lower case, no diacritics, đ → d."""
    return strip_diacritics(normalize(text)).lower()


def words(text: str) -> list[str]:
    """Folded words (letters and digits), punctuation and emoji dropped."""
    return _WORD.findall(fold(text))


def expand(word: str) -> str:
    """A folded word with its chat abbreviation expanded ("ko" → "khong")."""
    return ABBREVIATIONS.get(word, word)


def key(text: str) -> str:
    """Folded words with abbreviations expanded, space-joined: "Ko đc à?" → "khong duoc a"."""
    return " ".join(expand(word) for word in words(text))


def has_words(text: str) -> bool:
    """Whether the text contains at least one letter or digit (not only emoji or punctuation)."""
    return bool(_WORD.search(text))


def storable(text: str) -> str:
    """``text`` as SQLite and PostgreSQL can store it: lone surrogates (from a JSON escape
    such as ``"\\ud800"``) become U+FFFD, a split pair is joined, NUL is dropped."""
    if _SURROGATE.search(text):
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text.replace("\x00", "")


def mask_phones(text: str) -> str:
    """``text`` with anything that looks like a Vietnamese phone number replaced by a mask."""
    return PHONE.sub(PHONE_MASK, text)
