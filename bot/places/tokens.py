"""Chat text → folded word tokens with their positions ("q1" read as "q" "1")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.text import fold, normalize

# Only this much of a text is read: one Telegram message
# (https://core.telegram.org/bots/api#sendmessage). Web chat accepts 20 000 characters; a
# place named after the first 4096 is not looked for, so a scan stays bounded.
MAX_TEXT_LENGTH = 4096

WORD = re.compile(r"[^\W_]+")  # the word rule of bot.text.words, with positions
_JOINING = re.compile(r"[ \t\-'’]*")  # what may stand between the words of one name
_UNIT_NUMBER = re.compile(r"(p|ph|q|x|h|tt|tx)(\d+)")  # "q1", "p5"


@dataclass(frozen=True)
class Token:
    """One word of the text, folded and as typed (lower case), and where it stands."""

    folded: str
    accented: str
    start: int
    end: int
    joined: bool  # only spaces, hyphens or apostrophes since the last word: a name may go on


_fold_word = lru_cache(maxsize=16_384)(fold)  # chat repeats its words; folding is the cost


def tokenize(text: str) -> tuple[str, list[Token]]:
    """The text as read (normalized, at most ``MAX_TEXT_LENGTH``) and its word tokens."""
    text = normalize(text[:MAX_TEXT_LENGTH])
    tokens: list[Token] = []
    last = 0
    for m in WORD.finditer(text):
        accented = m.group().lower()
        folded = _fold_word(accented)
        joined = _JOINING.fullmatch(text[last : m.start()]) is not None
        last = m.end()
        split = _UNIT_NUMBER.fullmatch(folded)
        if split:  # "q1" → "q" "1"
            for part in split.groups():
                tokens.append(Token(part, part, m.start(), m.end(), joined))
        else:
            tokens.append(Token(folded, accented, m.start(), m.end(), joined))
    return text, tokens
