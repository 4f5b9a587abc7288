"""The gateway drives an NPB charger played by the simulator (issue #13 item 4): it finds the unit
on the NPB identifiers, names it from MFR_MODEL, provisions it into power-supply mode, charges,
answers a discharge request by stopping, refuses what an NPB has not got, and breaks none of the
manual's rules the simulator checks (the `stack` fixture asserts that at teardown)."""

from __future__ import annotations

import json

import pytest
from bic_gateway.bic_stack import json_where, payload, private_bus, sim_env

from services.bic_gateway import cli

pytestmark = pytest.mark.integration

BASE = "canbridge/bic/0"
SIM = "canbridge/sim/bic/0"
NPB = {"CANBRIDGE_MODEL": "NPB-1200-48"}
#: provisioning borrows one wear interval per EEPROM write; the test must not wait them out
NO_WEAR_WAIT = {"CANBRIDGE_WEAR__MIN_INTERVAL_S": "0"}


def info_of(watcher) -> dict:
    return payload(watcher.wait_for(f"{BASE}/info"))


def test_an_npb_is_found_on_its_identifiers_and_described_as_charge_only(stack):
    watcher, _bus, _procs = stack(sim=NPB)
    info = info_of(watcher)
    assert info["model"] == "NPB-1200-48"
    assert info["family"] == "NPB" and info["bidirectional"] is False
    assert info["ranges"]["IOUT_SET"] == [3.6, 18]
    assert info["ranges"]["VOUT_SET"] == [42, 80]
    assert "REVERSE_IOUT_SET" not in info["ranges"] and "CURVE_CC" in info["ranges"]
    # the simulator's NPB starts in charger mode: setpoints would do nothing, and we say so
    assert info["controllable"] is False
    assert any("charger mode" in p for p in info["control_problems"])
    state = payload(watcher.wait_for(f"{BASE}/state"))
    assert state["direction"] is None and state["setpoints"]["reverse_iout_set"] is None
    assert state["charge_status"] is not None


def test_charge_then_a_discharge_request_stops_the_charger(stack, probe):
    watcher, _bus, _procs = stack(sim=NPB, gateway=NO_WEAR_WAIT)
    watcher.publish(f"{BASE}/set/provision", json.dumps({"confirm": True}))
    watcher.wait_for(f"{BASE}/info", where=json_where(controllable=True))
    controller = probe("charge-controller")
    assert controller.publish(f"{BASE}/set/power", '{"value": 500}') == 0
    setpoint = payload(watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="charge")))
    assert setpoint["registers"]["OPERATION"] == 1 and setpoint["current_a"] > 9
    watcher.wait_for(f"{SIM}/state", where=lambda m: payload(m)["current"] > 5)

    watcher.clear()
    assert controller.publish(f"{BASE}/set/power", '{"value": -300}') == 0
    stopped = payload(watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="idle")))
    assert "charge-only" in stopped["reason"] and stopped["registers"] == {"OPERATION": 0}
    watcher.wait_for(f"{SIM}/state", where=lambda m: payload(m)["current"] == 0)
    sim_states = [payload(m) for m in watcher.received(f"{SIM}/state")]
    assert all(s["current"] >= 0 for s in sim_states), "an NPB never discharges"
    assert not watcher.received(f"{BASE}/error")


def test_a_setpoint_below_the_npb_minimum_switches_it_off(stack, probe):
    watcher, _bus, _procs = stack(sim=NPB, gateway=NO_WEAR_WAIT)
    watcher.publish(f"{BASE}/set/provision", json.dumps({"confirm": True}))
    watcher.wait_for(f"{BASE}/info", where=json_where(controllable=True))
    probe("charge-controller").publish(f"{BASE}/set/power", '{"value": 60}')  # ~1.2 A < 3.6 A
    off = payload(watcher.wait_for(f"{BASE}/setpoint"))
    assert off["direction"] == "idle" and "below the minimum current 3.60 A" in off["reason"]


def test_registers_an_npb_has_not_got_are_refused(stack):
    watcher, _bus, _procs = stack(sim=NPB)
    watcher.publish(f"{BASE}/set/cmd", json.dumps({"id": 7, "cmd": "discharge"}))
    reply = payload(watcher.wait_for(f"{BASE}/reply", where=json_where(id=7)))
    assert reply["ok"] is False and "NPB-1200-48 has no DIRECTION_CTRL" in reply["error"]
    watcher.publish(f"{BASE}/set/cmd", json.dumps({"id": 8, "cmd": "statusread"}))
    status = payload(watcher.wait_for(f"{BASE}/reply", where=json_where(id=8)))["result"]
    assert status["curve_config"]["charger_mode"] is True
    assert "full" in status["charge_status"]


def test_the_cli_reads_an_npb_straight_on_the_bus(service, tmp_path, cli_env, capsys):
    bus = private_bus()
    sim = service(["-m", "services.sim.bic"], "sim", sim_env(bus, tmp_path, **NPB))
    cli_env(bus)
    for _ in range(50):  # the simulator needs a moment to join the multicast group
        code = cli.main(["--can", "--json", "typeread"])
        out, err = capsys.readouterr()
        if code == 0:
            break
    assert code == 0, (err, sim.log())
    info = json.loads(out)
    assert info["model"] == "NPB-1200-48" and info["family"] == "NPB"
    assert cli.main(["--can", "ccread"]) == 0
    assert capsys.readouterr().out.strip() == "IOUT_SET = 18.0 A"  # the simulator's default
    assert cli.main(["--can", "dirread"]) == 1
    assert "NPB-1200-48 has no DIRECTION_CTRL" in capsys.readouterr().err


def test_the_cli_reads_an_npb_through_the_gateway(stack, cli_env, capsys):
    _watcher, bus, _procs = stack(sim=NPB)
    cli_env(bus)
    assert cli.main(["statusread", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["curve_config"]["charger_mode"] is True and status["controllable"] is False


def test_the_watchdog_stops_a_controlled_npb_but_leaves_a_charger_mode_one_alone(stack, probe):
    watcher, _bus, _procs = stack(
        sim=NPB, gateway={**NO_WEAR_WAIT, "CANBRIDGE_WATCHDOG__TIMEOUT_S": "2"}
    )
    # charger mode: the NPB charges by its own curve; no setpoint for 2 s changes nothing
    start = len(watcher.received(f"{BASE}/state"))
    watcher.wait(lambda: len(watcher.received(f"{BASE}/state")) >= start + 12, "12 more polls")
    assert not watcher.received(f"{BASE}/setpoint")
    assert payload(watcher.received(f"{SIM}/state")[-1])["current"] > 5
    # power-supply mode, charging on a setpoint, then the setpoints stop: output off
    watcher.publish(f"{BASE}/set/provision", json.dumps({"confirm": True}))
    watcher.wait_for(f"{BASE}/info", where=json_where(controllable=True))
    probe("charge-controller").publish(f"{BASE}/set/power", '{"value": 500}')
    watcher.wait_for(f"{BASE}/setpoint", where=json_where(direction="charge"))
    idle = payload(watcher.wait_for(f"{BASE}/setpoint", where=json_where(mode="safe_idle")))
    assert idle["registers"] == {"OPERATION": 0} and "no setpoint" in idle["idle_reason"]
    watcher.wait_for(f"{SIM}/state", where=lambda m: payload(m)["current"] == 0)
