"""Which planner a unit's setpoints go through: the BIC's bidirectional ``setpoint`` or the
charger's ``charge_plan`` (pure dispatch on the model's family)."""

from __future__ import annotations

from .charge_plan import ChargePlan, plan_charge
from .limits import BatteryWindow, CurrentLimits, checked_window, effective_limits
from .models import DeviceModel
from .setpoint import SetpointPlan, plan_setpoint, validated_request
from .setpoint_request import SetpointRequest, check_request

Plan = SetpointPlan | ChargePlan


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
