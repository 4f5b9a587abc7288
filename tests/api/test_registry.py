"""Up/down/stale decisions of the API's service registry (pure)."""

from __future__ import annotations

from services.api.registry import ServiceRegistry


def hb(interval=10.0):
    return {
        "service": "x",
        "version": "1.0",
        "interval_s": interval,
        "uptime_s": 5,
        "last_activity": None,
    }


def test_online_with_fresh_heartbeat_is_up():
    r = ServiceRegistry(stale_after_missed=3)
    r.on_status("wican-soc", "online", 0)
    r.on_heartbeat("wican-soc", hb(), 1)
    s = r.snapshot(now=20)["wican-soc"]
    assert s["up"] is True and s["reason"] is None and s["heartbeat_age_s"] == 19


def test_stale_after_n_missed_heartbeats():
    r = ServiceRegistry(stale_after_missed=3)
    r.on_status("wican-soc", "online", 0)
    r.on_heartbeat("wican-soc", hb(10), 0)
    assert r.snapshot(now=30)["wican-soc"]["up"] is True
    late = r.snapshot(now=30.1)["wican-soc"]
    assert late["up"] is False and "no heartbeat for 30.1 s" in late["reason"]


def test_offline_status_is_down_even_with_fresh_heartbeat():
    r = ServiceRegistry(stale_after_missed=3)
    r.on_heartbeat("api", hb(), 0)
    r.on_status("api", "offline", 0)
    s = r.snapshot(now=1)["api"]
    assert s["up"] is False and s["reason"] == "status is 'offline'"


def test_online_without_heartbeat_is_down():
    r = ServiceRegistry(stale_after_missed=3)
    r.on_status("api", "online", 0)
    assert r.snapshot(now=0)["api"]["reason"] == "no heartbeat yet"


def test_expected_but_never_seen():
    r = ServiceRegistry(stale_after_missed=3, expected=["bic-gateway"])
    assert r.snapshot(now=0)["bic-gateway"]["reason"] == "never seen"


def test_non_object_heartbeat_is_ignored():
    r = ServiceRegistry(stale_after_missed=3)
    assert r.on_heartbeat("api", [1, 2], 0) is False
    assert r.snapshot(now=0) == {}
