"""The scoring of the answer set (testkit/answers.py) asks Rasa once per distinct text: a
message without diacritics is the same text in both variants, and is still scored in both."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from testkit.answers import HALVES, VARIANTS, Case, half, load_cases, score


def test_each_distinct_text_is_parsed_once_and_scored_in_every_variant(
    session_factory: sessionmaker[Session],
) -> None:
    asked: list[str] = []

    def parse(text: str) -> dict[str, Any]:
        asked.append(text)
        return {"intent": {"name": "greet", "confidence": 0.99}, "entities": []}

    cases = [
        Case("xin chao", ("intent:greet",)),  # the same text in both variants
        Case("xin chào", ("intent:greet",)),  # stripped: "xin chao" again
        Case("chào bạn", ("intent:greet",)),
    ]
    with session_factory() as session:
        scores = score(cases, parse, session, province="Lạng Sơn")
    assert sorted(asked) == sorted(["xin chao", "xin chào", "chào bạn", "chao ban"])
    assert [scores[v].total for v in VARIANTS] == [3, 3]
    assert [scores[v].right for v in VARIANTS] == [3, 3]


def test_the_set_splits_into_fixed_halves_of_about_equal_size() -> None:
    """The tune/check split (bench/answers_offline.py) depends on the text alone."""
    cases = load_cases()
    first = [half(case) for case in cases]
    assert first == [half(Case(case.text, ("none",))) for case in cases]  # the label is not used
    assert half(Case("F0 cách ly mấy ngày", ("none",))) == "tune"
    tune = first.count("tune")
    assert set(first) == set(HALVES) and abs(tune - len(cases) / 2) <= len(cases) / 10
