"""The token buckets in front of Rasa: per key, refilled with time, forgotten one by one."""

from __future__ import annotations

from bot.web.throttle import Throttle


def test_a_key_gets_its_burst_then_waits_for_the_refill() -> None:
    throttle = Throttle(burst=3, per_minute=60, clock=lambda: 0.0)
    assert [throttle.allow("a") for _ in range(4)] == [True, True, True, False]
    assert throttle.allow("b")  # another key is unaffected
    assert throttle.allow("a", now=1.0)  # one token a second
    assert not throttle.allow("a", now=1.0)


def test_idle_buckets_expire_one_by_one() -> None:
    throttle = Throttle(burst=2, per_minute=60)  # full again after 2 s idle
    throttle.allow("old", now=0.0)
    throttle.allow("newer", now=1.5)
    throttle.allow("newest", now=2.5)  # "old" has been idle 2.5 s: dropped, the others kept
    assert len(throttle) == 2
    throttle.allow("newest", now=3.0)
    assert len(throttle) == 2  # "newer" idle 1.5 s: still remembered


def test_a_flooder_is_not_forgotten_when_the_table_is_full() -> None:
    """With 100,000 ids the old throttle cleared everything at once and let a flooder back in;
    now only the least recently used bucket goes, never the one still flooding."""
    throttle = Throttle(burst=2, per_minute=1, max_keys=100)
    now = 0.0
    assert throttle.allow("flooder", now=now) and throttle.allow("flooder", now=now)
    for i in range(1000):  # rotating ids fill the table over and over
        now += 0.001
        throttle.allow(f"id-{i}", now=now)
        if i % 50 == 0:
            assert not throttle.allow("flooder", now=now)
    assert len(throttle) == 100
    assert not throttle.allow("flooder", now=now)


def test_the_least_recently_used_bucket_goes_first() -> None:
    throttle = Throttle(burst=1, per_minute=1, max_keys=2)
    assert throttle.allow("a", now=0.0)
    assert throttle.allow("b", now=0.1)
    assert not throttle.allow("a", now=0.2)  # "a" is now the most recently used
    assert throttle.allow("c", now=0.3)  # drops "b", not "a"
    assert not throttle.allow("a", now=0.4)
    assert throttle.allow("b", now=0.5)  # "b" was forgotten: a fresh bucket
