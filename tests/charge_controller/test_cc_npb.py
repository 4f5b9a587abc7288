"""Controller + gateway + simulated NPB-1200-48 charger + meter simulator on a real broker
(issue #13 item 4): a PV surplus charges the NPB, the surplus gone stops it, and the controller
never once asks the charger to discharge. Every wait is event-driven (probe.wait)."""

from __future__ import annotations

import json

import pytest
from bic_gateway.bic_stack import assert_no_violations, json_where, payload
from charge_controller.controller_stack import start_controller_stack

BASE = "canbridge/bic/0"
SIM = "canbridge/sim/bic/0"
STATE = "canbridge/charge-controller/state"
WAIT = 90.0


@pytest.mark.long(20)
def test_pv_surplus_charges_the_npb_and_its_end_stops_it_never_a_discharge(
    service, probe, tmp_path
):
    watcher = probe("admin")
    for topic in (f"{BASE}/#", f"{SIM}/state", STATE):
        watcher.subscribe(topic)
    start_controller_stack(
        service,
        tmp_path,
        house_w=-700,  # PV exports 700 W
        sim_env={"CANBRIDGE_MODEL": "NPB-1200-48"},
        gateway_env={"CANBRIDGE_WEAR__MIN_INTERVAL_S": "0"},  # provisioning borrows no wait
        controller_env={
            "CANBRIDGE_CHARGE_ONLY__MIN_ON_S": "5",
            "CANBRIDGE_CHARGE_ONLY__MIN_OFF_S": "5",
        },
    )
    info = payload(watcher.wait_for(f"{BASE}/info", where=json_where(family="NPB"), timeout=WAIT))
    assert info["bidirectional"] is False
    watcher.publish(f"{BASE}/set/provision", json.dumps({"confirm": True}))
    watcher.wait_for(f"{BASE}/info", where=json_where(controllable=True), timeout=WAIT)

    # 1. the surplus: the controller switches the charger on and it takes most of the 700 W
    watcher.wait_for(f"{SIM}/state", where=lambda m: payload(m)["ac_power"] > 500, timeout=WAIT)

    # 2. the surplus is gone (the house now imports 300 W): the charger is switched off
    watcher.publish("sim/meter/set/load_w", "1000")
    watcher.wait_for(
        f"{BASE}/setpoint", where=lambda m: payload(m).get("direction") == "idle", timeout=WAIT
    )
    watcher.wait_for(f"{SIM}/state", where=lambda m: payload(m)["current"] == 0, timeout=WAIT)
    state = payload(watcher.received(STATE)[-1])
    assert any("charge-only" in reason for reason in state["limits"]["reasons"]), state

    # never a discharge request, never a discharge
    asked = [payload(m)["value"] for m in watcher.received(f"{BASE}/set/power")]
    assert asked and min(asked) >= 0, asked
    assert all(payload(m)["current"] >= 0 for m in watcher.received(f"{SIM}/state"))
    assert_no_violations(watcher)
