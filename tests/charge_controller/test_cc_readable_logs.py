"""The controller's log as a person reads it: one line per decision, no reprs, no floods."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration

OWN = "canbridge/charge-controller"


def lines(log: str) -> list[dict]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def test_decisions_state_changes_and_repeated_errors_in_the_log(service, probe):
    watcher = probe()
    watcher.subscribe(f"{OWN}/#")
    gateway, meter, admin = probe("bic-gateway"), probe("sim-meter"), probe()
    proc = service(
        ["-m", "services.charge_controller"],
        "charge-controller",
        {"CANBRIDGE_HEARTBEAT_INTERVAL_S": "1", "CANBRIDGE_RESUME_SAMPLES": "1"},
    )
    watcher.wait_for(f"{OWN}/config")
    gateway.publish("canbridge/bic/0/availability", "online", retain=True)
    battery = {"voltage": 52.0, "ac_power": 0.0, "temperature": 30.0}
    for grid in (600, 650, 700, 720):
        gateway.publish("canbridge/bic/0/state", json.dumps(battery))
        meter.publish("sim/meter/SENSOR", json.dumps({"SML": {"Power_curr": grid}}))
    watcher.wait_for(f"{OWN}/state", where=lambda m: json.loads(m.payload)["setpoint_w"])
    for _ in range(5):  # the same broken payload over and over
        gateway.publish("canbridge/bic/0/state", b"not json")
    admin.publish(f"{OWN}/set/mode", "hold")
    watcher.wait_for(f"{OWN}/state", where=lambda m: json.loads(m.payload)["mode"] == "hold")
    gateway.publish("canbridge/bic/0/availability", "", retain=True)
    assert proc.terminate() == 0

    log = lines(proc.log())
    decisions = [e for e in log if e["event"] == "setpoint"]
    assert decisions, "no decision was logged"
    for entry in decisions:
        assert isinstance(entry["setpoint_w"], float | int) and entry["reason"]
    # a decision is one line: no state line follows it for the same change
    events = [e["event"] for e in log]
    assert not any(
        a == "setpoint" and b == "controller_state"
        for a, b in zip(events, events[1:], strict=False)
    )
    # the mode change is one line with plain fields
    hold = [
        e for e in log if e.get("mode") == "hold" and e["event"] in ("setpoint", "controller_state")
    ]
    assert len(hold) == 1
    assert isinstance(hold[0]["max_charge_w"], float | int) and isinstance(hold[0]["limits"], str)
    # no Python reprs anywhere: no tuples, dataclasses or "summary" blobs
    for entry in log:
        for key, value in entry.items():
            assert not (isinstance(value, str) and value.startswith("(")), (key, value)
            assert "Limits(" not in str(value), (key, value)
        assert "summary" not in entry
    # five identical errors: one line (the reminder comes after 5 minutes)
    assert [e["event"] for e in log].count("gateway_state_unreadable") == 1
