"""Long replies are split where a reader expects: paragraph, line, sentence, word."""

from __future__ import annotations

import pytest

from connectors.text import split_text

SPLITS = [
    ("short stays whole", "Xin chào.", 20, ["Xin chào."]),
    ("empty gives nothing", "", 20, []),
    ("at a paragraph", "Đoạn một dài.\n\nĐoạn hai.", 16, ["Đoạn một dài.", "Đoạn hai."]),
    ("at a line", "Dòng một.\nDòng hai ở đây.", 16, ["Dòng một.", "Dòng hai ở đây."]),
    ("at a sentence", "Câu một. Câu hai dài hơn.", 12, ["Câu một.", "Câu hai dài", "hơn."]),
    ("at a word", "một hai ba bốn năm", 9, ["một hai", "ba bốn", "năm"]),
    ("one huge word is cut", "a" * 25, 10, ["a" * 10, "a" * 10, "a" * 5]),
]


@pytest.mark.parametrize(("label", "text", "limit", "pieces"), SPLITS, ids=[s[0] for s in SPLITS])
def test_split_text(label: str, text: str, limit: int, pieces: list[str]) -> None:
    assert split_text(text, limit) == pieces


@pytest.mark.parametrize("limit", [2000, 4096])
def test_no_piece_over_the_limit_and_nothing_lost(limit: int) -> None:
    text = " ".join(f"Câu số {i} nói về phòng dịch, khẩu trang và rửa tay." for i in range(400))
    pieces = split_text(text, limit)
    assert all(len(p) <= limit for p in pieces)
    assert " ".join(pieces).split() == text.split()
