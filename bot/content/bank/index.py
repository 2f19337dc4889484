"""Matching a message against the question bank: TF-IDF cosine over Loa's folded words.

Every phrasing of every entry is a small document of terms: folded words (no diacritics, chat
abbreviations expanded, a few spellings unified — ``words.yml``) and word pairs, weighted by
TF-IDF and normalised. A message gets the same terms; an entry's score is the best cosine of
its phrasings, 0 to 1. Word pairs reward the same wording ("cach ly" beats "cach" + "ly"
apart). ``make bench-answers`` chose this over character n-grams and whole-entry documents
(see the issue note); it runs in pure Python over an inverted index, so a question costs
about a millisecond with thousands of entries.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from bot import text as vi

WORDS_FILE = Path(__file__).with_name("words.yml")


@dataclass(frozen=True)
class Words:
    """What matching ignores and unifies (``words.yml``)."""

    filler: frozenset[str]  # words that carry no topic ("cho", "hoi", "minh", "a", …)
    spelling: dict[str, str]  # folded word → its usual spelling ("vacxin" → "vac xin")


@cache
def words() -> Words:
    raw = yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))
    spelling = {vi.fold(k): vi.fold(v) for k, v in (raw.get("spelling") or {}).items()}
    return Words(frozenset(vi.fold(w) for w in raw.get("filler") or ()), spelling)


def tokens(text: str) -> list[str]:
    """A message's matching words: folded, abbreviations expanded, spellings unified."""
    known = words()
    out: list[str] = []
    for word in vi.key(text).split():
        out.extend(known.spelling.get(word, word).split())
    return out


def terms(text: str) -> Counter[str]:
    """Words that are not filler, and pairs of neighbouring words (filler dropped first)."""
    filler = words().filler
    kept = [w for w in tokens(text) if w not in filler]
    found = Counter(kept)
    found.update(f"{a} {b}" for a, b in itertools.pairwise(kept))
    return found


@dataclass(frozen=True)
class Hit:
    key: str
    score: float  # cosine, 0..1
    phrasing: str  # the entry's phrasing that matched best


class BankIndex:
    """An inverted index of the phrasings of ``entries`` ((key, phrasings) pairs)."""

    def __init__(self, entries: Iterable[tuple[str, Sequence[str]]]) -> None:
        docs: list[tuple[str, str, Counter[str]]] = [
            (key, phrasing, terms(phrasing)) for key, phrasings in entries for phrasing in phrasings
        ]
        df: Counter[str] = Counter()
        for _, _, found in docs:
            df.update(found.keys())
        n = max(len(docs), 1)
        self.idf = {term: math.log((1 + n) / (1 + count)) + 1.0 for term, count in df.items()}
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self.docs = [(key, phrasing) for key, phrasing, _ in docs]
        for number, (_, _, found) in enumerate(docs):
            weights = {t: (1 + math.log(c)) * self.idf[t] for t, c in found.items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for term, weight in weights.items():
                self.postings[term].append((number, weight / norm))
        self.entry_count = len({key for key, _ in self.docs})

    def search(self, text: str, *, limit: int = 3, allowed: set[str] | None = None) -> list[Hit]:
        """The best entries for ``text``, best first, one hit per entry; ``allowed`` limits the
        answer to those keys (the entries valid now)."""
        found = terms(text)
        # A word the bank never uses still counts against the score (it is part of the
        # question), weighted as the rarest word.
        rare = max(self.idf.values(), default=1.0)
        weights = {t: (1 + math.log(c)) * self.idf.get(t, rare) for t, c in found.items()}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        if not norm:
            return []
        scores: defaultdict[int, float] = defaultdict(float)
        for term, weight in weights.items():
            for number, doc_weight in self.postings.get(term, ()):
                scores[number] += weight * doc_weight
        best: dict[str, Hit] = {}
        for number, score in scores.items():
            key, phrasing = self.docs[number]
            if allowed is not None and key not in allowed:
                continue
            cosine = score / norm
            if key not in best or cosine > best[key].score:
                best[key] = Hit(key, min(cosine, 1.0), phrasing)
        return sorted(best.values(), key=lambda h: -h.score)[:limit]
