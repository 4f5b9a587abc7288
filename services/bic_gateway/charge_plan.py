"""Power setpoint -> register plan for a charge-only unit (NPB), as a pure function (docs/npb.md).

Same sign convention and units as ``setpoint.py`` (+ charge, DC watts converted with the measured
battery voltage), same battery window and current limits. What differs:

* **No discharge.** A negative setpoint means "do not take power from the grid": the charger
  stops (output off), and the plan's reason says the unit is charge-only. A battery owner whose
  controller asks to discharge wants the grid import to go down; an error that left the charger
  running at its last current would do the opposite.
* **No trickle.** The NPB's minimum current is about 20 % of its maximum, so "idle" cannot be "on
  at the minimum current" as on the BIC (that would draw hundreds of watts). Below the minimum
  current (the larger of the model's and the configured one) the output is switched off
  (OPERATION = 0), as it is for zero, for a battery at/above the window maximum and for the safe
  idle. OPERATION writes wear the EEPROM like on the BIC and go through the same wear governor;
  the charge controller switches with a minimum on/off time so this stays rare.
* **On:** VOUT_SET = window maximum (the charger stops pushing current there), IOUT_SET = the
  current (quantised down to 0.01 A, limited to the maximum), OPERATION = 1, in that order, so the
  output comes on with its limits already set. In power-supply mode (CURVE_CONFIG CUVE = 0) both
  setpoints act at once; an OFF->ON also latches the power-supply mode after provisioning.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN

from .limits import (
    BatteryWindow,
    quantise_current,
)
from .models import DeviceModel
from .setpoint import PlanDirection, Request


@dataclass(frozen=True)
class ChargePlan:
    direction: PlanDirection  # CHARGE or IDLE (output off)
    current_a: float  # commanded charge current; 0 when off
    vout_set: float
    reason: str

    @property
    def signed_current_a(self) -> float:
        return self.current_a

    @property
    def output_on(self) -> bool:
        return self.direction is PlanDirection.CHARGE

    def register_values(self) -> dict[str, float | int]:
        """On: voltage, current, then OPERATION = 1. Off: OPERATION = 0 only (the setpoints stay
        as they are: rewriting them would cost EEPROM writes on units without EEP_OFF)."""
        if not self.output_on:
            return {"OPERATION": 0}
        return {"VOUT_SET": self.vout_set, "IOUT_SET": self.current_a, "OPERATION": 1}

    @classmethod
    def off(cls, window: BatteryWindow, reason: str) -> ChargePlan:
        return cls(PlanDirection.IDLE, 0.0, window.max_v, reason)


def plan_charge(request: Request, battery_v: float, model: DeviceModel) -> ChargePlan:
    """Plan the registers of a charge-only unit for a validated setpoint request
    (``setpoint.validated_request``); see module docstring."""
    window, effective = request.window, request.limits
    requested_a, asked = request.requested_a, request.asked

    def off(why: str) -> ChargePlan:
        return ChargePlan.off(window, f"{asked}: {why} -> output off")

    if requested_a < 0:
        return off(f"{model.name} is charge-only (no discharge): a discharge request means "
                   "no charging")  # fmt: skip
    if requested_a == 0:
        return off("zero setpoint")
    if battery_v >= window.max_v:
        return off(
            f"charging refused, battery {battery_v:.2f} V at/above window max {window.max_v:.2f} V"
        )
    magnitude = quantise_current(requested_a, ROUND_DOWN)
    limited = ""
    if magnitude > effective.max_charge_a:
        magnitude = effective.max_charge_a
        limited = f", limited to maximum {magnitude:.2f} A"
    if magnitude < effective.min_a:
        return off(
            f"{magnitude:.2f} A is below the minimum current {effective.min_a:.2f} A "
            "(a charger cannot trickle below it)"
        )
    return ChargePlan(
        PlanDirection.CHARGE,
        magnitude,
        window.max_v,
        f"{asked}: charge {magnitude:.2f} A{limited}; VOUT_SET {window.max_v:.2f} V above "
        f"battery {battery_v:.2f} V; output on",
    )
