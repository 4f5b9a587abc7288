"""The API's history of controller decisions (pure)."""

from __future__ import annotations

from services.api.decisions import DecisionLog


def state(setpoint, reason, time="t"):
    return {"time": time, "last_decision": {"setpoint_w": setpoint, "reason": reason}}


def test_distinct_decisions_newest_first_and_bounded():
    log = DecisionLog(size=3)
    assert log.observe(state(-100, "a", "t1")) is True
    assert log.observe(state(-100, "a", "t2")) is False  # the same decision republished
    for i, reason in enumerate("bcd"):
        log.observe(state(i, reason))
    assert [e["reason"] for e in log.entries()] == ["d", "c", "b"]


def test_states_without_a_decision_are_ignored():
    log = DecisionLog()
    assert log.observe({"mode": "auto"}) is False
    assert log.observe([1, 2]) is False
    assert log.entries() == []
