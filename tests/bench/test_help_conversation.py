"""The help-request conversation of make bench-desk (testkit/help_conversation.py): the script
follows the form as the domain and the actions have it, its updates are what Telegram sends,
replies are checked, and the figures over runs (per turn, lost, target)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from actions import help_request as form_actions
from bot.helpdesk import phones
from testkit import help_conversation as script

DOMAIN = Path(script.DOMAIN) / "help_request.yml"


def test_the_script_asks_the_forms_slots_in_the_forms_order() -> None:
    required = yaml.safe_load(DOMAIN.read_text())["forms"]["help_request_form"]["required_slots"]
    prefix = "utter_ask_"
    asked = [t.expect.removeprefix(prefix) for t in script.TURNS if t.expect.startswith(prefix)]
    # The needs are asked in the first reply (with the start), the confirmation by the summary.
    assert asked == required[1:-1]
    assert required[-1] == form_actions.CONFIRM_SLOT
    assert [t.expect for t in script.TURNS[-2:]] == [
        "utter_help_request_summary",
        "utter_help_request_filed",
    ]


def test_every_expected_response_is_in_the_domain() -> None:
    responses = script.response_texts()
    openings = script.openings(responses)
    assert set(openings) == {t.name for t in script.TURNS}
    assert all(all(o.strip() for o in found) for found in openings.values())


def test_buttons_pressed_are_the_forms_buttons() -> None:
    pressed = [t.press for t in script.TURNS if t.press is not None]
    assert pressed == [form_actions.DONE, form_actions.YES, form_actions.SEND]
    for choice in pressed:
        payload = form_actions.choose(choice, "x")["payload"]
        assert script.press_payload(choice) == payload
        assert len(payload.encode()) <= 64  # Telegram's callback_data limit


def test_updates_as_telegram_sends_them() -> None:
    first, done = (
        script.update(script.TURNS[0], 7001, 42, 0),
        script.update(script.TURNS[1], 7002, 42, 0),
    )
    assert (
        first["message"]["text"] == "nhà tôi hết gạo rồi" and first["message"]["chat"]["id"] == 42
    )
    assert done["callback_query"]["data"] == script.press_payload("done")
    phone_turn = next(t for t in script.TURNS if t.name == "phone")
    typed = [script.update(phone_turn, 1, 42, p)["message"]["text"] for p in (0, 1, 2019, 999_999)]
    parsed = [phones.parse(text) for text in typed]
    assert all(p.valid for p in parsed), parsed
    assert len({p.number for p in parsed}) == len(typed)


def test_a_reply_is_checked_against_the_expected_response() -> None:
    expected = script.openings(script.response_texts())
    place = next(t for t in script.TURNS if t.name == "place")
    right = script.response_texts()[place.expect][0]
    assert script.reply_problem(place, [right], expected["place"]) is None
    wrong = script.response_texts()["utter_ask_help_request_people"][0]
    problem = script.reply_problem(place, [wrong], expected["place"])
    assert problem is not None and "utter_ask_help_request_address" in problem


def _conversation(ms: float) -> list[float]:
    return [float(ms)] * len(script.TURNS)


def test_one_runs_figures() -> None:
    lost_after_two = [100.0, 200.0]
    run = script.run_figures([_conversation(100), _conversation(300), lost_after_two])
    assert (run["conversations"], run["lost"]) == (3, 1)
    need = run["turns"]["need"]
    assert need == {"n": 3, "p50_ms": 100.0, "p95_ms": 300.0, "max_ms": 300.0}
    assert run["turns"]["confirm"]["n"] == 2
    assert run["all_turns"]["n"] == 2 * len(script.TURNS) + 2
    waits = run["conversation_wait"]
    assert (waits["n"], waits["max_ms"]) == (2, 300.0 * len(script.TURNS))


def _runs(*p95s: float, lost: int = 0) -> list[dict[str, Any]]:
    runs = [script.run_figures([_conversation(100.0), _conversation(float(p))]) for p in p95s]
    runs[-1]["lost"] = lost
    return runs


@pytest.mark.parametrize(
    ("label", "runs", "met"),
    [
        ("every run within", _runs(150, 250, 300), True),
        ("one run over", _runs(150, 301, 200), False),
        ("a lost conversation", _runs(150, 200, 200, lost=1), False),
        ("no run", [], False),
    ],
)
def test_target(label: str, runs: list[dict[str, Any]], met: bool) -> None:
    assert script.summarize(runs)["target_met"] is met


def test_summary_over_three_runs_and_its_table() -> None:
    summary = script.summarize(_runs(150, 250, 350))
    assert summary["turns"]["phone"]["p95_ms"] == {"min": 150.0, "median": 250.0, "max": 350.0}
    assert summary["turns"]["phone"]["p50_ms"]["median"] == 100.0
    table = script.table(summary, runs=3, people=2)
    assert "| phone | 100.0 (100.0–100.0) | 250.0 (150.0–350.0) |" in table
    assert table.endswith("Target p95 ≤ 300 ms per turn: NOT met.")
