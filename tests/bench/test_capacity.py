"""The capacity curve's pure parts (testkit/capacity.py, driven by make bench-chat): when
messages go out, who sends them, a step's figures, the capacity and the spread over runs."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from testkit import capacity


@pytest.mark.parametrize(
    ("label", "args", "expected"),
    [
        ("5 a second for 1 s", (5, 1), [0.0, 0.2, 0.4, 0.6, 0.8]),
        ("2 a second for 2 s", (2, 2), [0.0, 0.5, 1.0, 1.5]),
        ("a fraction rounds", (1.5, 3), [0.0, 2 / 3, 4 / 3, 2.0]),
        ("nothing offered", (0, 5), []),
        ("no time", (10, 0), []),
    ],
)
def test_send_offsets_are_even(
    label: str, args: tuple[float, float], expected: list[float]
) -> None:
    assert capacity.send_offsets(*args) == pytest.approx(expected)


def test_sixty_a_second_for_twenty_seconds() -> None:
    offsets = capacity.send_offsets(60, 20)
    assert len(offsets) == 1200
    assert offsets[-1] < 20
    gaps = {round(b - a, 9) for a, b in pairwise(offsets)}
    assert gaps == {round(1 / 60, 9)}


def test_a_person_has_one_message_in_flight_and_rests_after_the_answer() -> None:
    people = capacity.People(rest=4.0, first=100)
    a, b = people.take(0.0), people.take(0.1)
    assert (a, b) == (100, 101)  # a has no answer yet: b is someone else
    people.release(a, 1.0)
    assert people.take(2.0) == 102  # a rests until 5.0
    assert people.take(5.0) == a
    with pytest.raises(ValueError, match="nothing in flight"):
        people.release(103, 6.0)
    assert people.created == 3


def test_a_lost_message_retires_its_person() -> None:
    people = capacity.People(rest=0.0)
    lost, answered = people.take(0.0), people.take(0.0)
    people.release(answered, 1.0)
    assert [people.take(10.0 + i) for i in range(3)] == [answered, 2, 3]
    assert lost not in (2, 3)


def test_no_one_ever_has_two_messages_in_flight() -> None:
    """At 60 a second with replies taking 2.5 s and a 4 s rest: about 60 × 6.5 people."""
    people = capacity.People(rest=4.0)
    in_flight: dict[int, float] = {}  # person → answer time
    for offset in capacity.send_offsets(60, 20):
        for person, done in list(in_flight.items()):
            if done <= offset:
                people.release(person, done)
                del in_flight[person]
        person = people.take(offset)
        assert person not in in_flight
        in_flight[person] = offset + 2.5
    assert 380 <= people.created <= 400


def _sends(latencies_ms: list[float | None]) -> list[tuple[float, float | None]]:
    return [(i, None if ms is None else i + ms / 1000) for i, ms in enumerate(latencies_ms)]


def test_step_figures() -> None:
    latencies: list[float | None] = [*range(100, 2100, 100), None]  # 100…2000 ms, one lost
    figures = capacity.step_figures(10, 2, _sends(latencies), replies_in_step=15)
    assert figures == {
        "offered_per_s": 10,
        "sent": 21,
        "achieved_per_s": 7.5,
        "p50_ms": pytest.approx(1100.0),
        "p95_ms": pytest.approx(1900.0),  # nearest rank: the 19th of 20
        "lost": 1,
    }


def test_step_figures_when_nothing_came_back() -> None:
    figures = capacity.step_figures(5, 5, _sends([None, None]), replies_in_step=0)
    assert figures["p50_ms"] is None and figures["p95_ms"] is None
    assert (figures["lost"], figures["achieved_per_s"]) == (2, 0.0)


def _step(offered: float, p95: float | None, lost: int = 0) -> dict[str, Any]:
    step: dict[str, Any] = {"offered_per_s": offered, "achieved_per_s": offered, "p50_ms": 1.0}
    return step | {"p95_ms": p95, "lost": lost}


@pytest.mark.parametrize(
    ("label", "steps", "expected"),
    [
        ("the last within", [_step(5, 200), _step(10, 999), _step(20, 1500)], 10),
        ("exactly 1000 ms", [_step(5, 200), _step(10, 1000)], 10),
        ("every step within", [_step(5, 200), _step(60, 900)], 60),
        ("none within", [_step(5, 1001), _step(10, 3000)], None),
        ("a lost reply", [_step(5, 200), _step(10, 300, lost=1)], 5),
        ("no answer at all", [_step(5, 200), _step(10, None, lost=50)], 5),
        ("highest, not first failure", [_step(5, 200), _step(10, 1200), _step(20, 800)], 20),
    ],
)
def test_capacity(label: str, steps: list[dict[str, Any]], expected: float | None) -> None:
    assert capacity.capacity(steps) == expected


def test_spread() -> None:
    assert capacity.spread([3.0, 1.0, 2.0]) == {"min": 1.0, "median": 2.0, "max": 3.0}
    assert capacity.spread([4.0, None, 1.0]) == {"min": 1.0, "median": 2.5, "max": 4.0}
    assert capacity.spread([None]) == {"min": None, "median": None, "max": None}


def test_summarize_three_runs() -> None:
    runs = [
        [_step(5, 100), _step(10, 900), _step(20, 1500)],
        [_step(5, 300), _step(10, 1100), _step(20, 1700)],
        [_step(5, 200), _step(10, 950, lost=2), _step(20, 900)],
    ]
    summary = capacity.summarize(runs)
    assert summary["capacity_per_run"] == [10, 5, 20]
    assert summary["capacity"] == {"min": 5, "median": 10, "max": 20}
    first, second = summary["steps"][:2]
    assert first["offered_per_s"] == 5
    assert first["p95_ms"] == {"min": 100, "median": 200, "max": 300}
    assert second["lost"] == {"min": 0, "median": 0, "max": 2}


def test_summarize_refuses_runs_of_other_steps() -> None:
    with pytest.raises(ValueError, match="same offered rates"):
        capacity.summarize([[_step(5, 100)], [_step(10, 100)]])
