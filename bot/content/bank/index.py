"""Matching a message against the question bank: TF-IDF cosine over Loa's folded words.

An entry is one document: the words of all its phrasings, folded (no diacritics, chat
abbreviations expanded, a few spellings unified — ``words.yml``), politeness and question frames
left out, weighted by TF-IDF and normalised. A message gets the same words; its score against
an entry is their cosine, 0 to 1. A word of the message that the bank never uses counts as the
rarest word: a question about something the bank does not know ("giá xét nghiệm ở bệnh viện
X") scores lower than the same question without it. On the answer test set (``make
bench-answers``) this beat one document per phrasing, word pairs and character n-grams (the
issue note has the table); it runs in pure Python over an inverted index, a fraction of a
millisecond per question with thousands of entries.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import yaml

from bot import text as vi

WORDS_FILE = Path(__file__).with_name("words.yml")


@dataclass(frozen=True)
class Words:
    """What matching ignores and unifies (``words.yml``)."""

    filler: frozenset[str]  # words that carry no topic ("cho", "hoi", "minh", "a", …)
    filler_phrases: tuple[tuple[str, ...], ...]  # question frames ("the nao"), longest first
    spelling: dict[str, str]  # folded word → its usual spelling ("vacxin" → "vac xin")
    same: dict[tuple[str, ...], str]  # a phrase → the one word it means ("duong tinh" → "f0")
    longest: int  # words in the longest such phrase


@cache
def words() -> Words:
    raw = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
    spelling = {vi.fold(k): vi.fold(v) for k, v in (raw.get("spelling") or {}).items()}
    same = {
        tuple(vi.fold(phrase).split()): vi.fold(word)
        for word, phrases in (raw.get("same") or {}).items()
        for phrase in phrases
    }
    filler = frozenset(vi.fold(w) for w in raw.get("filler") or ())
    phrases = sorted(
        {tuple(vi.fold(p).split()) for p in raw.get("filler_phrases") or ()}, key=len, reverse=True
    )
    return Words(filler, tuple(phrases), spelling, same, max((len(p) for p in same), default=1))


def tokens(text: str) -> list[str]:
    """A message's matching words: folded, abbreviations expanded, spellings unified, phrases
    of one meaning made one word."""
    known = words()
    spelled: list[str] = []
    for word in vi.key(text).split():
        spelled.extend(known.spelling.get(word, word).split())
    out: list[str] = []
    i = 0
    while i < len(spelled):
        for n in range(min(known.longest, len(spelled) - i), 0, -1):
            meaning = known.same.get(tuple(spelled[i : i + n]))
            if meaning is not None:
                out.append(meaning)
                i += n
                break
        else:
            out.append(spelled[i])
            i += 1
    return out


def terms(text: str) -> Counter[str]:
    """The words that are not filler (nor part of a question frame), with their counts."""
    known = words()
    found = tokens(text)
    for phrase in known.filler_phrases:
        n, i = len(phrase), 0
        while i + n <= len(found):
            if tuple(found[i : i + n]) == phrase:
                del found[i : i + n]
            else:
                i += 1
    return Counter(w for w in found if w not in known.filler)


@lru_cache(maxsize=65_536)
def phrasing_terms(phrasing: str) -> Counter[str]:
    """``terms`` of a bank phrasing, kept: rebuilding the index after a change then only reads
    the phrasings that changed. (Callers must not modify the result.)"""
    return terms(phrasing)


@dataclass(frozen=True)
class Hit:
    key: str
    score: float  # cosine, 0..1


class BankIndex:
    """An inverted index of ``entries`` ((key, phrasings) pairs), one document per entry."""

    def __init__(self, entries: Iterable[tuple[str, Sequence[str]]]) -> None:
        docs: list[tuple[str, Counter[str]]] = []
        for key, phrasings in entries:
            found: Counter[str] = Counter()
            for phrasing in phrasings:
                found.update(phrasing_terms(phrasing))
            docs.append((key, found))
        df: Counter[str] = Counter()
        for _, found in docs:
            df.update(found.keys())
        n = max(len(docs), 1)
        self.idf = {term: math.log((1 + n) / (1 + count)) + 1.0 for term, count in df.items()}
        # A word the bank never uses still counts against the score (it is part of the
        # question), weighted as the rarest word.
        self.rare = max(self.idf.values(), default=1.0)
        # term → (entry numbers, their normalised weights), as two lists for a quick scan.
        self.postings: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        self.keys = [key for key, _ in docs]
        for number, (_, found) in enumerate(docs):
            weights = {t: (1 + math.log(c)) * self.idf[t] for t, c in found.items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for term, weight in weights.items():
                numbers, doc_weights = self.postings[term]
                numbers.append(number)
                doc_weights.append(weight / norm)

    def search(self, text: str, *, limit: int = 3, allowed: set[str] | None = None) -> list[Hit]:
        """The best entries for ``text``, best first, one hit per entry; ``allowed`` limits the
        answer to those keys (the entries valid now; None: all)."""
        weights = {
            t: (1 + math.log(c)) * self.idf.get(t, self.rare) for t, c in terms(text).items()
        }
        norm = math.sqrt(sum(w * w for w in weights.values()))
        if not norm:
            return []
        scores = [0.0] * len(self.keys)
        touched: set[int] = set()
        for term, weight in weights.items():
            found = self.postings.get(term)
            if found is None:
                continue
            numbers, doc_weights = found
            touched.update(numbers)
            for number, doc_weight in zip(numbers, doc_weights, strict=True):
                scores[number] += weight * doc_weight
        ranked = heapq.nlargest(
            limit if allowed is None else len(touched), touched, key=scores.__getitem__
        )
        hits: list[Hit] = []
        for number in ranked:
            key = self.keys[number]
            if allowed is None or key in allowed:
                hits.append(Hit(key, min(scores[number] / norm, 1.0)))
                if len(hits) == limit:
                    break
        return hits
