"""The question bank: imported like all content (refused whole when wrong), matched without
caring for diacritics or chat abbreviations, and answered from the database as it is now."""

from __future__ import annotations

import copy
import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.content import files
from bot.content.bank import store
from bot.content.bank.index import BankIndex, terms, tokens
from bot.content.bank.route import LIMITS
from bot.storage.content import BankEntry
from tests.content.sample import HOME

DATABASES = ("sqlite", "postgresql")
NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)


def bank_file(*entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "1",
        "sources": [
            {
                "key": "byt",
                "title": "Hướng dẫn của Bộ Y tế",
                "issuer": "Bộ Y tế",
                "issued_on": "2022-03-16",
            },
        ],
        "questions": list(entries),
    }


def entry(key: str, *questions: str, answer: str = "Câu trả lời.", **more: Any) -> dict[str, Any]:
    return {
        "key": key,
        "topic": more.pop("topic", "isolation"),
        "area": more.pop("area", "toàn quốc"),
        "questions": list(questions),
        "answer": answer,
        "source": more.pop("source", "byt"),
        "effective_from": more.pop("effective_from", "2022-03-16"),
        **more,
    }


ISOLATION = entry(
    "f0-days",
    "F0 cách ly tại nhà mấy ngày?",
    "nhiễm covid phải ở nhà bao lâu",
    answer="Từ 16/3/2022, người mắc cách ly 7 ngày.",
)
VACCINE = entry(
    "vax-third",
    "tiêm mũi 3 vắc xin ở đâu",
    "mũi nhắc lại tiêm chỗ nào",
    topic="vaccination",
    answer="Mũi nhắc lại tiêm tại trạm y tế xã, phường.",
)
LEMON = entry(
    "rumour-lemon",
    "uống nước chanh nóng có chữa được covid không",
    "chanh mật ong diệt virus",
    topic="rumour",
    answer="Không đúng: nước chanh nóng không chữa được COVID-19.",
)


def found(session: Session, text: str, *, at: datetime = NOW, province: str = HOME) -> list[str]:
    """The entries the router would answer with (above the bank's threshold), best first."""
    hits = store.search(session, text, at=at, province=province)
    return [hit.key for hit in hits if hit.score >= LIMITS.bank]


def load(factory: sessionmaker[Session], raw: dict[str, Any], **kw: Any) -> Any:
    with factory.begin() as session:
        return files.load(raw, session=session, prefer_province=HOME, **kw)


def test_a_bank_file_loads_and_exports_unchanged(session_factory: sessionmaker[Session]) -> None:
    load(session_factory, bank_file(ISOLATION, VACCINE, LEMON))
    with session_factory() as session:
        out = files.dump(session=session, prefer_province=HOME)
    assert [q["key"] for q in out["questions"]] == ["f0-days", "vax-third", "rumour-lemon"]
    assert out["questions"][0]["questions"] == ISOLATION["questions"]
    load(session_factory, out)  # what export writes, import takes back
    with session_factory() as session:
        again = files.dump(session=session, prefer_province=HOME)
    assert again["questions"] == out["questions"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"answer": "   "}, "answer"),
        ({"source": "nowhere"}, "nowhere"),
        ({"questions": []}, "questions"),
        ({"topic": "astrology"}, "topic"),
    ],
    ids=["empty answer", "unknown source", "no phrasing", "unknown topic"],
)
def test_a_bad_entry_is_refused_and_nothing_is_stored(
    session_factory: sessionmaker[Session], change: dict[str, Any], problem: str
) -> None:
    bad = {**copy.deepcopy(VACCINE), **change}
    with pytest.raises(files.ContentError) as refused:
        load(session_factory, bank_file(ISOLATION, bad))
    assert problem in str(refused.value)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(BankEntry)) == 0


def test_the_same_question_in_two_entries_is_refused(
    session_factory: sessionmaker[Session],
) -> None:
    twin = entry("f0-twin", "F0 cach ly tai nha may ngay")  # the same once folded
    with pytest.raises(files.ContentError) as refused:
        load(session_factory, bank_file(ISOLATION, twin))
    assert "f0-days" in str(refused.value)


def test_the_demo_bank_is_valid_and_large_enough(session_factory: sessionmaker[Session]) -> None:
    for path in files.DEMO_FILES:
        load(session_factory, files.read_file(path))
    with session_factory() as session:
        rows = session.scalars(select(BankEntry)).all()
        assert len(rows) >= 150
        assert all(row.answer.strip() and row.source.issuer for row in rows)
        unconfirmed = [row for row in rows if not row.confirmed]
        assert all("chưa được xác nhận" in row.answer for row in unconfirmed)


def test_matching_ignores_diacritics_abbreviations_and_politeness() -> None:
    index = BankIndex([(e["key"], e["questions"]) for e in (ISOLATION, VACCINE, LEMON)])
    for text in (
        "F0 cách ly mấy ngày ạ",
        "f0 cach ly may ngay",
        "ad oi cho mk hoi f0 cach li bao lau vay",
    ):
        assert index.search(text)[0].key == "f0-days", text
    assert index.search("uong chanh nong co het covid ko")[0].key == "rumour-lemon"
    assert index.search("giá vàng hôm nay") == []  # nothing shared, nothing found
    assert terms("Cho mình hỏi với ạ") == {}  # politeness only: no term at all


@pytest.mark.parametrize(
    "text",
    [
        "mn ơi cho e hỏi F0 cách ly mấy ngày",
        "bn ơi nghe nói F0 cách ly mấy ngày, có đúng không",
        "ad oi F0 thi cach ly may ngay vay, binh thuong khong a",
        "mọi người ơi F0 cách ly mấy ngày nhỉ",
    ],
)
def test_chat_shorthand_and_question_frames_carry_no_topic(text: str) -> None:
    assert terms(text) == {"f0": 1, "cach": 1, "li": 1, "mayngay": 1}, text


@pytest.mark.parametrize(
    ("texts", "word"),
    [
        # "test" is respelled "xét nghiệm" before phrases are unified: both spellings of a
        # test kit must still reach the one word.
        (("que test", "kit test", "bộ xét nghiệm", "test nhanh", "xét nghiệm nhanh"), "quetest"),
        (("mấy ngày", "mấy hôm", "bao nhiêu ngày", "bao nhieu hom"), "mayngay"),
        (("COVID-19", "covid 19", "covid"), "covid"),
        (("RT-PCR", "PCR"), "pcr"),
        # who must not have a vaccine is one question, however it is put
        (("chống chỉ định", "không được tiêm", "ko dc chích", "cấm tiêm"), "chongchidinh"),
    ],
)
def test_ways_of_saying_one_thing_become_one_word(texts: tuple[str, ...], word: str) -> None:
    for text in texts:
        assert tokens(text) == [word], text


def test_a_misspelt_word_is_unified() -> None:
    assert tokens("khẩu trag") == tokens("khẩu trang") == ["khau", "trang"]


def test_question_frames_are_left_out_by_the_bank_only() -> None:
    """A frame ("như thế nào") is no topic for the bank, but route.yml's topic phrases (an
    ask_symptoms "như thế nào là") still see it."""
    assert terms("như thế nào") == {}
    assert tokens("như thế nào") == ["nhu", "the", "nao"]


def test_a_better_worded_match_scores_higher() -> None:
    index = BankIndex([(e["key"], e["questions"]) for e in (ISOLATION, VACCINE)])
    close = index.search("F0 cách ly tại nhà mấy ngày")[0].score
    loose = index.search("mấy hôm nay tôi ở nhà")[0].score  # one word shared ("mấy ngày")
    assert close > LIMITS.bank > loose


def test_equal_scores_go_to_the_earlier_entry_and_only_allowed_entries_answer() -> None:
    """Entries asked the same way tie: the earliest in the bank file come first, on every run
    (the file's order is the content team's), even among 300 with two different scores.
    ``allowed`` takes effect whatever set it is, and a new set is not answered from the last
    one's mask."""
    same, longer = "F0 cách ly tại nhà mấy ngày", "F0 cách ly tại nhà mấy ngày thì được ra ngoài"
    ordered = [(f"k{n:03}", [same if n % 3 else longer]) for n in range(300)]
    index = BankIndex(list(reversed(ordered[:20])) + ordered[20:])  # the file order: k019 first
    hits = index.search("F0 cách ly mấy ngày", limit=3)
    assert [hit.key for hit in hits] == ["k019", "k017", "k016"]
    assert len({hit.score for hit in hits}) == 1
    index = BankIndex([(key, ["F0 cách ly tại nhà mấy ngày"]) for key in ("a", "b", "c", "d")])
    assert [h.key for h in index.search("F0 cách ly", allowed=frozenset({"b", "d"}))] == ["b", "d"]
    assert [h.key for h in index.search("F0 cách ly", allowed=frozenset({"a"}))] == ["a"]
    assert [h.key for h in index.search("F0 cách ly", allowed={"d"})] == ["d"]
    assert index.search("F0 cách ly", allowed=frozenset()) == []
    assert index.search("F0 cách ly", limit=0) == []


def test_the_best_of_many_entries_is_found_among_those_that_share_a_word() -> None:
    """With many entries sharing common words, the best is still the one that shares the
    rare ones, scored as a cosine in 0..1."""
    many = [(f"n{i}", [f"tiêm vắc xin covid mũi {i} ở phường {i}"]) for i in range(3_000)]
    index = BankIndex([*many, ("f0-days", ["F0 cách ly tại nhà mấy ngày"])])
    hits = index.search("tiêm vắc xin mũi 1234 ở phường 1234")
    assert hits[0].key == "n1234"
    assert 0 < hits[-1].score <= hits[0].score <= 1.0
    assert index.search("F0 cách ly tại nhà mấy ngày")[0].key == "f0-days"


def test_an_index_built_from_the_last_one_reads_only_what_changed_and_is_the_same() -> None:
    """After an edit the bank's index is built again from the last one: entries whose phrasings
    did not change are not read again, and the index is exactly the one a fresh build makes
    (the same words, weights and answers), with entries added, removed, reworded and moved."""
    many = [(f"n{i}", [f"tiêm vắc xin covid mũi {i} ở phường {i}"]) for i in range(300)]
    entries = [(e["key"], e["questions"]) for e in (ISOLATION, VACCINE, LEMON)] + many
    last = BankIndex(entries)
    edited = [
        ("vax-third", ["chích ngừa nhắc lại ở chỗ nào"]),  # reworded
        *entries[3:150],
        (ISOLATION["key"], ISOLATION["questions"]),  # moved
        *entries[151:],  # n147 removed
        ("new", ["uống nước chanh nóng có hết covid không", "F0 ăn gì"]),  # added
    ]
    index = BankIndex(edited, reuse=last)
    fresh = BankIndex(edited)
    assert index.keys == fresh.keys
    assert index.idf == fresh.idf and index.rare == fresh.rare
    assert index.postings.keys() == fresh.postings.keys()
    for term, (numbers, weights) in fresh.postings.items():
        assert index.postings[term][0].tolist() == numbers.tolist()
        assert index.postings[term][1].tolist() == weights.tolist()  # the same floats
    for text in ("F0 cách ly mấy ngày", "chích ngừa nhắc lại", "mũi 42 ở phường 42", "ăn gì"):
        assert index.search(text) == fresh.search(text)
    # ...and both are TF-IDF as defined, term by term: (1 + log tf) * idf over the entry's norm
    for number, (_, phrasings) in enumerate(edited):
        counts = Counter(t for p in phrasings for t, c in terms(p).items() for _ in range(c))
        weights = {t: (1 + math.log(c)) * fresh.idf[t] for t, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        for term, weight in weights.items():
            numbers, values = fresh.postings[term]
            assert values[numbers.tolist().index(number)] == weight / norm
    unchanged = tuple(ISOLATION["questions"])
    assert index.entry_terms[unchanged] is last.entry_terms[unchanged]  # not read again
    reworded = ("chích ngừa nhắc lại ở chỗ nào",)
    assert reworded not in last.entry_terms and reworded in index.entry_terms
    assert tuple(VACCINE["questions"]) not in index.entry_terms  # only this bank's entries kept
    assert len(index.entry_terms) == len(edited)


def test_a_change_in_the_bank_is_answered_at_once(session_factory: sessionmaker[Session]) -> None:
    load(session_factory, bank_file(ISOLATION))
    with session_factory() as session:
        assert found(session, "tiêm mũi 3 ở đâu") == []
    load(session_factory, bank_file(ISOLATION, VACCINE))
    with session_factory() as session:
        assert found(session, "tiêm mũi 3 ở đâu") == ["vax-third"]
    reworded = {**VACCINE, "questions": ["chích ngừa nhắc lại ở chỗ nào"]}
    load(session_factory, bank_file(ISOLATION, reworded))
    with session_factory() as session:
        assert found(session, "chích ngừa nhắc lại") == ["vax-third"]
    load(session_factory, bank_file(ISOLATION), replace=True)
    with session_factory() as session:
        assert found(session, "chích ngừa nhắc lại") == []


def test_an_entry_outside_its_validity_is_never_answered(
    session_factory: sessionmaker[Session],
) -> None:
    old = {**ISOLATION, "effective_from": "2021-08-21", "effective_until": "2022-03-15"}
    later = {**VACCINE, "effective_from": (NOW + timedelta(days=3)).date().isoformat()}
    load(session_factory, bank_file(old, later))
    with session_factory() as session:
        assert found(session, "F0 cách ly tại nhà mấy ngày") == []
        assert found(session, "tiêm mũi 3 vắc xin ở đâu") == []
        during = datetime(2022, 1, 10, tzinfo=UTC)
        assert found(session, "F0 cách ly tại nhà mấy ngày", at=during) == ["f0-days"]


def test_an_entry_for_another_province_is_not_answered_here(
    session_factory: sessionmaker[Session],
) -> None:
    load(session_factory, bank_file({**ISOLATION, "area": "Hà Nội"}, VACCINE))
    with session_factory() as session:
        assert found(session, "F0 cách ly tại nhà mấy ngày") == []
        assert found(session, "F0 cách ly tại nhà mấy ngày", province="Hà Nội") == ["f0-days"]


def test_an_empty_bank_finds_nothing(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        assert store.search(session, "F0 cách ly mấy ngày", at=NOW, province=HOME) == []
        assert found(session, "tiêm mũi 3 ở đâu") == []
