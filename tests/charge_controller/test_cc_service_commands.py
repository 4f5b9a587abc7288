"""The controller process alone on a real broker: commands, reports, keepalive, idle at start."""

from __future__ import annotations

import json

from shared.contract.payloads import CommandResult, ControllerState, SetPower
from shared.contract.retained import REASON

OWN = "canbridge/charge-controller"


def start(service):
    return service(
        ["-m", "services.charge_controller"],
        "charge-controller",
        {"CANBRIDGE_HEARTBEAT_INTERVAL_S": "1", "CANBRIDGE_GATEWAY__KEEPALIVE_S": "1"},
    )


def test_runtime_parameters_are_validated_and_reported(service, probe):
    watcher = probe()
    watcher.subscribe(f"{OWN}/#")
    admin = probe()
    start(service)
    watcher.wait_for(f"{OWN}/config")

    admin.publish(f"{OWN}/set/control/gain", "0.5")
    ok = json.loads(watcher.wait_for(f"{OWN}/command_result").payload)
    assert ok == {"parameter": "control/gain", "ok": True, "value": 0.5, "error": None}
    watcher.wait_for(
        f"{OWN}/config", where=lambda m: json.loads(m.payload)["control"]["gain"] == 0.5
    )

    watcher.clear()
    admin.publish(f"{OWN}/set/control/gain", "5")
    bad = json.loads(watcher.wait_for(f"{OWN}/command_result").payload)
    assert bad["ok"] is False and "control.gain" in bad["error"]

    watcher.clear()
    admin.publish(f"{OWN}/set/mode", "manual")
    watcher.wait_for(f"{OWN}/command_result", where=lambda m: json.loads(m.payload)["ok"])
    state = watcher.wait_for(
        f"{OWN}/state", where=lambda m: json.loads(m.payload)["mode"] == "manual"
    )
    assert json.loads(state.payload)["enabled"] is True


def test_a_retained_command_is_not_obeyed(service, probe):
    admin = probe()
    admin.publish(f"{OWN}/set/enabled", "false", retain=True)
    watcher = probe()
    watcher.subscribe(f"{OWN}/command_result")
    watcher.subscribe(f"{OWN}/state")
    controller = start(service)
    stale = CommandResult(**json.loads(watcher.wait_for(f"{OWN}/command_result").payload))
    assert stale == CommandResult(parameter="enabled", ok=False, value=None, error=REASON)
    state = ControllerState(**json.loads(watcher.wait_for(f"{OWN}/state").payload))
    assert state.enabled is True
    assert "retained_command_ignored" in controller.log()  # the one policy says so
    admin.publish(f"{OWN}/set/enabled", "", retain=True)  # clear it


def test_idle_until_the_meter_delivers_and_setpoint_kept_alive(service, probe):
    watcher = probe()
    watcher.subscribe(f"{OWN}/state")
    watcher.subscribe("canbridge/bic/0/set/power")
    start(service)
    state = json.loads(watcher.wait_for(f"{OWN}/state").payload)
    assert state["setpoint_w"] == 0 and state["meter"]["ok"] is False
    assert state["meter"]["reason"] == "no meter sample yet"
    watcher.wait(lambda: len(watcher.received("canbridge/bic/0/set/power")) >= 2, "two keepalives")
    sent = watcher.received("canbridge/bic/0/set/power")[0].payload
    body = json.loads(sent)
    assert body["value"] == 0.0 and body["ts"] > 1.7e9
    assert SetPower.model_validate_json(sent).value == 0.0  # the contract's model of set/power


def test_an_answer_carries_its_commands_correlation_data(service, probe):
    """MQTT v5 Correlation Data is echoed on command_result, so a sender can tell its answer
    from the answer to somebody else's command for the same parameter; an oversized one is not
    echoed (an id, not a payload)."""
    watcher = probe()
    watcher.subscribe(f"{OWN}/#")
    admin = probe()
    start(service)
    watcher.wait_for(f"{OWN}/config")
    admin.publish(f"{OWN}/set/control/gain", "0.6", correlation=b"mine-1")
    admin.publish(f"{OWN}/set/control/gain", "7", correlation=b"mine-2")
    admin.publish(f"{OWN}/set/control/gain", "0.7", correlation=b"x" * 65)
    watcher.wait(lambda: len(watcher.received(f"{OWN}/command_result")) >= 3, "three answers")
    answers = watcher.received(f"{OWN}/command_result")
    by_value = {json.loads(m.payload)["value"]: m.correlation for m in answers}
    assert by_value[0.6] == b"mine-1" and by_value[0.7] is None
    refused = [m for m in answers if not json.loads(m.payload)["ok"]]
    assert [m.correlation for m in refused] == [b"mine-2"]
