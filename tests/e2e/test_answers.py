"""The long tail through the running stack (issue 13): the bank answers what no intent does,
115 comes first, "Loa chưa biết" is said and kept, and the measured share of right answers on
the test set does not quietly drop."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.storage.engine import sessions
from bot.storage.questions import DOWN, UNKNOWN, AskedQuestion
from testkit.answers import VARIANTS, load_cases, score
from tests.e2e.chat import joined, parse, say
from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MEASURED = ROOT / "bench" / "results" / "answers.json"
ALLOWED_DROP = 0.03  # the issue: fail when the right share drops more than 3 points


def kept(stack: RunningStack, text: str) -> list[AskedQuestion]:
    with sessions(stack.database_url)() as session:
        return list(session.scalars(select(AskedQuestion).where(AskedQuestion.text == text)))


def test_a_rumour_is_answered_with_the_correction_and_its_source(http: httpx.Client) -> None:
    said = joined(say(http, "uống nước chanh nóng với mật ong có khỏi covid không ạ"))
    assert said.startswith("Không") and "(Nguồn: " in said, said
    assert "Câu trả lời này có giúp được bạn không?" in said


def test_the_f0_with_worse_breathing_gets_115_first(http: httpx.Client) -> None:
    text = "Tôi là F0 đang điều trị tại nhà, gần đây thấy khó thở hơn, yêu cầu của tôi đến đâu rồi"
    assert joined(say(http, text)).startswith("⚠️ HÃY GỌI NGAY 115")


def test_english_gets_told_loa_understands_vietnamese(http: httpx.Client) -> None:
    said = joined(say(http, "Hello, where can I get a covid test here?"))
    assert "Loa chỉ hiểu tiếng Việt" in said and "115" in said


def test_what_nobody_knows_is_said_honestly_and_kept(
    http: httpx.Client, stack: RunningStack
) -> None:
    text = "giá vàng hôm nay bao nhiêu một chỉ"
    said = joined(say(http, text))
    assert "không muốn đoán" in said
    assert [q.outcome for q in kept(stack, text)] == [UNKNOWN]


def test_a_thumbs_down_is_kept_with_the_question(http: httpx.Client, stack: RunningStack) -> None:
    question = "mùa hè trời nắng nóng thì con virus tự chết hết phải không"
    replies = say(http, question, sender="rater")
    buttons = [b for r in replies for b in r.get("buttons") or []]
    down = next(b for b in buttons if b["title"].startswith("👎"))
    said = joined(say(http, payload=down["payload"], sender="rater"))
    assert said.startswith("Cảm ơn bạn, Loa đã ghi lại")
    (row,) = kept(stack, question)
    assert row.outcome == DOWN and row.entry_key


def test_an_ambiguous_question_is_asked_about_and_none_of_these_is_kept(
    http: httpx.Client, stack: RunningStack
) -> None:
    """Can my cat catch it, or give it to us? Two entries are as close: Loa asks which,
    answers the one chosen, and "none of these" gets the honest answer, kept for the team."""
    question = "mèo nhà tôi có lây bệnh không"
    replies = say(http, question, sender="cat owner")
    assert "không muốn trả lời đoán" in joined(replies)
    buttons = [b for r in replies for b in r.get("buttons") or []]
    chosen = [b["payload"] for b in buttons if "pets-" in b["payload"]]
    assert len(chosen) >= 2, buttons
    said = joined(say(http, payload=chosen[0], sender="cat owner"))
    assert "(Nguồn: " in said and "Câu trả lời này có giúp được bạn không?" in said
    replies = say(http, question, sender="cat owner 2")
    none = [b for r in replies for b in r.get("buttons") or []][-1]
    assert none["title"] == "Không phải, tôi hỏi điều khác"
    said = joined(say(http, payload=none["payload"], sender="cat owner 2"))
    assert "không muốn đoán" in said
    assert [q.outcome for q in kept(stack, question)] == [UNKNOWN]


def test_the_right_share_on_the_test_set_has_not_dropped(
    stack: RunningStack, rasa_api: httpx.Client
) -> None:
    """The same scoring as ``make bench-answers`` on the running stack; fails when a change to
    the bank, the matching or the NLU data made answers worse than what was measured."""
    measured = json.loads(MEASURED.read_text(encoding="utf-8"))["table"]
    with sessions(stack.database_url)() as session:
        cases = load_cases()
        scores = score(cases, lambda text: parse(rasa_api, text), session, province="Lạng Sơn")
    for variant in VARIANTS:
        now = scores[variant].shares()
        floor = measured[f"{variant}.right"]["median"] - ALLOWED_DROP
        assert now["right"] >= floor, (variant, now, scores[variant].mistakes[:20])
        ceiling = measured[f"{variant}.wrongly_answered"]["median"] + ALLOWED_DROP
        assert now["wrongly_answered"] <= ceiling, (variant, now, scores[variant].mistakes[:20])


def test_the_situation_in_a_place_is_asked_about_and_its_level_given(http: httpx.Client) -> None:
    """ "Tình hình dịch ở X": Rasa is unsure, the bank has nothing; Loa asks whether the alert
    level of X is meant, and the button answers it for X without naming X again."""
    replies = say(http, "tinh hinh dich o xa Huu Lung may hom nay the nao roi", sender="situation")
    assert "không muốn trả lời đoán" in joined(replies)
    buttons = [b for r in replies for b in r.get("buttons") or []]
    level = next(b for b in buttons if b["title"] == "Cấp độ dịch")
    said = joined(say(http, payload=level["payload"], sender="situation"))
    assert said.startswith("Xã Hữu Lũng, Tỉnh Lạng Sơn đang ở tình huống"), said
