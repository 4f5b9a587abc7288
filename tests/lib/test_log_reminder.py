"""A lasting problem in the log: once, then a reminder every 10 minutes with a count (pure)."""

from __future__ import annotations

from shared.log_reminder import REMINDER_INTERVAL_S, Reminder, Report


class Emitted:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict]] = []

    def __call__(self, event: str, **fields) -> None:
        self.lines.append((event, fields))


def test_default_interval_is_ten_minutes():
    assert REMINDER_INTERVAL_S == 600 and Reminder().every_s == 600


def test_first_occurrence_is_reported_then_quiet_until_the_reminder():
    r = Reminder(every_s=600)
    assert r.occurred("no can0", 0.0) == Report(first=True, repeated=1, total=1, for_s=0.0)
    for t in range(5, 600, 5):  # every 5 s, like a retry loop
        assert r.occurred("no can0", float(t)) is None
    reminder = r.occurred("no can0", 600.0)
    assert reminder == Report(first=False, repeated=120, total=121, for_s=600.0)
    assert r.occurred("no can0", 605.0) is None
    assert r.occurred("no can0", 1200.0) == Report(False, 2, 123, 1200.0)  # 605 s and now


def test_a_new_cause_is_reported_at_once_with_a_new_count():
    r = Reminder(every_s=600)
    r.occurred("no can0", 0.0)
    r.occurred("no can0", 5.0)
    assert r.occurred("can0 is down", 10.0) == Report(True, 1, 1, 0.0)
    assert r.occurred("can0 is down", 15.0) is None
    assert r.occurred("can0 is down", 610.0) == Report(False, 2, 3, 600.0)


def test_clear_forgets_the_cause_so_a_recurrence_is_reported_again():
    r = Reminder(every_s=600)
    assert r.clear() == 0
    r.occurred("no can0", 0.0)
    r.occurred("no can0", 5.0)
    assert r.clear() == 2
    assert r.occurred("no can0", 10.0) == Report(True, 1, 1, 0.0)


def test_log_emits_the_cause_once_and_a_reminder_with_counts():
    out = Emitted()
    r = Reminder(every_s=600)
    for t in range(0, 1205, 5):
        r.log(out, "can_bus_unavailable", "no can0", float(t), retry_s=5)
    assert [fields.get("reminder", False) for _e, fields in out.lines] == [False, True, True]
    first, reminder = out.lines[0][1], out.lines[1][1]
    assert first == {"reason": "no can0", "next_reminder_s": 600, "retry_s": 5}
    assert reminder["repeated"] == 120 and reminder["total"] == 121 and reminder["for_s"] == 600


def test_resolved_logs_only_after_a_problem():
    out = Emitted()
    r = Reminder()
    assert r.resolved(out, "can_bus_recovered") is False and out.lines == []
    r.log(out, "can_bus_unavailable", "no can0", 0.0)
    r.log(out, "can_bus_unavailable", "no can0", 5.0)
    assert r.resolved(out, "can_bus_recovered", channel="can0") is True
    assert out.lines[-1] == (
        "can_bus_recovered",
        {"resolved": "no can0", "total": 2, "channel": "can0"},
    )
    assert r.cause is None
