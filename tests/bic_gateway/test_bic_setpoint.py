import itertools

import pytest

from services.bic_gateway.flags import DirectionCtrl
from services.bic_gateway.limits import SetpointRejected
from services.bic_gateway.models import MODELS, identify
from services.bic_gateway.setpoint import (
    BatteryWindow,
    CurrentLimits,
    PlanDirection,
    SetpointPlan,
    SetpointUnit,
    effective_limits,
    plan_setpoint,
)

BIC48 = identify("BIC-2200-48")
WINDOW = BatteryWindow(min_v=46.0, max_v=56.0)
A = SetpointUnit.AMPERE
W = SetpointUnit.WATT


def plan(setpoint, unit=A, battery_v=52.0, model=BIC48, window=WINDOW, limits=None):
    return plan_setpoint(setpoint, unit, battery_v, model, window, limits)


# --- sign handling and conversion --------------------------------------------------------------


def test_positive_watts_charge():
    result = plan(1000, W, battery_v=50.0)
    assert result.direction is PlanDirection.CHARGE
    assert result.direction_ctrl is DirectionCtrl.CHARGE
    assert result.current_a == 20.0
    assert result.signed_current_a == 20.0
    assert result.iout_set == 20.0
    assert result.reverse_iout_set == 0.45  # inactive side held at minimum


def test_negative_watts_discharge():
    result = plan(-1000, W, battery_v=50.0)
    assert result.direction is PlanDirection.DISCHARGE
    assert result.direction_ctrl is DirectionCtrl.DISCHARGE
    assert result.current_a == 20.0
    assert result.signed_current_a == -20.0
    assert result.reverse_iout_set == 20.0  # written as a positive magnitude
    assert result.iout_set == 0.45


def test_amperes_are_used_directly():
    assert plan(-7.5, A).reverse_iout_set == 7.5
    assert plan(7.5, A).iout_set == 7.5


def test_current_is_quantised_down_never_more_than_asked():
    assert plan(1.239, A).current_a == 1.23
    assert plan(-1.239, A).current_a == 1.23
    # 500 W / 52 V = 9.615 A -> 9.61 A
    assert plan(500, W).current_a == 9.61
    assert "9.615 A" in plan(500, W).reason


def test_zero_is_idle():
    result = plan(0, W)
    assert result.direction is PlanDirection.IDLE
    assert "zero setpoint" in result.reason


# --- minimum and maximum current ---------------------------------------------------------------


def test_below_minimum_current_is_idle():
    result = plan(0.44, A)
    assert result.direction is PlanDirection.IDLE
    assert result.current_a == 0.0
    assert "below the minimum current 0.45 A" in result.reason
    assert plan(-0.44, A).direction is PlanDirection.IDLE


def test_small_watts_are_idle():
    assert plan(20, W).direction is PlanDirection.IDLE  # 0.38 A at 52 V
    assert plan(-20, W).direction is PlanDirection.IDLE


def test_exactly_minimum_current_is_not_idle():
    assert plan(0.45, A).direction is PlanDirection.CHARGE
    assert plan(-0.45, A).direction is PlanDirection.DISCHARGE


def test_value_just_under_minimum_after_quantisation_is_idle():
    assert plan(0.4499, A).direction is PlanDirection.IDLE


@pytest.mark.parametrize(
    ("setpoint", "direction", "current"),
    [(100, PlanDirection.CHARGE, 45.0), (-100, PlanDirection.DISCHARGE, 38.3)],
)
def test_limited_to_model_maximum(setpoint, direction, current):
    result = plan(setpoint, A)
    assert result.direction is direction
    assert result.current_a == current
    assert f"limited to maximum {current:.2f} A" in result.reason


def test_configured_limits_tighten_model_limits():
    limits = CurrentLimits(max_charge_a=10, max_discharge_a=5, min_current_a=2)
    assert plan(30, A, limits=limits).current_a == 10.0
    assert plan(-30, A, limits=limits).current_a == 5.0
    idle = plan(1.5, A, limits=limits)
    assert idle.direction is PlanDirection.IDLE
    assert idle.iout_set == 2.0 and idle.reverse_iout_set == 2.0
    # A configured maximum above the model's cannot widen it.
    assert plan(100, A, limits=CurrentLimits(max_charge_a=1000)).current_a == 45.0


def test_configured_minimum_below_model_minimum_is_ignored():
    assert effective_limits(BIC48, CurrentLimits(min_current_a=0.1)).min_a == 0.45


@pytest.mark.parametrize(
    "limits",
    [
        CurrentLimits(min_current_a=20, max_discharge_a=10),
        CurrentLimits(max_charge_a=-1),
        CurrentLimits(min_current_a=float("nan")),
    ],
)
def test_impossible_limits_raise(limits):
    with pytest.raises(ValueError):
        plan(5, A, limits=limits)


@pytest.mark.parametrize(
    ("name", "minimum"),
    [("BIC-2200-12", 1.8), ("BIC-2200-24", 0.9), ("BIC-2200-48", 0.45), ("BIC-2200-96", 0.25)],
)
def test_model_minimum_current(name, minimum):
    assert effective_limits(MODELS[name], CurrentLimits()).min_a == minimum


# --- battery window bounds ---------------------------------------------------------------------


def test_charge_refused_at_window_max():
    result = plan(10, A, battery_v=56.0)
    assert result.direction is PlanDirection.IDLE
    assert "charging refused" in result.reason
    assert "wrong-way" not in result.reason  # at the max, not above it


def test_charge_refused_above_window_max_mentions_trickle():
    result = plan(10, A, battery_v=57.0)
    assert result.direction is PlanDirection.IDLE
    assert result.vout_set == 56.0  # never raised above the window
    assert "wrong-way trickle (~2.25 A)" in result.reason


def test_charge_allowed_just_below_window_max():
    result = plan(10, A, battery_v=55.99)
    assert result.direction is PlanDirection.CHARGE
    assert result.vout_set > 55.99


def test_discharge_refused_at_window_min():
    result = plan(-10, A, battery_v=46.0)
    assert result.direction is PlanDirection.IDLE
    assert "discharging refused" in result.reason
    assert result.direction_ctrl is DirectionCtrl.CHARGE


def test_discharge_refused_below_window_min():
    assert plan(-10, A, battery_v=40.0).direction is PlanDirection.IDLE


def test_discharge_allowed_just_above_window_min():
    result = plan(-10, A, battery_v=46.01)
    assert result.direction is PlanDirection.DISCHARGE
    assert result.reverse_vout_set < 46.01


def test_discharge_allowed_at_window_max_and_charge_at_window_min():
    assert plan(-10, A, battery_v=56.0).direction is PlanDirection.DISCHARGE
    assert plan(10, A, battery_v=46.0).direction is PlanDirection.CHARGE
    assert plan(10, A, battery_v=40.0).direction is PlanDirection.CHARGE  # deeply discharged


@pytest.mark.parametrize("battery_v", [46.01, 48.0, 51.37, 53.0, 55.99])
@pytest.mark.parametrize("setpoint", [-30, -1, 1, 30])
def test_voltage_setpoints_bracket_battery_voltage(battery_v, setpoint):
    result = plan(setpoint, A, battery_v=battery_v)
    assert result.reverse_vout_set < battery_v < result.vout_set
    assert result.vout_set == 56.0 and result.reverse_vout_set == 46.0


def test_window_must_fit_the_model():
    with pytest.raises(SetpointRejected, match="REVERSE_VOUT_SET"):
        plan(5, A, window=BatteryWindow(30.0, 56.0))
    with pytest.raises(SetpointRejected, match="VOUT_SET 70.00 V"):
        plan(5, A, window=BatteryWindow(46.0, 70.0))


def test_window_is_quantised():
    result = plan(5, A, window=BatteryWindow(46.004, 55.996))
    assert (result.reverse_vout_set, result.vout_set) == (46.0, 56.0)


@pytest.mark.parametrize(("low", "high"), [(56.0, 46.0), (50.0, 50.0), (float("nan"), 50.0)])
def test_invalid_window_raises(low, high):
    with pytest.raises(ValueError):
        BatteryWindow(low, high)


@pytest.mark.parametrize(
    ("setpoint", "battery_v"), [(float("nan"), 52.0), (5, 0.0), (5, -1.0), (5, float("inf"))]
)
def test_invalid_inputs_raise(setpoint, battery_v):
    with pytest.raises(ValueError):
        plan(setpoint, A, battery_v=battery_v)


# --- safety properties over a sweep ------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS.values(), ids=lambda m: m.name)
def test_sweep_never_violates_the_window(model):
    lo = model.setpoint_range("REVERSE_VOUT_SET").minimum
    hi = model.setpoint_range("VOUT_SET").maximum
    window = BatteryWindow(lo + (hi - lo) * 0.25, lo + (hi - lo) * 0.75)
    batteries = [lo, window.min_v, (window.min_v + window.max_v) / 2, window.max_v, hi]
    for setpoint, battery_v in itertools.product([-3000, -50, -1, 0, 1, 50, 3000], batteries):
        result = plan_setpoint(setpoint, W, battery_v, model, window)
        assert result.vout_set <= window.max_v
        if result.direction is PlanDirection.DISCHARGE:
            assert setpoint < 0 and battery_v > window.min_v
            assert result.reverse_vout_set < battery_v
        elif result.direction is PlanDirection.CHARGE:
            assert setpoint > 0 and battery_v < window.max_v
            assert result.vout_set > battery_v
        else:
            assert result.direction_ctrl is DirectionCtrl.CHARGE
        for register, value in result.register_values().items():
            if register != "DIRECTION_CTRL":
                assert model.setpoint_range(register).contains(value), (register, value)


# --- safe idle ---------------------------------------------------------------------------------


def test_safe_idle():
    idle = SetpointPlan.safe_idle(BIC48, WINDOW, reason="watchdog")
    assert idle.direction is PlanDirection.IDLE
    assert idle.direction_ctrl is DirectionCtrl.CHARGE
    assert idle.current_a == 0.0 and idle.signed_current_a == 0.0
    assert idle.iout_set == 0.45 and idle.reverse_iout_set == 0.45
    assert idle.vout_set == 56.0 and idle.reverse_vout_set == 46.0
    assert idle.reason.startswith("watchdog:")
    assert "no discharge" in idle.reason


def test_safe_idle_uses_configured_minimum_and_checks_window():
    idle = SetpointPlan.safe_idle(BIC48, WINDOW, CurrentLimits(min_current_a=1.0))
    assert idle.iout_set == 1.0
    with pytest.raises(SetpointRejected):
        SetpointPlan.safe_idle(BIC48, BatteryWindow(10.0, 20.0))


def test_idle_plans_equal_safe_idle_registers():
    assert plan(0, W).register_values() == SetpointPlan.safe_idle(BIC48, WINDOW).register_values()


def test_register_values_write_order_ends_with_direction():
    values = plan(-10, A).register_values()
    assert list(values) == [
        "VOUT_SET",
        "REVERSE_VOUT_SET",
        "IOUT_SET",
        "REVERSE_IOUT_SET",
        "DIRECTION_CTRL",
    ]
    assert values["DIRECTION_CTRL"] == 1
    assert values["REVERSE_IOUT_SET"] == 10.0


def test_reason_explains_the_decision():
    reason = plan(-500, W).reason
    assert "setpoint -500 W at 52.00 V" in reason
    assert "discharge 9.61 A" in reason
    assert "REVERSE_VOUT_SET 46.00 V below battery 52.00 V" in reason
    assert "other direction held at 0.45 A" in reason
