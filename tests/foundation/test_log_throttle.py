"""Repeated errors are logged once per cause, then as a periodic reminder with a count."""

from __future__ import annotations

import pytest

from shared.log_throttle import LogThrottle, Verdict


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
