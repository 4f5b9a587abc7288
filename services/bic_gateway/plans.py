"""What to write for a setpoint request (pure): refused if beyond the maximum for its direction,
else planned by the unit's family's planner, the BIC's bidirectional ``setpoint`` or the
charger's ``charge_plan``; and the safe idle's plan. Each register of a plan then takes the one
write path (``write_path.decide_write``)."""

from __future__ import annotations

from .charge_plan import ChargePlan, plan_charge
from .limits import (
    BatteryWindow,
    CurrentLimits,
    SetpointRejected,
    checked_window,
    effective_limits,
)
from .models import DeviceModel
from .setpoint import SetpointPlan, SetpointUnit, plan_setpoint, validated_request
from .setpoint_request import SetpointRequest

Plan = SetpointPlan | ChargePlan


def check_request(
    request: SetpointRequest, battery_v: float, model: DeviceModel, limits: CurrentLimits
) -> None:
    """Reject (never silently clamp) a setpoint beyond the current limit for its direction.

    A charger's (NPB) discharge request is not out of range: it asks for no charging
    (``charge_plan``)."""
    effective = effective_limits(model, limits)
    amps = request.value if request.unit is SetpointUnit.AMPERE else request.value / battery_v
    if amps < 0 and not model.bidirectional:
        return
    maximum = effective.max_charge_a if amps >= 0 else effective.max_discharge_a
    if abs(amps) > maximum + 1e-9:
        direction = "charge" if amps >= 0 else "discharge"
        raise SetpointRejected(
            f"setpoint {request.value:+g} {request.unit.value} = {amps:+.2f} A at "
            f"{battery_v:.2f} V exceeds the {direction} maximum {maximum:.2f} A "
            f"({maximum * battery_v:.0f} W)",
            register="setpoint",
            value=request.value,
            unit=request.unit.value,
        )


def plan_request(
    request: SetpointRequest,
    battery_v: float,
    model: DeviceModel,
    window: BatteryWindow,
    limits: CurrentLimits,
    *,
    reject_out_of_range: bool,
) -> Plan:
    """The plan for a setpoint request; raises SetpointRejected/ValueError with the reason.

    With ``reject_out_of_range`` a setpoint beyond the maximum for its direction is refused
    (never silently clamped). A charger's discharge request is not out of range: it is a request
    for no charging (``charge_plan``)."""
    if reject_out_of_range:
        check_request(request, battery_v, model, limits)
    if model.bidirectional:
        return plan_setpoint(request.value, request.unit, battery_v, model, window, limits)
    validated = validated_request(request.value, request.unit, battery_v, model, window, limits)
    return plan_charge(validated, battery_v, model)


def safe_idle_plan(
    model: DeviceModel, window: BatteryWindow, limits: CurrentLimits, reason: str
) -> Plan:
    """BIC: charge direction at minimum current; charger: output off (it has no harmless
    minimum current). Needs no battery voltage (watchdog)."""
    if model.bidirectional:
        return SetpointPlan.safe_idle(model, window, limits, reason)
    effective_limits(model, limits)  # raises ValueError if the configuration cannot fit
    return ChargePlan.off(checked_window(model, window), f"{reason}: charger output off")
