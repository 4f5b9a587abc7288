"""Power setpoint -> register plan, as a pure function.

Facts: docs/protocol-bic2200.md#direction-control, docs/protocol-bic2200.md#setpoint-ranges and
docs/protocol-bic2200.md#write-budget.

Sign convention: positive = charge (AC->DC), negative = discharge (DC->AC). Watts are DC-side
(battery terminal) power and are converted with the measured battery voltage; AC-side efficiency is
the controller's business.

Decisions, in order (each produces the plan's ``reason``):
1. The battery window must fit the model: window max is used as VOUT_SET, window min as
   REVERSE_VOUT_SET, so both must be valid setpoints (else ``SetpointRejected``).
2. Zero -> idle.
3. Charging is refused at/above the window max, discharging at/below the window min -> idle.
4. The current magnitude is quantised *down* to 0.01 A (never more than asked) and limited to the
   smaller of the model maximum and the configured maximum for that direction.
5. Below the minimum current (the larger of the model minimum and the configured minimum) -> idle.
6. VOUT_SET = window max and REVERSE_VOUT_SET = window min. With the battery inside the window this
   keeps VOUT_SET above and REVERSE_VOUT_SET below the battery voltage, so the unit never produces
   its 5 % wrong-way trickle current.
7. The inactive direction's current limit is set to the minimum, so a wrong DIRECTION_CTRL can
   only ever move the minimum current.

Idle is "charge direction at minimum current" (the unit stays on: OPERATION and direction flips are
wear-relevant writes). VOUT_SET stays at the window max, so idle never charges above the window and
never commands a discharge. If the battery is already above the window max, the unit's own
wrong-way trickle will pull it down towards the max -- the reason says so; a caller that must avoid
even that has to switch OPERATION off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_DOWN
from enum import Enum

from .flags import DirectionCtrl

# Re-exported (explicit "as"): callers take BatteryWindow, CurrentLimits and
# effective_limits from here, with the plan they shape.
from .limits import BatteryWindow as BatteryWindow
from .limits import CurrentLimits as CurrentLimits
from .limits import (
    EffectiveLimits,
    checked_window,
    quantise_current,
)
from .limits import effective_limits as effective_limits
from .models import DeviceModel


class SetpointUnit(Enum):
    WATT = "W"
    AMPERE = "A"


class PlanDirection(Enum):
    CHARGE = "charge"
    DISCHARGE = "discharge"
    IDLE = "idle"


@dataclass(frozen=True)
class SetpointPlan:
    direction: PlanDirection
    current_a: float  # commanded current magnitude; 0 for idle
    direction_ctrl: DirectionCtrl
    vout_set: float
    iout_set: float
    reverse_vout_set: float
    reverse_iout_set: float
    reason: str

    @property
    def signed_current_a(self) -> float:
        return -self.current_a if self.direction is PlanDirection.DISCHARGE else self.current_a

    def register_values(self) -> dict[str, float | int]:
        """Register -> value in a safe write order: voltages, currents, then DIRECTION_CTRL.

        Writing both current limits before the direction means the newly active direction already
        has its intended limit when it takes over. Combine with wear.needs_write to skip no-ops.
        """
        return {
            "VOUT_SET": self.vout_set,
            "REVERSE_VOUT_SET": self.reverse_vout_set,
            "IOUT_SET": self.iout_set,
            "REVERSE_IOUT_SET": self.reverse_iout_set,
            "DIRECTION_CTRL": int(self.direction_ctrl),
        }

    @classmethod
    def idle(cls, window: BatteryWindow, limits: EffectiveLimits, reason: str) -> SetpointPlan:
        return cls(
            direction=PlanDirection.IDLE,
            current_a=0.0,
            direction_ctrl=DirectionCtrl.CHARGE,
            vout_set=window.max_v,
            iout_set=limits.min_a,
            reverse_vout_set=window.min_v,
            reverse_iout_set=limits.min_a,
            reason=reason,
        )

    @classmethod
    def safe_idle(
        cls,
        model: DeviceModel,
        window: BatteryWindow,
        limits: CurrentLimits | None = None,
        reason: str = "safe idle",
    ) -> SetpointPlan:
        """Minimum current, charge direction, no discharge; needs no battery voltage (watchdog)."""
        return cls.idle(
            checked_window(model, window),
            effective_limits(model, limits or CurrentLimits()),
            f"{reason}: charge direction at minimum current, VOUT_SET at window max, no discharge",
        )


@dataclass(frozen=True)
class Request:
    """A validated setpoint in amps, with the limits that apply (shared by both planners)."""

    window: BatteryWindow  # quantised, checked against the model
    limits: EffectiveLimits
    requested_a: float  # signed
    asked: str  # the request in words, for the plan's reason


def validated_request(
    setpoint: float, unit: SetpointUnit, battery_v: float, model: DeviceModel,
    window: BatteryWindow, limits: CurrentLimits | None = None,
) -> Request:  # fmt: skip
    """Raises ValueError/SetpointRejected for a non-finite value or a window/limits misfit."""
    if not math.isfinite(setpoint):
        raise ValueError(f"setpoint must be finite, got {setpoint}")
    if not (math.isfinite(battery_v) and battery_v > 0):
        raise ValueError(f"battery voltage must be finite and positive, got {battery_v}")
    requested_a = setpoint if unit is SetpointUnit.AMPERE else setpoint / battery_v
    return Request(
        checked_window(model, window),
        effective_limits(model, limits or CurrentLimits()),
        requested_a,
        f"setpoint {setpoint:+g} {unit.value} at {battery_v:.2f} V = {requested_a:+.3f} A",
    )


def plan_setpoint(
    setpoint: float,
    unit: SetpointUnit,
    battery_v: float,
    model: DeviceModel,
    window: BatteryWindow,
    limits: CurrentLimits | None = None,
) -> SetpointPlan:
    """Plan the registers for a signed setpoint (+ charge, - discharge); see module docstring."""
    request = validated_request(setpoint, unit, battery_v, model, window, limits)
    window, effective = request.window, request.limits
    requested_a, asked = request.requested_a, request.asked
    at_bat = f"battery {battery_v:.2f} V"

    def idle(why: str) -> SetpointPlan:
        note = ""
        if battery_v > window.max_v:
            note = (
                f"; {at_bat} is above window max {window.max_v:.2f} V, the unit's wrong-way "
                f"trickle (~{model.reverse_trickle_a:g} A) may discharge towards it"
            )
        return SetpointPlan.idle(window, effective, f"{asked}: {why} -> idle{note}")

    if requested_a == 0:
        return idle("zero setpoint")
    charging = requested_a > 0
    if charging and battery_v >= window.max_v:
        return idle(f"charging refused, {at_bat} at/above window max {window.max_v:.2f} V")
    if not charging and battery_v <= window.min_v:
        return idle(f"discharging refused, {at_bat} at/below window min {window.min_v:.2f} V")

    maximum = effective.max_charge_a if charging else effective.max_discharge_a
    magnitude = quantise_current(abs(requested_a), ROUND_DOWN)
    limited = ""
    if magnitude > maximum:
        magnitude = maximum
        limited = f", limited to maximum {maximum:.2f} A"
    if magnitude < effective.min_a:
        return idle(f"{magnitude:.2f} A is below the minimum current {effective.min_a:.2f} A")

    if charging:
        guard = f"VOUT_SET {window.max_v:.2f} V above {at_bat}"
    else:
        guard = f"REVERSE_VOUT_SET {window.min_v:.2f} V below {at_bat}"
    reason = (
        f"{asked}: {'charge' if charging else 'discharge'} {magnitude:.2f} A{limited}; {guard}; "
        f"other direction held at {effective.min_a:.2f} A"
    )
    return SetpointPlan(
        direction=PlanDirection.CHARGE if charging else PlanDirection.DISCHARGE,
        current_a=magnitude,
        direction_ctrl=DirectionCtrl.CHARGE if charging else DirectionCtrl.DISCHARGE,
        vout_set=window.max_v,
        iout_set=magnitude if charging else effective.min_a,
        reverse_vout_set=window.min_v,
        reverse_iout_set=effective.min_a if charging else magnitude,
        reason=reason,
    )
