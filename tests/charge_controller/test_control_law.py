import pytest
from pydantic import ValidationError

from services.charge_controller.control_law import (
    ChargeController,
    ControlParams,
    Decision,
    PidParams,
    PowerLimits,
)

QUIET = dict(deadband_w=0.0, min_change_w=0.0, min_power_w=0.0, start_power_w=0.0)


def make(**kw: object) -> ChargeController:
    return ChargeController(ControlParams(**{"meter_latency_s": 0.0, "max_step_w": 5000.0, **kw}))


def closed_loop(ctl: ChargeController, house_w: float, samples: int, period_s: float = 5.0):
    """Instant plant: battery follows each write before the next sample."""
    battery, grids = 0.0, []
    for k in range(1, samples + 1):
        grid = house_w + battery
        grids.append(grid)
        decision = ctl.update(k * period_s, grid, battery)
        if decision.setpoint_w is not None:
            battery = decision.setpoint_w
    return grids


def test_gain_one_cancels_a_step_in_one_write() -> None:
    grids = closed_loop(make(gain=1.0, max_step_w=5000, **QUIET), house_w=800.0, samples=3)
    assert grids[0] == 800.0 and grids[1] == 0.0 and grids[2] == 0.0


def test_gain_half_halves_the_error_each_write() -> None:
    grids = closed_loop(make(gain=0.5, max_step_w=5000, **QUIET), house_w=-1000.0, samples=4)
    assert grids == pytest.approx([-1000.0, -500.0, -250.0, -125.0], abs=1.0)


def test_target_offset_is_held() -> None:
    grids = closed_loop(make(target_w=50.0, max_step_w=5000, **QUIET), house_w=600.0, samples=3)
    assert grids[-1] == pytest.approx(50.0, abs=1.0)


def test_samples_within_settle_time_after_a_write_are_ignored() -> None:
    ctl = make(settle_s=3.0, **QUIET)
    assert ctl.update(10.0, -500.0, 0.0).setpoint_w == 500.0
    gated = ctl.update(12.0, -400.0, 100.0)
    assert gated.setpoint_w is None and "dead time" in gated.reason
    assert ctl.update(13.0, -100.0, 500.0).setpoint_w == 600.0


def test_gating_uses_sample_taken_time_with_meter_latency() -> None:
    ctl = make(settle_s=2.0, **{**QUIET, "meter_latency_s": 1.0})
    ctl.update(10.0, -500.0, 0.0)
    assert "dead time" in ctl.update(12.5, -300.0, 500.0).reason  # taken at 11.5
    assert ctl.update(13.0, -300.0, 500.0).setpoint_w == 800.0  # taken at 12.0


def test_old_or_repeated_samples_are_ignored() -> None:
    ctl = make(**QUIET)
    ctl.update(10.0, 20.0, 0.0)
    assert "not newer" in ctl.update(10.0, -800.0, 0.0).reason
    assert ctl.update(9.0, -800.0, 0.0).setpoint_w is None


def test_deadband_suppresses_small_errors() -> None:
    ctl = make(deadband_w=20.0)
    decision = ctl.update(1.0, 15.0, 0.0)
    assert decision == Decision(None, decision.reason) and "deadband" in decision.reason
    assert ctl.update(2.0, -60.0, 0.0).setpoint_w == 60.0


def test_min_change_skips_tiny_corrections() -> None:
    ctl = make(deadband_w=0.0, min_change_w=20.0, settle_s=0.0)
    assert ctl.update(1.0, -300.0, 0.0).setpoint_w == 300.0
    assert ctl.update(5.0, -10.0, 300.0).setpoint_w is None
    assert ctl.update(9.0, -30.0, 300.0).setpoint_w == 330.0


def test_direction_change_idles_within_hold_then_reverses() -> None:
    ctl = make(direction_hold_s=10.0, settle_s=0.0, **{**QUIET})
    assert ctl.update(0.0, -500.0, 0.0).setpoint_w == 500.0  # charge
    blocked = ctl.update(4.0, 900.0, 500.0)  # load jumps: wants -400
    assert blocked.setpoint_w == 0.0 and "direction" in blocked.reason
    assert ctl.update(8.0, 400.0, 0.0).setpoint_w is None  # still within 10 s
    assert ctl.update(11.0, 400.0, 0.0).setpoint_w == -400.0


def test_direction_change_after_hold_is_direct() -> None:
    ctl = make(direction_hold_s=5.0, settle_s=0.0, **QUIET)
    ctl.update(0.0, -500.0, 0.0)
    assert ctl.update(6.0, 900.0, 500.0).setpoint_w == -400.0


def test_slew_limit_bounds_each_write() -> None:
    ctl = make(**{**QUIET, "max_step_w": 300.0, "settle_s": 0.0})
    assert ctl.update(1.0, -1000.0, 0.0).setpoint_w == 300.0
    assert ctl.update(5.0, -700.0, 300.0).setpoint_w == 600.0
    assert ctl.update(9.0, 600.0, 600.0).setpoint_w == 300.0


def test_min_power_idles_and_start_threshold_applies_from_idle() -> None:
    ctl = make(min_power_w=25.0, start_power_w=40.0, deadband_w=0.0, settle_s=0.0)
    start = ctl.update(1.0, -30.0, 0.0)
    assert start.setpoint_w is None and "below 40" in start.reason
    assert ctl.update(2.0, -45.0, 0.0).setpoint_w == 45.0
    stop = ctl.update(6.0, 25.0, 45.0)  # would be 20 W < stop threshold 25 W
    assert stop.setpoint_w == 0.0 and "below 25" in stop.reason


def test_no_windup_while_battery_full_and_ignoring_commands() -> None:
    ctl = make(settle_s=0.0, **QUIET)
    assert ctl.update(0.0, -600.0, 0.0).setpoint_w == 600.0
    writes = [ctl.update(5.0 * k, -600.0 - k, 0.0) for k in range(1, 30)]  # full: stays at 0 W
    assert all(d.setpoint_w is None for d in writes)
    assert "not following" in writes[-1].reason
    assert ctl.setpoint_w == 600.0
    # import appears: immediate reaction from the measured base, no unwinding needed
    assert ctl.update(200.0, 300.0, 0.0).setpoint_w == -300.0


def test_no_windup_when_empty() -> None:
    ctl = make(settle_s=0.0, **QUIET)
    ctl.update(0.0, 400.0, 0.0)
    for k in range(1, 20):
        ctl.update(5.0 * k, 400.0, 0.0)  # empty battery delivers nothing
    assert ctl.setpoint_w == -400.0
    assert ctl.update(200.0, -100.0, 0.0).setpoint_w == 100.0


def test_hardware_and_external_limits_respected() -> None:
    ctl = make(max_charge_w=1000.0, max_discharge_w=800.0, **QUIET)
    assert ctl.update(0.0, -3000.0, 0.0).setpoint_w == 1000.0
    ctl2 = make(**QUIET)
    limits = PowerLimits(max_charge_w=2000.0, max_discharge_w=300.0)
    assert ctl2.update(0.0, 3000.0, 0.0, limits).setpoint_w == -300.0


def test_narrowed_limits_force_a_write_even_in_deadband() -> None:
    ctl = make(settle_s=0.0, deadband_w=30.0)
    assert ctl.update(0.0, -900.0, 0.0).setpoint_w == 900.0
    full = PowerLimits(max_charge_w=0.0, max_discharge_w=1700.0)
    forced = ctl.update(5.0, 5.0, 900.0, full)
    assert forced.setpoint_w == 0.0


def test_battery_reading_is_paired_by_sample_time() -> None:
    ctl = ChargeController(ControlParams(meter_latency_s=1.0, **QUIET))
    assert "no battery" in ctl.update(0.5, 100.0).reason
    ctl.record_battery(0.0, 0.0)
    ctl.record_battery(2.0, 400.0)
    ctl.record_battery(4.0, 400.0)
    assert ctl.battery_at(1.0) == pytest.approx(200.0)
    # sample arrives at 4.0, was taken at 3.0 -> battery 400 W, grid -100 W -> 500 W
    assert ctl.update(4.0, -100.0).setpoint_w == 500.0


def test_pid_mode_integrates_and_stops_integrating_when_not_followed() -> None:
    pid = PidParams(kp=0.5, ki=0.1, kd=0.0, integral_limit_w=1000.0)
    # a 40 W follow tolerance, so that 85 W asked and 0 W delivered counts as not following
    ctl = make(mode="pid", pid=pid, settle_s=0.0, follow_tolerance_w=40.0, **QUIET)
    first = ctl.update(0.0, -100.0, 0.0)
    assert first.setpoint_w == 50.0  # P only on the first sample (no dt yet)
    second = ctl.update(2.0, -50.0, 50.0)
    assert second.setpoint_w == pytest.approx(50.0 + 25.0 + 10.0, abs=1.0)  # +ki*e*dt
    integral = ctl._law.integral_w  # noqa: SLF001
    for k in range(2, 12):
        ctl.update(2.0 * k, -500.0, 0.0)  # battery not following
    assert ctl._law.integral_w == pytest.approx(integral)  # noqa: SLF001


def test_pid_derivative_reacts_to_error_change() -> None:
    pid = PidParams(kp=0.0, ki=0.0, kd=1.0)
    ctl = make(mode="pid", pid=pid, settle_s=0.0, **QUIET)
    assert ctl.update(0.0, -10.0, 0.0).setpoint_w is None  # no P, no dt yet: nothing
    assert ctl.update(1.0, -200.0, 0.0).setpoint_w == 190.0  # kd * de/dt


def test_idle_writes_zero_once() -> None:
    ctl = make(**QUIET)
    ctl.update(0.0, -300.0, 0.0)
    assert ctl.idle(1.0, "meter stale").setpoint_w == 0.0
    assert ctl.idle(2.0, "meter stale").setpoint_w is None


def test_params_validation() -> None:
    with pytest.raises(ValidationError):
        ControlParams(unknown=1)
    with pytest.raises(ValidationError):
        ControlParams(gain=1.5)
    with pytest.raises(ValidationError):
        ControlParams(min_power_w=50.0, start_power_w=30.0)
    with pytest.raises(ValueError):
        PowerLimits(max_charge_w=-1.0, max_discharge_w=0.0)


def test_non_finite_inputs_ignored() -> None:
    ctl = make(**QUIET)
    assert ctl.update(0.0, float("nan"), 0.0).setpoint_w is None
