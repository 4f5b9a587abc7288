"""Issue #11 live proof: after the battery fills (empties), the controller serves the house again.

Real processes on a real broker (project config, users, ACL): the BIC simulator on a private
udp_multicast bus, the bic-gateway on that bus, the meter simulator closing the loop over the
simulator's AC power, and the charge controller, all with their default control and polling
settings. Only the simulated battery is small (a few Wh from full or empty) so that it fills or
empties within seconds.

* full: PV surplus charges the battery until its BMS stops charging at 95 % SoC (the controller
  has no SoC source and the voltage stays inside its window: the case that latched in the
  issue); it stays full for a while; then the house imports, and a discharge must be applied by
  the gateway within 10 s of the change.
* empty: the mirror; a house load empties the battery down to 5 %, then PV surplus must be
  charged within 10 s.

Every wait is on messages; the 10 s of the issue is the deadline of the decisive wait, and the
measured time is printed (``pytest -s``, or shown with the failure).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest
from charge_controller.controller_stack import start_controller_stack
from harness import Probe, Received

pytestmark = pytest.mark.integration

DEADLINE_S = 10.0  # issue #11 item 6
METER = "sim/meter/SENSOR"
SIM_STATE = "canbridge/sim/bic/0/state"
APPLIED = "canbridge/bic/0/setpoint"  # what the gateway applied to the unit
CONTROLLER = "canbridge/charge-controller/state"
FILL_WAIT_S = 120.0  # reaching full/empty: physics plus the controller's ramp
STAY_SAMPLES = 6  # meter samples the battery stays full/empty before the house changes
CAPACITY_WH = "250"  # 2 % of it (93 -> 95 % or 7 -> 5 %) is 5 Wh: seconds at ~1.5 kW


@dataclass(frozen=True)
class Scenario:
    name: str
    start_soc: float
    house_w: float  # meter simulator's constant house power (+ import)
    change_w: float  # extra load published after the battery stayed saturated
    before: str  # direction the battery saturates in
    after: str  # direction that must be applied within the deadline

    def saturated(self, soc: float) -> bool:
        return soc >= 0.95 if self.before == "charge" else soc <= 0.05


FULL = Scenario("full", 0.93, -1500.0, 2300.0, "charge", "discharge")
EMPTY = Scenario("empty", 0.07, 1500.0, -2500.0, "discharge", "charge")


def body(m: Received) -> dict:
    return json.loads(m.payload)


def start_stack(service, tmp_path, scenario: Scenario):
    sim = {"CANBRIDGE_SOC": str(scenario.start_soc), "CANBRIDGE_CAPACITY_WH": CAPACITY_WH}
    return start_controller_stack(service, tmp_path, scenario.house_w, sim)


def decisions(watcher: Probe, after: int, last: int = 6) -> list[str]:
    """The controller's latest decision reasons since message ``after`` (for failure messages)."""
    states = [body(m) for m in watcher.messages[after:] if m.topic == CONTROLLER]
    return [
        f"setpoint {s['setpoint_w']:.0f} W: {s['last_decision']['reason']}" for s in states[-last:]
    ]


def latest_soc(watcher: Probe) -> float | None:
    states = [m for m in watcher.messages if m.topic == SIM_STATE]
    return body(states[-1])["soc"] if states else None


def applied(watcher: Probe, after: int, direction: str) -> Received | None:
    for m in watcher.messages[after:]:
        if m.topic == APPLIED and body(m).get("direction") == direction:
            return m
    return None


@pytest.mark.long(25)
@pytest.mark.parametrize("scenario", [FULL, EMPTY], ids=lambda s: s.name)
def test_controller_serves_the_house_again_after_the_battery_saturated(
    service, probe, tmp_path, scenario: Scenario
):
    watcher = probe()
    for topic in (METER, SIM_STATE, APPLIED, CONTROLLER):
        watcher.subscribe(topic)
    admin = probe()
    gateway, controller = start_stack(service, tmp_path, scenario)

    # 1. the battery fills (empties) while the controller drives it that way
    def saturated_state() -> dict | None:
        for m in watcher.messages:
            if m.topic == SIM_STATE and scenario.saturated(body(m)["soc"]):
                return body(m)
        return None

    watcher.wait(saturated_state, f"the simulated battery {scenario.name}", FILL_WAIT_S)
    at_saturation = len(watcher.messages)
    last_applied = [body(m) for m in watcher.messages if m.topic == APPLIED][-1]
    assert last_applied["direction"] == scenario.before, last_applied

    # 2. it stays full (empty) for several meter samples, the house unchanged
    watcher.wait(
        lambda: sum(m.topic == METER for m in watcher.messages[at_saturation:]) >= STAY_SAMPLES,
        f"{STAY_SAMPLES} meter samples with the battery {scenario.name}",
    )
    soc = latest_soc(watcher)
    assert soc is not None and scenario.saturated(soc), soc
    assert applied(watcher, at_saturation, scenario.after) is None

    # 3. the house turns around: the opposite direction must be applied within the deadline
    mark = len(watcher.messages)
    t0 = time.monotonic()
    admin.publish("sim/meter/set/load_w", str(scenario.change_w))
    try:
        watcher.wait(
            lambda: applied(watcher, mark, scenario.after),
            f"{scenario.after} applied by the gateway",
            max(0.0, t0 + DEADLINE_S - time.monotonic()),
        )
    except AssertionError:
        raise AssertionError(
            f"battery {scenario.name}: no {scenario.after} applied within {DEADLINE_S:.0f} s of "
            f"the house change; controller decisions: {decisions(watcher, mark)}"
        ) from None
    took = time.monotonic() - t0
    done = applied(watcher, mark, scenario.after)
    assert done is not None and body(done)["current_a"] != 0
    print(f"battery {scenario.name}: {scenario.after} applied {took:.2f} s after the house change")

    # 4. and the unit really moves power that way
    sign = -1 if scenario.after == "discharge" else 1
    watcher.wait(
        lambda: any(
            m.topic == SIM_STATE and sign * body(m)["ac_power"] > 100
            for m in watcher.messages[mark:]
        ),
        f"the simulated unit {scenario.after}ing",
    )
    took = time.monotonic() - t0
    print(f"battery {scenario.name}: the unit moves power ({scenario.after}) {took:.2f} s after")
    assert '"event": "setpoint"' in controller.log()
    assert gateway.proc.poll() is None
