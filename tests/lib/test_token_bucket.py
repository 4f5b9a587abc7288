"""The token bucket behind the answer budget and a connection's intake limit (pure)."""

from __future__ import annotations

import pytest

from shared.token_bucket import TokenBucket


def test_a_full_bucket_serves_its_burst_at_once_then_waits_in_turn() -> None:
    bucket = TokenBucket(rate_per_s=100.0, burst=10.0)
    assert [bucket.wait_s(0.0) for _ in range(10)] == [0.0] * 10
    # the next ones, still at t=0, wait one, two, three token periods: served in turn
    waits = [bucket.wait_s(0.0) for _ in range(3)]
    assert waits == pytest.approx([0.01, 0.02, 0.03])


def test_a_caller_that_waited_as_told_is_served_at_the_rate() -> None:
    bucket = TokenBucket(rate_per_s=50.0, burst=1.0)
    now, served = 0.0, []
    for _ in range(100):
        now += bucket.wait_s(now)  # sleep as told, then handle
        served.append(now)
    assert served[-1] == pytest.approx(99 / 50.0)  # 100 messages: 1 at once, 99 at 50/s


def test_the_bucket_refills_up_to_its_burst_only() -> None:
    bucket = TokenBucket(rate_per_s=10.0, burst=5.0)
    for _ in range(5):
        bucket.wait_s(0.0)
    assert bucket.available(0.2) == pytest.approx(2.0)
    assert bucket.available(100.0) == 5.0  # an hour of quiet does not bank an hour of tokens
    bucket.spend()
    assert bucket.available(100.0) == 4.0
