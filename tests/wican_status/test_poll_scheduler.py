"""wican-status's request schedule (pure, explicit time)."""

import pytest

from services.wican_status.scheduler import PollScheduler, PollTiming

TIMING = PollTiming(
    poll_interval_s=60, answer_timeout_s=3, retry_initial_s=5, retry_max_s=40, min_gap_s=1
)


def sends(scheduler: PollScheduler, start: float, end: float, step: float = 0.1) -> list[float]:
    times, now = [], start
    while now <= end + 1e-9:
        if scheduler.poll(now):
            times.append(round(now, 1))
        now = round(now + step, 1)
    return times


def test_nothing_is_sent_before_online():
    s = PollScheduler(TIMING)
    assert sends(s, 0, 100) == []
    assert s.next_event_in(0) is None


def test_online_requests_at_once_then_every_poll_interval_after_answers():
    s = PollScheduler(TIMING)
    s.set_online(True, 10)
    assert s.poll(10)
    assert not s.poll(10.5)  # in flight
    s.on_answer(10.2)
    assert s.next_event_in(10.2) == pytest.approx(60)
    assert not s.poll(70.1)
    assert s.poll(70.2)
    s.on_answer(70.3)
    assert s.requests == 2


def test_at_most_one_request_in_flight_and_backoff_doubles_up_to_the_maximum():
    s = PollScheduler(TIMING)
    s.set_online(True, 0)
    # never answered: 0, then timeout 3 + 5, + 3 + 10, + 3 + 20, + 3 + 40, + 3 + 40
    assert sends(s, 0, 140) == [0, 8, 21, 44, 87, 130]
    assert s.failures == 6  # the one sent at 130 timed out at 133


def test_answer_resets_the_backoff():
    s = PollScheduler(TIMING)
    s.set_online(True, 0)
    assert sends(s, 0, 10) == [0, 8]
    s.on_answer(9)
    assert s.failures == 0
    assert sends(s, 9.1, 69.1) == [69.0]


def test_offline_stops_and_drops_the_request_in_flight():
    s = PollScheduler(TIMING)
    s.set_online(True, 0)
    assert s.poll(0)
    s.set_online(False, 1)
    assert sends(s, 1, 200) == []
    assert not s.in_flight
    assert s.next_event_in(5) is None


def test_online_again_requests_at_once_but_not_closer_than_min_gap():
    s = PollScheduler(TIMING)
    s.set_online(True, 0)
    assert s.poll(0)
    s.on_answer(0.2)
    s.set_online(False, 0.3)
    s.set_online(True, 0.4)  # flapping adapter
    assert not s.poll(0.5)
    assert s.poll(1.0)


def test_repeated_online_while_waiting_for_an_answer_sends_nothing_more():
    s = PollScheduler(TIMING)
    s.set_online(True, 0)
    assert s.poll(0)
    s.set_online(True, 1)  # retained status again after a reconnect
    assert not s.poll(1.5)


def test_repeated_online_after_an_answer_requests_again():
    s = PollScheduler(TIMING)
    s.set_online(True, 0)
    assert s.poll(0)
    s.on_answer(0.5)
    s.set_online(True, 30)  # the adapter reconnected: the car may have changed
    assert s.poll(30)


def test_answer_while_offline_does_not_schedule():
    s = PollScheduler(TIMING)
    s.on_answer(5)
    assert sends(s, 5, 100) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"poll_interval_s": 0},
        {"poll_interval_s": 10, "answer_timeout_s": -1},
        {"poll_interval_s": 10, "retry_initial_s": 10, "retry_max_s": 5},
        {"poll_interval_s": 10, "min_gap_s": -1},
    ],
)
def test_invalid_timing_is_refused(kwargs):
    with pytest.raises(ValueError):
        PollTiming(**kwargs)
