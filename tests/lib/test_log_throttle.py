"""Repeated errors are logged once per cause, then as a periodic reminder with a count."""

from __future__ import annotations

import pytest

from shared.log_throttle import LogThrottle, MessageThrottle, Verdict


def test_first_occurrence_is_logged_then_held_back_until_the_reminder():
    t = LogThrottle(reminder_s=60, forget_s=600)
    assert t.check("bad_payload", "not JSON", 0) == Verdict(True, 0)
    assert [t.check("bad_payload", "not JSON", s).log for s in range(1, 60)] == [False] * 59
    assert t.check("bad_payload", "not JSON", 60) == Verdict(True, 59)
    assert t.check("bad_payload", "not JSON", 61) == Verdict(False)
    assert t.check("bad_payload", "not JSON", 120) == Verdict(True, 1)


def test_a_new_cause_or_event_is_logged_at_once():
    t = LogThrottle(reminder_s=60)
    assert t.check("bad_payload", "not JSON", 0).log
    assert t.check("bad_payload", "no voltage", 1).log
    assert t.check("other_event", "not JSON", 2).log
    assert not t.check("bad_payload", "not JSON", 3).log


def test_a_cause_quiet_for_forget_s_starts_afresh():
    t = LogThrottle(reminder_s=60, forget_s=600)
    t.check("e", "c", 0)
    t.check("e", "c", 10)
    assert t.check("e", "c", 610) == Verdict(True, 0)  # quiet since 10 s: a new streak


def test_forgotten_causes_are_dropped_so_memory_stays_bounded():
    t = LogThrottle(reminder_s=1, forget_s=10)
    for i in range(100):
        t.check("e", f"cause {i}", i * 11)
    assert len(t._seen) == 1


@pytest.mark.parametrize(("reminder", "forget"), [(0, 10), (-1, 10), (10, 5)])
def test_bad_windows_are_refused(reminder, forget):
    with pytest.raises(ValueError):
        LogThrottle(reminder, forget)


def test_counted_logs_the_first_per_cause_then_reminders():
    log = LogThrottle(reminder_s=600)
    assert log.check("a/+", "too_large", 0.0) == Verdict(True, 0)
    assert [log.check("a/+", "too_large", t).log for t in (1, 2, 3)] == [False, False, False]
    assert log.check("a/+", "not_json", 4.0) == Verdict(True, 0)  # another cause: at once
    assert log.check("a/+", "too_large", 600.0) == Verdict(True, 3)  # reminder, with the count
    assert not log.check("a/+", "too_large", 601.0).log
    assert log.counts[("a/+", "too_large")] == 6
    assert log.total == 7


def test_counted_keys_are_bounded():
    log = LogThrottle(max_keys=2)
    for n in range(100):
        log.check(f"filter-{n}", f"cause-{n}", float(n))
    assert len(log.counts) <= 3  # two named, the rest pooled under ("*", "*")
    assert log.total == 100


def test_message_throttle_treats_messages_that_differ_in_numbers_as_one_kind():
    gate = MessageThrottle(reminder_s=600)
    assert gate.admit("power", "setpoint +900 W exceeds 37.50 A", 0.0) == 0
    assert gate.admit("power", "setpoint -1e+06 W exceeds 37.50 A", 1.0) is None
    assert gate.admit("power", "value must be a finite number", 2.0) == 0
    assert gate.admit("state", "setpoint +900 W exceeds 37.50 A", 3.0) == 0  # another key
    assert gate.admit("power", "setpoint +1 W exceeds 1 A", 700.0) == 1
