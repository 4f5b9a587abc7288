"""Gateway + simulator over udp_multicast + the real broker: the MQTT API end to end."""

from __future__ import annotations

import json

import pytest
from bic_gateway.bic_stack import json_where, payload

from shared.contract.retained import REASON

pytestmark = pytest.mark.integration

BASE = "canbridge/bic/0"
SIM = "canbridge/sim/bic/0"


def test_info_state_fault_and_plain_topics_are_retained(stack, probe):
    watcher, _bus, _procs = stack()
    watcher.wait_for(f"{BASE}/fault")
    late = probe("consumer")
    late.subscribe(f"{BASE}/#")
    info = payload(late.wait_for(f"{BASE}/info", where=lambda m: m.retain))
    assert info["model"] == "BIC-2200-48" and info["controllable"] is True
    state = payload(late.wait_for(f"{BASE}/state", where=lambda m: m.retain))
    assert 48 < state["voltage"] < 54 and state["ac_voltage"] == 230.0
    assert set(state["flags"]) >= {"ac_fail", "op_off", "dc_ok", "eeprom_error"}
    late.wait_for(f"{BASE}/voltage", where=lambda m: m.retain)
    fault = payload(late.wait_for(f"{BASE}/fault", where=lambda m: m.retain))
    assert fault["flags"]["otp"] == {
        "active": False,
        "count": 0,
        "severity": "fault",
        "description": "over-temperature; re-power after cool-down",
    }
    late.wait_for(f"{BASE}/availability", "online", where=lambda m: m.retain)


def test_power_setpoint_drives_the_unit_and_legacy_payloads_work(stack, probe):
    watcher, _bus, _procs = stack(gateway={"CANBRIDGE_WEAR__MIN_INTERVAL_S": "5"})
    controller = probe("charge-controller")
    admin = probe("admin")  # set/charge, set/state, set/cmd, set/current: not the controller's
    assert controller.publish(f"{BASE}/set/power", json.dumps({"value": -500})) == 0
    sp = payload(watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="discharge")))
    assert sp["current_a"] < -9 and "DIRECTION_CTRL" in sp["written"]
    watcher.wait_for(f"{BASE}/state", where=lambda m: payload(m)["current"] < -5)
    # legacy bridge: charge/set with chargeA / chargeP, state/set 0/1
    assert admin.publish(f"{BASE}/set/charge", '{"var": "chargeA", "val": 3}') == 0
    watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="charge", current_a=3.0))
    assert admin.publish(f"{BASE}/set/charge", '{"var": "chargeP", "val": -255}') == 0
    watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="discharge"))
    # set/state 0, then 1 within the unit's wear interval: 0 is written, 1 held and applied
    # when the interval ends (the last request wins). 1 is sent once 0 is applied: sent
    # together, the command queue may replace a still-queued 0 by the 1 (nothing to write).
    watcher.clear()
    assert admin.publish(f"{BASE}/set/state", "0") == 0
    watcher.wait_for(f"{BASE}/state", where=lambda m: payload(m)["flags"]["op_off"])
    assert admin.publish(f"{BASE}/set/state", "1") == 0
    wear = payload(watcher.wait_for(f"{BASE}/wear", where=lambda m: payload(m)["held"]))
    assert wear["held"] == {"OPERATION": 1} and wear["eeprom_writes"] == {"OPERATION": 1}
    watcher.wait_for(f"{BASE}/operation", "off")
    watcher.wait_for(f"{BASE}/operation", "on")
    wear = payload(
        watcher.wait_for(
            f"{BASE}/wear", where=lambda m: payload(m)["eeprom_writes"].get("OPERATION") == 2
        )
    )
    assert wear["held"] == {}


def test_out_of_range_setpoint_is_rejected_on_the_error_topic(stack, probe):
    watcher, _bus, _procs = stack()
    controller = probe("charge-controller")
    controller.publish(f"{BASE}/set/power", "-99999")
    error = payload(watcher.wait_for(f"{BASE}/error"))
    assert error["command"] == "power" and "exceeds the discharge maximum" in error["error"]
    probe("admin").publish(  # set/cmd is not the controller's to send (ACL)
        f"{BASE}/set/cmd", json.dumps({"id": "x1", "cmd": "cvset", "value": 99})
    )
    reply = payload(watcher.wait_for(f"{BASE}/reply", where=json_where(id="x1")))
    assert reply["ok"] is False and "38.00 V .. 65.00 V" in reply["error"]
    watcher.wait_for(f"{BASE}/error", where=lambda m: "VOUT_SET 99.00 V" in payload(m)["error"])
    assert not watcher.received(f"{BASE}/setpoint"), "nothing may be written"
    sim_state = payload(watcher.wait_for(f"{SIM}/state"))
    assert sim_state["writes"] == {}


def test_retained_commands_and_bad_payloads_are_ignored(stack, probe):
    admin = probe("admin")
    admin.publish(f"{BASE}/set/power", "-400", retain=True)  # stale by nature
    watcher, _bus, (_sim, gateway) = stack()
    admin.publish(f"{BASE}/set/charge", '{"var": "chargeX", "val": 1}')
    watcher.wait_for(f"{BASE}/error", where=lambda m: "chargeA" in payload(m)["error"])
    admin.publish(f"{BASE}/set/power", "", retain=True)  # clearing it is no command either
    admin.publish(f"{BASE}/set/power", json.dumps({"value": -300, "ts": 1_000_000_000}))
    old = payload(watcher.wait_for(f"{BASE}/error", where=lambda m: "old" in payload(m)["error"]))
    assert old["command"] == "power"
    assert not watcher.received(f"{BASE}/setpoint")
    assert "retained_command_ignored" in gateway.log()
    # once the bus is open the retained one is also answered (before, nothing could answer)
    stale = [payload(m) for m in watcher.received(f"{BASE}/error") if payload(m)["value"] == "-400"]
    assert all(e["command"] == "power" and e["error"] == REASON for e in stale)


def test_identical_writes_are_skipped(stack, probe):
    watcher, _bus, _procs = stack()
    sender = probe("admin")  # set/current is not the controller's to send (ACL)
    sender.publish(f"{BASE}/set/current", "4")
    first = payload(watcher.wait_for(f"{BASE}/setpoint", where=json_where(current_a=4.0)))
    assert first["written"]
    watcher.clear()
    sender.publish(f"{BASE}/set/current", "4")
    second = payload(watcher.wait_for(f"{BASE}/setpoint", where=json_where(current_a=4.0)))
    assert second["written"] == [] and len(second["skipped"]) == 5
    counts = payload(watcher.wait_for(f"{SIM}/state"))["writes"]
    assert sum(counts.values()) == len(first["written"])


def test_watchdog_idles_the_unit_when_the_controller_goes_silent(stack, probe):
    watcher, _bus, _procs = stack(gateway={"CANBRIDGE_WATCHDOG__TIMEOUT_S": "2"})
    controller = probe("charge-controller")
    controller.publish(f"{BASE}/set/power", "-600")
    watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="discharge"))
    idle = payload(watcher.wait_for(f"{BASE}/setpoint", where=json_where(mode="safe_idle")))
    assert idle["direction"] == "idle" and idle["watchdog"] == "tripped"
    assert "no setpoint" in idle["idle_reason"]
    assert idle["registers"]["DIRECTION_CTRL"] == 0 and idle["registers"]["IOUT_SET"] == 0.45
    watcher.wait_for(f"{BASE}/direction", "charge")


def test_controller_offline_idles_the_unit_at_once(stack, probe):
    watcher, _bus, _procs = stack()
    controller = probe("charge-controller")
    controller.publish(f"{BASE}/set/power", "-600")
    watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="discharge"))
    controller.publish("canbridge/charge-controller/status", "offline", retain=True)
    idle = payload(watcher.wait_for(f"{BASE}/setpoint", where=json_where(mode="safe_idle")))
    assert idle["idle_reason"] == "controller is offline"
    controller.publish("canbridge/charge-controller/status", "", retain=True)


def test_a_unit_that_stops_answering_turns_offline_and_comes_back(stack, probe):
    watcher, _bus, _procs = stack()
    sim_admin = probe("admin")
    watcher.clear()
    sim_admin.publish(f"{SIM}/set/mute", "1")
    watcher.wait_for(f"{BASE}/availability", "offline")
    watcher.clear()
    sim_admin.publish(f"{SIM}/set/mute", "0")
    watcher.wait_for(f"{BASE}/availability", "online")
    watcher.wait_for(f"{BASE}/info")  # re-identified after coming back


def test_a_power_cycled_unit_gets_its_setpoint_again_not_a_skip(stack, probe):
    """After a re-power the unit holds its boot values (charge direction, minimum current): the
    gateway must not skip the controller's unchanged setpoint on the strength of stale values."""
    slow = {"CANBRIDGE_TIMING__SLOW_POLL_INTERVAL_S": "600", "CANBRIDGE_WEAR__MIN_INTERVAL_S": "0"}
    watcher, _bus, _procs = stack(gateway=slow)
    controller, sim_admin = probe("charge-controller"), probe("admin")
    controller.publish(f"{BASE}/set/power", "-600")
    watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="discharge"))
    watcher.clear()
    sim_admin.publish(f"{SIM}/set/mute", "1")
    watcher.wait_for(f"{BASE}/availability", "offline")
    sim_admin.publish(f"{SIM}/set/power_cycle", "1")  # same publisher: handled before unmute
    watcher.clear()
    sim_admin.publish(f"{SIM}/set/mute", "0")
    watcher.wait_for(f"{BASE}/info")
    controller.publish(f"{BASE}/set/power", "-600")
    sp = payload(watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="discharge")))
    assert "DIRECTION_CTRL" in sp["written"] and "REVERSE_IOUT_SET" in sp["written"]
    watcher.wait_for(f"{SIM}/state", where=lambda m: payload(m)["current"] < -5)


def test_shutdown_idles_the_unit_and_announces_offline(stack, probe):
    watcher, _bus, (_sim, gateway) = stack()
    probe("charge-controller").publish(f"{BASE}/set/power", "-600")
    watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="discharge"))
    assert gateway.terminate() == 0
    idle = payload(watcher.wait_for(f"{BASE}/setpoint", where=json_where(mode="safe_idle")))
    assert idle["idle_reason"] == "gateway stopping"
    watcher.wait_for(f"{BASE}/availability", "offline")


def test_write_counters_persist_across_a_gateway_restart(stack, probe, service, tmp_path):
    watcher, bus, (_sim, gateway) = stack()
    cli = probe("admin")
    cli.publish(f"{BASE}/set/cmd", json.dumps({"id": "a", "cmd": "ccset", "value": 7.5}))
    watcher.wait_for(f"{BASE}/reply", where=json_where(id="a", ok=True))
    wear = payload(watcher.wait_for(f"{BASE}/wear", where=lambda m: payload(m)["writes"]))
    assert wear["writes"] == {"IOUT_SET": 1}
    # the simulated battery discharges a little at idle: let some energy be counted
    counted = watcher.wait_for(f"{BASE}/energy_discharged", where=lambda m: float(m.text) > 0)
    assert gateway.terminate() == 0
    before = float(watcher.received(f"{BASE}/energy_discharged")[-1].text)
    assert before >= float(counted.text) > 0
    watcher.clear()
    from bic_gateway.bic_stack import gateway_env

    service(["-m", "services.bic_gateway"], "bic-gateway", gateway_env(bus, tmp_path))
    watcher.wait_for(f"{BASE}/availability", "online")
    restored = payload(watcher.wait_for(f"{BASE}/wear"))
    # the energy counters continue from where they stopped (not from 0)
    resumed = watcher.wait_for(f"{BASE}/energy_discharged")
    assert float(resumed.text) >= before
    # the shutdown idle wrote IOUT_SET back to the minimum: two writes survive the restart
    assert restored["writes"]["IOUT_SET"] == 2
    cli.publish(f"{BASE}/set/cmd", json.dumps({"id": "b", "cmd": "ccset", "value": 8}))
    watcher.wait_for(f"{BASE}/reply", where=json_where(id="b", ok=True))
    watcher.wait_for(f"{BASE}/wear", where=lambda m: payload(m)["writes"].get("IOUT_SET") == 3)
