"""A service that says it cannot do its job (heartbeat `problem`): failing, with the reason, in
the api's registry, on the status page and in the container healthcheck (pure parts)."""

from __future__ import annotations

from services.api.page import render
from services.api.registry import ServiceRegistry
from shared.healthcheck import check
from shared.heartbeat import touch

REASON = "CAN interface socketcan 'can0' cannot be opened: No such device"


def beat(problem=None, interval=10.0):
    return {"service": "bic-gateway", "version": "1", "interval_s": interval, "problem": problem}


def test_a_service_with_a_problem_is_failing_with_its_reason():
    r = ServiceRegistry(stale_after_missed=3)
    r.on_status("bic-gateway", "online", 0)
    r.on_heartbeat("bic-gateway", beat(REASON), 1)
    s = r.snapshot(now=2)["bic-gateway"]
    assert s["up"] is False
    assert s["reason"] == f"failing: {REASON}" and s["problem"] == REASON


def test_the_problem_gone_means_up_again():
    r = ServiceRegistry(stale_after_missed=3)
    r.on_status("bic-gateway", "online", 0)
    r.on_heartbeat("bic-gateway", beat(REASON), 1)
    r.on_heartbeat("bic-gateway", beat(None), 2)
    s = r.snapshot(now=3)["bic-gateway"]
    assert s["up"] is True and s["reason"] is None and s["problem"] is None


def test_offline_and_stale_say_so_first():
    r = ServiceRegistry(stale_after_missed=3)
    r.on_status("bic-gateway", "online", 0)
    r.on_heartbeat("bic-gateway", beat(REASON), 0)
    stale = r.snapshot(now=31)["bic-gateway"]  # an old problem is not news: the silence is
    assert stale["up"] is False and "no heartbeat" in stale["reason"]
    r.on_status("bic-gateway", "offline", 32)
    assert r.snapshot(now=32)["bic-gateway"]["reason"] == "status is 'offline'"


def test_a_problem_that_is_not_a_text_is_ignored():
    r = ServiceRegistry(stale_after_missed=3)
    r.on_status("x", "online", 0)
    r.on_heartbeat("x", beat(problem=""), 0)
    assert r.snapshot(now=1)["x"]["up"] is True
    r.on_heartbeat("x", beat(problem={"no": "text"}), 0)
    assert r.snapshot(now=1)["x"]["up"] is True


def test_status_page_shows_failing_with_the_reason():
    r = ServiceRegistry(stale_after_missed=3)
    r.on_status("bic-gateway", "online", 0)
    r.on_heartbeat("bic-gateway", beat(REASON), 0)
    r.on_status("api", "online", 0)
    r.on_heartbeat("api", beat(None), 0)
    health = {"status": "fail", "mqtt_connected": True, "services": r.snapshot(now=1)}
    html = render(health, {}, {}, None)
    assert "<td>bic-gateway</td><td>failing</td><td>failing: CAN interface socketcan" in html
    assert "<td>api</td><td>up</td>" in html
    assert "attention needed" in html


def test_container_healthcheck_fails_with_the_problem(tmp_path):
    health = tmp_path / "hb"
    touch(health, 10, REASON)
    ok, reason = check(health)
    assert ok is False and reason == f"failing: {REASON}"
    touch(health, 10, None)
    assert check(health)[0] is True


def test_a_multi_line_problem_stays_on_one_line_of_the_health_file(tmp_path):
    health = tmp_path / "hb"
    touch(health, 10, "first\nsecond line")
    assert health.read_text() == "10\nfirst second line\n"
    assert check(health) == (False, "failing: first second line")
