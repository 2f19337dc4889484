"""Loa's tracker store (bot/assistant/tracker_store.py) keeps what Rasa's SQL store keeps.

The cases run with Rasa's Python (tracker_store_cases.py); here each case's findings are
checked. The end-to-end conversation tests run the same store inside `rasa run`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.training import rasa_bin, rasa_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def seen() -> dict[str, dict[str, Any]]:
    done = subprocess.run(
        [
            str(rasa_bin().parent / "python"),
            str(Path(__file__).with_name("tracker_store_cases.py")),
        ],
        cwd=ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {line.pop("case"): line for line in lines}


def test_a_long_session_is_renewed_and_nothing_is_lost(seen: dict[str, dict[str, Any]]) -> None:
    renewal = seen["renewal"]
    assert renewal["session_messages"] == ["m9"]  # renewed after m4 and after m8 (roll_after=4)
    assert renewal["all_messages"] == [f"m{i}" for i in range(1, 10)]  # each once, in order
    assert renewal["sessions"] == 2
    assert renewal["location"] == "Tam Thanh"  # the slot set in the first turn is carried
    assert renewal["cached_equals_table"]  # memory holds what Rasa's own store reads back


def test_the_table_is_written_in_wal_mode(seen: dict[str, dict[str, Any]]) -> None:
    assert seen["journal"]["mode"] == "wal"  # a commit waits for no fsync


@pytest.mark.parametrize("case", ["kept_buttons", "kept_context_action", "kept_form"])
def test_no_renewal_while_the_next_message_may_be_an_answer(
    seen: dict[str, dict[str, Any]], case: str
) -> None:
    assert seen[case]["session_messages"] == ["m1", "m2"]


def test_another_writer_is_seen(seen: dict[str, dict[str, Any]]) -> None:
    # what the first process works on next includes what the second one saved
    assert seen["two_writers"]["messages"] == ["from first", "from second"]


def test_a_turn_that_failed_before_saving_is_not_remembered(
    seen: dict[str, dict[str, Any]],
) -> None:
    assert seen["failed_turn"]["messages"] == ["saved"]


def test_a_new_conversation_is_written_once_and_then_read_from_memory(
    seen: dict[str, dict[str, Any]],
) -> None:
    new = seen["new_conversation"]
    action = ["action", "action_listen"]
    turn = [["user", None], ["action", "action_reply"], action]
    assert new["rows"] == [action, *turn, *turn]
    assert new["events"] == new["rows"]
    assert new["from_memory"]


def test_every_rule_that_reads_an_answer_keeps_its_context(
    seen: dict[str, dict[str, Any]],
) -> None:
    assert seen["context_rules"]["missing"] == []


def test_the_speedups_keep_rasas_answers(seen: dict[str, dict[str, Any]]) -> None:
    assert seen["speedups"] == {
        "refused": True,
        "accepted": True,
        "unknown": "raised",
        "default": True,
        "user": True,
    }


def test_the_domain_goes_to_the_action_server_once_and_again_when_it_lost_it(
    seen: dict[str, dict[str, Any]],
) -> None:
    domain_once = seen["domain_once"]
    assert domain_once["calls"] == [
        [True, 200],  # the first call carries the domain
        [False, 200],  # the next only its digest
        [False, 449],  # the server was restarted: it asks for the domain …
        [True, 200],  # … and gets it, in the same turn
        [False, 200],
    ]
    assert domain_once["said"] == [["ok"]] * 4  # every call's answer reached the person
