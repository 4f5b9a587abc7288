"""Issue 12 through MQTT: the wear governor under a command flood, one validation path for every
command topic, fast wear-free recovery after a controller or gateway restart, provisioning that
waits for the re-power, SVR mode reported (gateway + simulator + the real broker)."""

from __future__ import annotations

import json
import math
import time

import pytest
from bic_gateway.bic_stack import gateway_env, json_where, payload

pytestmark = pytest.mark.integration

BASE = "canbridge/bic/0"
SIM = "canbridge/sim/bic/0"
CONTROLLER_STATUS = "canbridge/charge-controller/status"
RECOVERY_DEADLINE_S = 5.0  # issue 12: regulation resumes within 5 s


def fresh_sim_state(watcher) -> dict:
    watcher.clear()
    return payload(watcher.wait_for(f"{SIM}/state"))


@pytest.mark.long(12)
def test_a_set_state_flood_gets_one_eeprom_write_per_interval_and_the_last_value(stack, probe):
    """Item 1: Home Assistant alternating set/state 0/1. The first request is written, the rest
    are coalesced into one held value, written when the unit's interval ends."""
    interval = 10.0
    watcher, _bus, _procs = stack(gateway={"CANBRIDGE_WEAR__MIN_INTERVAL_S": str(interval)})
    home_assistant = probe("homeassistant")
    # the first 0 is written at once; it is sent alone, since the command queue would replace
    # a still-queued 0 by a later 1 (then there would be nothing to write at all)
    started = time.monotonic()
    assert home_assistant.publish(f"{BASE}/set/state", "0") == 0
    watcher.wait_for(f"{BASE}/state", where=lambda m: payload(m)["flags"]["op_off"])
    for i in range(1, 100):  # 1, 0, 1, ..., 1: the unit is off, ends wanted on
        assert home_assistant.publish(f"{BASE}/set/state", str(i % 2)) == 0
    flood_s = time.monotonic() - started
    wear = payload(
        watcher.wait_for(
            f"{BASE}/wear",
            where=lambda m: (
                not payload(m)["held"] and payload(m)["eeprom_writes"].get("OPERATION", 0) >= 2
            ),
            timeout=interval + 20,
        )
    )
    # one write when the flood started, one when the interval ended (more only if the flood
    # itself lasted longer than an interval)
    assert wear["eeprom_writes"]["OPERATION"] <= math.ceil(flood_s / interval) + 1
    assert wear["min_interval_s"] == interval
    watcher.wait_for(f"{BASE}/operation", "on")
    sim = fresh_sim_state(watcher)
    assert sim["eeprom_writes"] == wear["eeprom_writes"] == sim["writes"]


def test_every_command_topic_takes_the_same_validation(stack, probe):
    """Item 2: set/cmd may not provision without confirmation nor leave the battery window;
    setpoint topics keep the same limits; malformed payloads get an error, not a traceback."""
    watcher, _bus, (_sim, gateway) = stack()
    admin, controller = probe("admin"), probe("charge-controller")
    commands = [
        ({"id": "t1", "cmd": "init_mode"}, "needs an explicit confirmation"),
        ({"id": "t2", "cmd": "init_mode", "confirm": "yes"}, "needs an explicit confirmation"),
        ({"id": "t3", "cmd": "cvset", "value": 65}, "outside the configured 46.00 V"),
        ({"id": "t4", "cmd": "dvset", "value": 40}, "(battery window min)"),
        ({"id": "t5", "cmd": "ccset", "value": 46}, "0.45 A .. 45.00 A"),
    ]
    for request, reason in commands:
        admin.publish(f"{BASE}/set/cmd", json.dumps(request))
        reply = payload(watcher.wait_for(f"{BASE}/reply", where=json_where(id=request["id"])))
        assert reply["ok"] is False and reason in reply["error"], reply
    setpoints = [
        ("set/current", "46", "exceeds the charge maximum 45.00 A"),
        ("set/charge", '{"var": "chargeA", "val": -39}', "exceeds the discharge maximum"),
        ("set/charge", '{"var": [1], "val": 1}', 'expected {"var"'),
        ("set/provision", '{"confirm": false}', 'needs {"confirm": true}'),
    ]
    for topic, body, reason in [("set/power", "-99999", "exceeds the discharge max"), *setpoints]:
        watcher.clear()
        # the controller may only write set/power (broker ACL); the rest come from admin
        (controller if topic == "set/power" else admin).publish(f"{BASE}/{topic}", body)
        error = payload(watcher.wait_for(f"{BASE}/error"))
        assert reason in error["error"], (topic, error)
    assert fresh_sim_state(watcher)["writes"] == {}  # nothing reached the unit
    assert "Traceback" not in gateway.log()


def test_a_restarted_controller_gets_its_discharge_within_5_s(stack, probe):
    """Item 3: safe idle flips only the volatile DIRECTION_CTRL, so the flip back needs no wear
    interval (default 26.3 s here)."""
    watcher, _bus, _procs = stack()
    controller = probe("charge-controller")
    controller.publish(CONTROLLER_STATUS, "online", retain=True)
    controller.publish(f"{BASE}/set/power", "-600")
    watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="discharge"))
    controller.publish(CONTROLLER_STATUS, "offline", retain=True)  # what its will says
    idle = payload(watcher.wait_for(f"{BASE}/setpoint", where=json_where(mode="safe_idle")))
    assert idle["registers"]["DIRECTION_CTRL"] == 0 and "DIRECTION_CTRL" in idle["written"]
    watcher.clear()
    back = probe("charge-controller")
    back.publish(CONTROLLER_STATUS, "online", retain=True)
    # the status reaches the gateway on its own connection, so a setpoint sent right behind it
    # may arrive first and be refused as "controller is offline"; like the real controller
    # (one setpoint per meter sample), keep sending until one is applied
    resumed = None
    for _attempt in range(int(RECOVERY_DEADLINE_S)):
        back.publish(f"{BASE}/set/power", "-600")
        try:
            resumed = payload(
                watcher.wait_for(
                    f"{BASE}/setpoint", where=json_where(direction="discharge"), timeout=1.0
                )
            )
            break
        except AssertionError:
            continue
    assert resumed is not None, f"no discharge within {RECOVERY_DEADLINE_S} s of sending"
    assert "DIRECTION_CTRL" in resumed["written"] and resumed["deferred"] == []
    watcher.wait_for(f"{SIM}/state", where=lambda m: payload(m)["current"] < -5)
    assert fresh_sim_state(watcher)["eeprom_writes"] == {}  # idle and recovery wore nothing


def test_a_restarted_gateway_resumes_discharge_within_5_s(stack, probe, service, tmp_path):
    """Item 3: the stopping gateway idles the unit; its successor must not wait out a wear
    interval (persisted in the state file) to flip the direction back."""
    watcher, bus, (_sim, gateway) = stack()
    controller = probe("charge-controller")
    controller.publish(f"{BASE}/set/power", "-600")
    watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="discharge"))
    assert gateway.terminate() == 0
    watcher.wait_for(f"{BASE}/setpoint", where=json_where(mode="safe_idle"))
    watcher.clear()
    service(["-m", "services.bic_gateway"], "bic-gateway", gateway_env(bus, tmp_path))
    watcher.wait_for(f"{BASE}/availability", "online")
    controller.publish(f"{BASE}/set/power", "-600")
    resumed = payload(
        watcher.wait_for(
            f"{BASE}/setpoint",
            where=json_where(direction="discharge"),
            timeout=RECOVERY_DEADLINE_S,
        )
    )
    assert "DIRECTION_CTRL" in resumed["written"]


def test_setpoints_wait_for_the_re_power_that_activates_battery_mode(stack, probe):
    """Item 9: BIDIRECTIONAL_CONFIG reads back battery mode before the re-power; a discharge
    accepted then would leave the unit charging."""
    watcher, _bus, _procs = stack(sim={"CANBRIDGE_PROVISIONED": "false"})
    admin, controller = probe("admin"), probe("charge-controller")
    assert payload(watcher.wait_for(f"{BASE}/info"))["controllable"] is False
    admin.publish(f"{BASE}/set/provision", json.dumps({"confirm": True}))
    info = payload(
        watcher.wait_for(
            f"{BASE}/info", where=lambda m: "re-power" in " ".join(payload(m)["control_problems"])
        )
    )
    assert info["battery_mode"] is True and info["controllable"] is False
    watcher.clear()
    controller.publish(f"{BASE}/set/power", "-500")
    assert "re-power" in payload(watcher.wait_for(f"{BASE}/error"))["error"]
    assert not watcher.received(f"{BASE}/setpoint")
    # AC off (the unit stops answering), on again
    admin.publish(f"{SIM}/set/mute", "1")
    watcher.wait_for(f"{BASE}/availability", "offline")
    admin.publish(f"{SIM}/set/power_cycle", "1")
    watcher.clear()
    admin.publish(f"{SIM}/set/mute", "0")
    watcher.wait_for(f"{BASE}/info", where=json_where(controllable=True))
    controller.publish(f"{BASE}/set/power", "-500")
    watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="discharge"))
    watcher.wait_for(f"{SIM}/state", where=lambda m: payload(m)["current"] < -5)


def test_a_unit_in_svr_mode_is_reported_and_takes_no_writes(stack, probe):
    """Item 9: CAN_CTRL = 0 (front potentiometer) ignores CAN setpoints: say so, write nothing."""
    svr = 0x0402  # EEP_OFF, power-up ON, CAN_CTRL off
    watcher, _bus, _procs = stack(sim={"CANBRIDGE_SYSTEM_CONFIG": str(svr)})
    info = payload(watcher.wait_for(f"{BASE}/info"))
    assert info["controllable"] is False and "SVR mode" in info["control_problems"][0]
    assert "SVR mode" in payload(watcher.wait_for(f"{BASE}/error"))["error"]
    state = payload(watcher.wait_for(f"{BASE}/state"))
    assert state["controllable"] is False and "SVR mode" in state["control_problems"][0]
    admin, controller = probe("admin"), probe("charge-controller")
    admin.publish(f"{BASE}/set/cmd", json.dumps({"id": "s1", "cmd": "ccset", "value": 5}))
    reply = payload(watcher.wait_for(f"{BASE}/reply", where=json_where(id="s1")))
    assert reply["ok"] is False and "SVR mode" in reply["error"]
    watcher.clear()
    controller.publish(f"{BASE}/set/power", "-300")
    assert "SVR mode" in payload(watcher.wait_for(f"{BASE}/error"))["error"]
    assert fresh_sim_state(watcher)["writes"] == {}
