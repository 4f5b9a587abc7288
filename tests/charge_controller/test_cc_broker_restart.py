"""Issue #12: after a broker crash and restart, regulation resumes by itself.

Real processes on the real broker: BIC simulator, gateway, meter simulator and controller.
The house imports, the battery discharges to cover it; the broker is SIGKILLed and started
again; the house load then rises, and the gateway must apply the controller's larger
discharge (services reconnect, the controller's next meter samples go through the law, the
gateway takes its setpoint). How fast (goal: 5 s) is measured by `make bench`
(bench/recovery.py, also after controller and gateway restarts), not by this test.
"""

from __future__ import annotations

import json

import pytest
from charge_controller.controller_stack import start_controller_stack
from harness import Received

pytestmark = pytest.mark.integration

APPLIED = "canbridge/bic/0/setpoint"
STATE = "canbridge/bic/0/state"
METER = "sim/meter/SENSOR"
HOUSE_W = 700.0
EXTRA_W = 800.0
SETTLED_STATES = 3


def body(m: Received) -> dict:
    return json.loads(m.payload)


def discharge_a(m: Received) -> float:
    """The discharge current (A, > 0) an applied setpoint asked for, 0 for anything else."""
    data = body(m)
    if data.get("direction") != "discharge" or data.get("mode") == "safe_idle":
        return 0.0
    return -float(data.get("current_a") or 0.0)


def settled(watcher) -> bool:
    """The last SETTLED_STATES state readings all had the battery covering the house."""
    powers = [body(m)["ac_power"] for m in watcher.received(STATE)][-SETTLED_STATES:]
    return len(powers) == SETTLED_STATES and all(abs(p + HOUSE_W) < 60.0 for p in powers)


@pytest.mark.long(15)
def test_regulation_resumes_after_a_broker_restart(broker, service, probe, tmp_path):
    _gateway, controller = start_controller_stack(service, tmp_path, HOUSE_W)

    watcher = probe()
    watcher.subscribe(APPLIED)
    watcher.subscribe(STATE)
    # regulated: the battery covers the house, settled (no ramp in flight when the broker dies)
    watcher.wait(lambda: settled(watcher), "the battery settled on the house load", timeout=60.0)
    # the setpoint in force: not the largest ever applied, which may be a start-up overshoot
    # at the discharge limit that no later load can exceed (the test then failed at random)
    covering = discharge_a(watcher.received(APPLIED)[-1])

    broker.crash()
    broker.start()
    fresh, admin = probe(), probe()
    fresh.subscribe(APPLIED)
    fresh.subscribe(METER)
    # the meter simulator is back (commands are not retained: a service ignores a retained
    # command as possibly stale)
    fresh.wait_for(METER)
    admin.publish("sim/meter/set/load_w", str(EXTRA_W))
    # the extra 800 W need about 16 A more at ~50 V: the law's next write takes a big part
    fresh.wait_for(APPLIED, where=lambda m: discharge_a(m) > covering + 5.0)
    assert "Traceback" not in controller.log()
