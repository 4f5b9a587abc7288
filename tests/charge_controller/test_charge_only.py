"""A charge-only unit (NPB) under the controller: read from the gateway's `info`, never asked to
discharge, switched on/off around its large minimum with hysteresis and minimum on/off times."""

from __future__ import annotations

import json
from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.charge_controller.charge_only import (
    ChargeSwitch,
    SwitchParams,
    UnitCapabilities,
    parse_info,
)
from services.charge_controller.control_law import ControlParams
from services.charge_controller.controller_config import ControllerConfig
from services.charge_controller.meter_input import GridSample
from services.charge_controller.supervisor import BatteryReading, Supervisor

NOON = time(12, 0)
NPB_INFO = {
    "model": "NPB-1200-48",
    "family": "NPB",
    "bidirectional": False,
    "nominal_voltage": 48,
    "ranges": {"VOUT_SET": [42, 80], "IOUT_SET": [3.6, 18]},
}
NPB = UnitCapabilities("NPB-1200-48", False, 3.6, 48, 18)
VOLTS, EFFICIENCY = 51.0, 0.93
MIN_W = 202  # ceil(3.6 A x 1.02 x 51 V / 0.93)
MAX_W = 967  # floor(18 A x 51 V / 0.93 / 1.02)


def test_the_gateway_info_says_charge_only_and_the_minimum():
    assert parse_info(json.dumps(NPB_INFO).encode()) == NPB
    bic = {"model": "BIC-2200-48", "nominal_voltage": 48, "ranges": {"IOUT_SET": [0.45, 45]}}
    parsed = parse_info(json.dumps(bic).encode())  # a gateway from before the NPB: a BIC
    assert parsed is not None and not parsed.charge_only and parsed.min_charge_a == 0.45
    assert parsed.max_charge_a == 45
    for junk in (b"", b"[1]", b'{"bidirectional": false}', b"{"):
        assert parse_info(junk) is None
    assert NPB.min_charge_w(VOLTS, EFFICIENCY) == MIN_W
    assert NPB.min_charge_w(None, EFFICIENCY) == 190  # nominal voltage until a reading
    assert UnitCapabilities("X", False, None, 48).min_charge_w(VOLTS, EFFICIENCY) == 0
    assert NPB.max_charge_w(VOLTS, EFFICIENCY) == MAX_W
    assert UnitCapabilities("X", False, 1, None).max_charge_w(None, EFFICIENCY) is None


PARAMS = SwitchParams(hysteresis_w=100, min_on_s=60, min_off_s=30)


@pytest.mark.parametrize(
    ("on", "since", "wanted", "expected", "why"),
    [
        (False, None, 250, 0, "below the charger's start 300 W"),
        (False, 0.0, 350, 0, "off for 10 s (< 30 s)"),
        (False, -40.0, 350, 350, None),
        (False, None, 350, 350, None),  # never switched since start: no wait
        (True, 0.0, 250, 250, None),  # on: follows the law down to the minimum
        (True, 0.0, 120, 200, "on for only 10 s (< 60 s): hold the minimum"),
        (True, -60.0, 120, 0, "below the charger's minimum 200 W: switch off"),
        (True, -60.0, -50, 0, "switch off"),
    ],
)
def test_the_switch_rule(on, since, wanted, expected, why):
    switch = ChargeSwitch(PARAMS, on=on, since=since)
    gated, reason = switch.gate(10.0, wanted, 200)
    assert gated == expected
    assert (reason is None) if why is None else (why in reason)


class House:
    """Instant plant: the charger follows each write at once; one meter sample a second."""

    def __init__(self, switch: SwitchParams = PARAMS) -> None:
        control = ControlParams(meter_latency_s=0, settle_s=0, direction_hold_s=0, max_step_w=5000)
        self.sup = Supervisor(ControllerConfig(control=control, charge_only=switch))
        self.sup.record_unit_info(NPB, EFFICIENCY)
        self.t, self.charger_w, self.setpoints = 0.0, 0.0, []

    def run(self, seconds: int, house_w: float) -> None:
        for _ in range(seconds):
            self.t += 1
            self.sup.record_battery(self.t, BatteryReading(self.charger_w, VOLTS, 30.0))
            sample = GridSample(self.t, house_w + self.charger_w, 1.0)
            decision = self.sup.on_grid(self.t, sample, NOON)
            if decision.setpoint_w is not None:
                self.charger_w = decision.setpoint_w
                self.setpoints.append(decision.setpoint_w)

    def switchings(self) -> int:
        on = [w > 0 for w in [0.0, *self.setpoints]]
        return sum(a != b for a, b in zip(on, on[1:], strict=False))


def test_surplus_charges_and_a_gone_surplus_stops_it_never_a_discharge():
    house = House()
    house.run(10, house_w=-1500)  # more surplus than the charger can take: its maximum
    assert house.charger_w == MAX_W
    assert "NPB-1200-48 charges at most 967 W" in house.sup.last_limits.reasons
    house.run(10, house_w=-800)  # PV exports 800 W
    assert house.charger_w == 800
    written = len(house.setpoints)
    house.run(10, house_w=-150)  # surplus below the minimum: holds it until min_on ...
    assert house.charger_w == MIN_W
    assert house.setpoints[written:] == [MIN_W], "one write for the hold, not one a sample"
    house.run(60, house_w=-150)  # ... then switches off
    assert house.charger_w == 0
    house.run(30, house_w=+600)  # the house imports: a BIC would discharge, an NPB cannot
    assert house.charger_w == 0
    assert min(house.setpoints) >= 0
    assert "NPB-1200-48 is charge-only: no discharge" in house.sup.last_limits.reasons
    assert house.sup.last_limits.limits.max_discharge_w == 0


def test_a_surplus_just_above_the_minimum_does_not_start_it():
    house = House()
    house.run(60, house_w=-(MIN_W + 50))  # below minimum + hysteresis
    assert house.setpoints == [] and house.charger_w == 0


def test_a_fluttering_surplus_switches_no_faster_than_the_minimum_times():
    house = House()
    for _ in range(30):  # clouds: 900 W and 50 W of surplus, 10 s each, for 10 minutes
        house.run(10, house_w=-900)
        house.run(10, house_w=-50)
    cycle_s = PARAMS.min_on_s + PARAMS.min_off_s
    assert 2 <= house.switchings() <= 2 * (600 / cycle_s) + 1
    assert all(w == 0 or w >= MIN_W for w in house.setpoints), "never below the minimum"


def test_a_bidirectional_unit_is_not_switched():
    house = House()
    house.sup.record_unit_info(UnitCapabilities("BIC-2200-48", True, 0.45, 48), EFFICIENCY)
    house.run(10, house_w=-150)
    assert house.charger_w == 150  # the BIC trickles; no start threshold of an NPB
    house.run(10, house_w=+300)
    assert house.charger_w == -300


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-1500, 1500), min_size=1, max_size=40))
def test_whatever_the_house_does_the_charger_obeys_its_rules(houses):
    """Any sequence of house power (5 s each): never a discharge, never below the minimum, and
    between switching on and switching on again at least min_on + min_off."""
    house, on_times, was_on = House(), [], False
    for house_w in houses:
        for _ in range(5):
            house.run(1, house_w=house_w)
            if house.charger_w > 0 and not was_on:
                on_times.append(house.t)
            was_on = house.charger_w > 0
    assert all(w == 0 or w >= MIN_W for w in house.setpoints)
    gaps = [b - a for a, b in zip(on_times, on_times[1:], strict=False)]
    assert all(gap >= PARAMS.min_on_s + PARAMS.min_off_s for gap in gaps)
