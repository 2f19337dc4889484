"""Matching a message against the question bank: TF-IDF cosine over Loa's folded words.

An entry is one document: the words of all its phrasings, folded (no diacritics, chat
abbreviations expanded, a few spellings unified — ``words.yml``), politeness and question frames
left out, weighted by TF-IDF and normalised. A message gets the same words; its score against
an entry is their cosine, 0 to 1. A word of the message that the bank never uses counts as the
rarest word: a question about something the bank does not know ("giá xét nghiệm ở bệnh viện
X") scores lower than the same question without it. On the answer test set (``make
bench-answers``) this beat one document per phrasing, word pairs and character n-grams (the
issue note has the table). It runs over an inverted index whose postings are numpy arrays: one
array operation per word of the message, so 10,000 entries cost about what 2,000 did
(``make bench-answers``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
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
    starts: frozenset[str]  # the first words of those phrases: any other word is itself


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
    longest = max((len(p) for p in same), default=1)
    return Words(filler, tuple(phrases), spelling, same, longest, frozenset(p[0] for p in same))


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
        if spelled[i] not in known.starts:
            out.append(spelled[i])
            i += 1
            continue
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
    present = set(found)  # removing a frame only takes words away: others cannot appear
    for phrase in known.filler_phrases:
        if not present.issuperset(phrase):
            continue
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


def _postings(
    docs: list[Counter[str]], idf: dict[str, float]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """term → (the numbers of the entries that use it, ascending; their weights): TF-IDF,
    each entry's weights divided by their Euclidean norm. Worked on arrays, not term by term;
    the same operations as ``(1 + log(c)) * idf``, then ``sqrt(sum(w * w))`` per entry, so the
    weights are the same floats as term by term."""
    if not idf:
        return {}
    term_ids = {term: number for number, term in enumerate(idf)}
    sizes = np.fromiter((len(found) for found in docs), np.intp, len(docs))
    total = int(sizes.sum())
    terms_of = np.fromiter((term_ids[t] for found in docs for t in found), np.intp, total)
    counts = np.fromiter((c for found in docs for c in found.values()), np.intp, total)
    doc_of = np.repeat(np.arange(len(docs), dtype=np.intp), sizes)
    tf = np.array([0.0] + [1 + math.log(c) for c in range(1, int(counts.max(initial=1)) + 1)])
    weights = tf[counts] * np.fromiter(idf.values(), float, len(idf))[terms_of]
    # Python's sum() of floats (compensated since 3.12) per entry, as the scores always had.
    squares = (weights * weights).tolist()
    spans = zip(np.cumsum(sizes).tolist(), sizes.tolist(), strict=True)
    norms = np.array([math.sqrt(sum(squares[end - size : end])) or 1.0 for end, size in spans])
    weights = weights / norms[doc_of]
    order = np.argsort(terms_of, kind="stable")  # by term, then by entry (already ascending)
    by_term = terms_of[order]
    # Every term is used by some entry, so the groups are the terms in ``idf``'s order.
    bounds = np.flatnonzero(np.diff(by_term)) + 1
    numbers = np.split(doc_of[order], bounds)
    values = np.split(weights[order], bounds)
    return dict(zip(idf, zip(numbers, values, strict=True), strict=True))


@dataclass(frozen=True)
class Hit:
    key: str
    score: float  # cosine, 0..1


class BankIndex:
    """An inverted index of ``entries`` ((key, phrasings) pairs), one document per entry.

    ``reuse`` is an earlier index: an entry whose phrasings it already read is not read again,
    so after an edit only the entries that changed are (the bank's snapshot passes its last
    index). Reusing never changes the result: an index is the same built either way."""

    def __init__(
        self, entries: Iterable[tuple[str, Sequence[str]]], reuse: BankIndex | None = None
    ) -> None:
        known = reuse.entry_terms if reuse is not None else {}
        # phrasings → their terms, for the next index (only this bank's entries: it cannot grow)
        self.entry_terms: dict[tuple[str, ...], Counter[str]] = {}
        self.keys: list[str] = []
        docs: list[Counter[str]] = []
        for key, phrasings in entries:
            said = tuple(phrasings)
            found = known.get(said)
            if found is None:
                found = Counter()
                for phrasing in said:
                    found.update(phrasing_terms(phrasing))
            self.entry_terms[said] = found
            self.keys.append(key)
            docs.append(found)
        df: Counter[str] = Counter()
        for found in docs:
            df.update(found.keys())
        n = max(len(docs), 1)
        self.idf = {term: math.log((1 + n) / (1 + count)) + 1.0 for term, count in df.items()}
        # A word the bank never uses still counts against the score (it is part of the
        # question), weighted as the rarest word.
        self.rare = max(self.idf.values(), default=1.0)
        self.postings = _postings(docs, self.idf)
        self._allowed: tuple[frozenset[str], np.ndarray] | None = None

    def _mask(self, allowed: Collection[str]) -> np.ndarray:
        """Which entries ``allowed`` lets answer. The mask of a frozenset is kept for as long
        as the same one comes: the bank's snapshot hands out one until a validity date is
        crossed, and it cannot change in between."""
        if self._allowed is not None and self._allowed[0] is allowed:
            return self._allowed[1]
        mask = np.fromiter((key in allowed for key in self.keys), bool, len(self.keys))
        if isinstance(allowed, frozenset):
            self._allowed = (allowed, mask)
        return mask

    def search(
        self, text: str, *, limit: int = 3, allowed: Collection[str] | None = None
    ) -> list[Hit]:
        """The best entries for ``text``, best first (an equal score: the earlier entry), one
        hit per entry; ``allowed`` limits the answer to those keys (the entries valid now;
        None: all)."""
        weights = {
            t: (1 + math.log(c)) * self.idf.get(t, self.rare) for t, c in terms(text).items()
        }
        norm = math.sqrt(sum(w * w for w in weights.values()))
        if not norm or limit < 1:
            return []
        scores = np.zeros(len(self.keys))
        for term, weight in weights.items():
            found = self.postings.get(term)
            if found is not None:
                numbers, doc_weights = found
                scores[numbers] += weight * doc_weights
        if allowed is not None:
            scores[~self._mask(allowed)] = 0.0
        # Every weight is positive, so a score above 0 is an entry sharing a word.
        numbers = np.flatnonzero(scores)
        best = scores[numbers]
        if len(best) > limit:  # the ``limit`` best and any tied with the last of them
            keep = best >= np.partition(best, len(best) - limit)[len(best) - limit]
            numbers, best = numbers[keep], best[keep]
        order = np.argsort(-best, kind="stable")[:limit]
        return [
            Hit(self.keys[number], min(float(score) / norm, 1.0))
            for number, score in zip(numbers[order].tolist(), best[order].tolist(), strict=True)
        ]
