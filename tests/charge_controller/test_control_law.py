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
    ctl = make(settle_s=2.0, settle_bypass_w=20000.0, **{**QUIET, "meter_latency_s": 1.0})
    ctl.update(10.0, -500.0, 0.0)
    assert "dead time" in ctl.update(12.5, -300.0, 500.0).reason  # taken at 11.5
    assert ctl.update(13.0, -300.0, 500.0).setpoint_w == 800.0  # taken at 12.0


def test_a_new_step_inside_the_settle_time_is_answered_at_once() -> None:
    # the gate is there for samples of the battery on its way; a house load that moved by
    # settle_bypass_w since the write (a new step, a spike that ended) is acted on at once
    ctl = make(settle_s=3.0, settle_bypass_w=150.0, **QUIET)
    assert ctl.update(10.0, -1000.0, 0.0).setpoint_w == 1000.0  # surplus: load -1000 W
    # 1 s later the battery is on its way (300 W) and the load is unchanged: gated
    assert "dead time" in ctl.update(11.0, -700.0, 300.0).reason
    # the load moved by 100 W only: still gated
    assert "dead time" in ctl.update(11.5, -600.0, 500.0).reason
    # the surplus was a 1 s spike: the load is back at -100 W -> answered before settle_s
    assert ctl.update(12.0, 500.0, 600.0).setpoint_w == 100.0


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
    ctl = make(deadband_w=0.0, min_change_w=20.0, settle_s=0.0, ramp_lead_s=0.0)
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


def _steady_plant_loop(ctl: ChargeController, house_w: float, ratio: float, samples: int):
    """Battery delivering ``ratio`` x its setpoint (a voltage-dependent watts->amps
    conversion); one sample every 5 s; returns the grid power seen at each sample."""
    battery, grids = 0.0, []
    for k in range(1, samples + 1):
        grid = house_w + battery
        grids.append(grid)
        decision = ctl.update(5.0 * k, grid, battery)
        if decision.setpoint_w is not None:
            battery = decision.setpoint_w * ratio
    return grids


STEADY = dict(deadband_w=10.0, min_change_w=10.0, settle_s=0.0, deadband_s=0.0, settled_s=6.0)


def test_trim_corrects_a_battery_that_delivers_a_little_less_than_asked() -> None:
    # discharging 1.45 kW the battery delivers 1.2 % less than asked (its voltage sags): the
    # measured base alone lands on the same setpoint again and the grid imports ~17 W for
    # hours (the change is below min_change_w). The trim learned from a settled sample fixes it.
    untrimmed = _steady_plant_loop(make(trim_limit=0.0, **STEADY), 1450.0, 0.988, 20)
    assert untrimmed[-1] == pytest.approx(17.4, abs=0.5)
    ctl = make(trim_limit=0.1, **STEADY)
    trimmed = _steady_plant_loop(ctl, 1450.0, 0.988, 20)
    assert abs(trimmed[-1]) <= 1.0
    assert ctl.trim[-1] == pytest.approx(1 / 0.988, abs=0.002) and ctl.trim[1] == 1.0


def test_trim_is_only_learned_from_settled_samples_within_its_limit() -> None:
    ctl = make(trim_limit=0.1, **STEADY)
    assert ctl.update(0.0, 1000.0, 0.0).setpoint_w == -1000.0
    ctl.update(3.0, 50.0, -950.0)  # 3 s after the write: the battery is still on its way
    assert ctl.trim == {1: 1.0, -1: 1.0}
    ctl.update(10.0, 250.0, -750.0)  # settled, but 25 % short: a limit or empty, not a trim
    assert ctl.trim == {1: 1.0, -1: 1.0}


def test_a_persistent_error_inside_the_deadband_is_corrected_once() -> None:
    ctl = make(deadband_w=15.0, min_change_w=10.0, settle_s=0.0, deadband_s=30.0, persist_w=3.0)
    assert ctl.update(0.0, 300.0, 0.0).setpoint_w == -300.0
    # the battery leaves 8 W uncorrected: inside the deadband and below min_change_w
    writes = []
    for t in range(1, 40):
        decision = ctl.update(float(t), 8.0, -300.0)
        if decision.writes:
            writes.append((t, decision.setpoint_w))
    assert writes == [(31, -308.0)], writes


def test_noise_inside_the_deadband_is_not_written() -> None:
    # +-12 W of noise around a 2 W mean: not worth a write (persist_w 3 W)
    ctl = make(deadband_w=15.0, settle_s=0.0, deadband_s=30.0, persist_w=3.0)
    assert ctl.update(0.0, 300.0, 0.0).setpoint_w == -300.0
    decisions = [ctl.update(float(t), 14.0 if t % 2 else -10.0, -300.0) for t in range(1, 200)]
    assert not any(d.writes for d in decisions)


#: no trim, and every sample counts as taken after the battery settled (no transit gate)
SETTLED = dict(trim_limit=0.0, settled_s=0.0)


def test_a_battery_still_catching_up_is_not_held_as_not_following() -> None:
    # a 1 kW step: the battery lags on its way to -1000 W when the house load rises again;
    # that is lag (the gap shrinks), not saturation, so the new proposal is written
    ctl = make(settle_s=0.0, follow_tolerance_w=300.0, **{**QUIET, **SETTLED})
    assert ctl.update(0.0, 1000.0, 0.0).setpoint_w == -1000.0
    assert ctl.update(1.0, 800.0, -200.0).setpoint_w is None  # on its way, same demand
    decision = ctl.update(2.0, 700.0, -500.0)  # load now 1200 W, battery still at -500 W
    assert decision.setpoint_w == -1200.0, decision.reason


def test_a_battery_stuck_short_of_its_setpoint_is_still_held() -> None:
    ctl = make(settle_s=0.0, follow_tolerance_w=300.0, **{**QUIET, **SETTLED})
    assert ctl.update(0.0, 1000.0, 0.0).setpoint_w == -1000.0
    ctl.update(1.0, 500.0, -500.0)
    held = ctl.update(2.0, 700.0, -500.0)  # no closer than before: limited, not lagging
    assert held.setpoint_w is None and "not following" in held.reason


def _follow_loads(ctl: ChargeController, loads: list[float]) -> list[Decision]:
    """Instant plant, one sample a second, house load ``loads[k]`` at sample k."""
    battery, decisions = 0.0, []
    for k, load in enumerate(loads, start=1):
        decision = ctl.update(float(k), load + battery, battery)
        decisions.append(decision)
        if decision.setpoint_w is not None:
            battery = decision.setpoint_w
    return decisions


RAMP = dict(
    settle_s=0.0, trim_limit=0.0, ramp_lead_s=3.0, ramp_max_w=600.0, confirm_jump_w=0.0, **QUIET
)


def test_a_steady_ramp_is_met_ahead() -> None:
    # +20 W/s for two intervals: aim 20 W/s x (3 s + half the 1 s interval) = 70 W ahead
    decisions = _follow_loads(make(**RAMP), [1020.0, 1040.0, 1060.0])
    assert [d.setpoint_w for d in decisions] == [-1020.0, -1040.0, -1130.0]
    assert "ramping" in decisions[-1].reason
    plain = _follow_loads(make(**{**RAMP, "ramp_lead_s": 0.0}), [1020.0, 1040.0, 1060.0])
    assert plain[-1].setpoint_w == -1060.0


def test_a_step_or_noise_is_not_extrapolated_and_a_ramp_only_up_to_its_cap() -> None:
    assert _follow_loads(make(**RAMP), [500.0, 500.0, 1200.0])[-1].setpoint_w == -1200.0
    zigzag = _follow_loads(make(**RAMP), [1000.0, 1030.0, 1000.0, 1030.0])
    assert zigzag[-1].setpoint_w == -1030.0
    steep = _follow_loads(make(**RAMP), [0.0, 400.0, 800.0])  # 400 W/s x 3.5 s > 600 W
    assert steep[-1].setpoint_w == -1400.0


def test_a_spike_that_ended_before_its_write_took_effect_is_cancelled() -> None:
    # a 1 s, 315 W surplus spike: the law asks for 667 W; the next sample, taken while that
    # write is still on its way, shows the grid back at -2 W (inside the deadband) with the
    # battery at 355 W. Not acting would let the 667 W land and export 310 W.
    # (confirm_jump_w=0: the spike is answered at once, as with a meter slower than 2 s)
    ctl = make(
        settle_s=1.5, settle_bypass_w=150.0, deadband_w=15.0, trim_limit=0.0, confirm_jump_w=0.0
    )
    ctl.update(0.0, -354.0, 0.0)  # charging 354 W, regulated
    assert ctl.update(10.0, 1.0, 355.0).setpoint_w is None
    assert ctl.update(11.0, -314.0, 355.0).setpoint_w == 669.0
    cancel = ctl.update(12.0, -2.0, 355.0)
    assert cancel.setpoint_w == 357.0, cancel.reason


# --- whole-day bench findings (v0.4): spikes, transit readings, small setpoints not followed ---

CONFIRM = dict(settle_s=0.0, trim_limit=0.0, ramp_lead_s=0.0, confirm_jump_w=300.0, **QUIET)


def test_a_one_sample_spike_is_not_answered() -> None:
    # 1 s meter: load 200 W, a 1,000 W spike for one sample, back to 200 W
    decisions = _follow_loads(make(**CONFIRM), [200.0, 200.0, 1200.0, 200.0])
    assert [d.setpoint_w for d in decisions] == [-200.0, None, None, None]
    assert "confirm" in decisions[2].reason
    answered = _follow_loads(make(**{**CONFIRM, "confirm_jump_w": 0.0}), [200.0, 200.0, 1200.0])
    assert answered[-1].setpoint_w == -1200.0  # without confirmation the spike is chased


def test_a_step_that_stays_is_answered_one_sample_later() -> None:
    decisions = _follow_loads(make(**CONFIRM), [200.0, 200.0, 1200.0, 1200.0])
    assert [d.setpoint_w for d in decisions] == [-200.0, None, None, -1200.0]


def test_a_jump_after_a_jump_is_answered_at_once() -> None:
    # a staircase: the second jump follows a jump (no quiet interval), so it is answered
    decisions = _follow_loads(make(**CONFIRM), [200.0, 200.0, 700.0, 1400.0])
    assert decisions[-1].setpoint_w == -1400.0


def test_jumps_are_not_held_back_with_a_slow_meter() -> None:
    ctl = make(**CONFIRM)  # confirm_interval_s 2 s; samples 5 s apart
    battery = 0.0
    for k, load in enumerate([200.0, 200.0, 1200.0], start=1):
        decision = ctl.update(5.0 * k, load + battery, battery)
        battery = decision.setpoint_w if decision.setpoint_w is not None else battery
    assert battery == -1200.0


def test_the_end_of_a_spike_a_big_write_answered_is_answered_at_once() -> None:
    # a spike answered anyway (its sample came while the battery was settling, 1 s meter):
    # the jump back the other way must stop the battery at once, not wait for confirmation
    ctl = make(**{**CONFIRM, "settled_s": 6.0})
    ctl.update(1.0, 200.0, 0.0)  # -200
    ctl.update(2.0, 200.0 - 200.0, -200.0)
    assert ctl.update(3.0, 1000.0, -200.0).setpoint_w is None  # +1,000 W jump: confirm
    assert ctl.update(4.0, 1000.0, -200.0).setpoint_w == -1200.0  # confirmed
    # the load drops back by 1,000 W one sample later: the opposite of what -1200 answered
    back = ctl.update(5.0, -1000.0 + 200.0 - 200.0, -1000.0)
    assert back.setpoint_w is not None and back.setpoint_w > -400.0, back.reason


def test_a_reading_taken_while_the_battery_moves_waits_unless_the_load_moved() -> None:
    # the battery's reading is polled and interpolated: 1.5 s after a 2 kW write it can be
    # 250 W off while the battery still has 1,700 W to go, and the load estimate with it
    ctl = make(settle_s=1.5, settled_s=6.0, trim_limit=0.0, ramp_lead_s=0.0, **QUIET)
    assert ctl.update(0.0, -1997.0, -1476.0).setpoint_w == 521.0
    waiting = ctl.update(1.5, -1458.0, -1182.0)  # load -276 W? 245 W off, 1,703 W to go
    assert waiting.setpoint_w is None and "still" in waiting.reason
    # a real new step (the load moved by more than half the distance left) is answered
    moved = ctl.update(2.5, -200.0, -400.0)  # load +200 W, 721 W moved, 921 W to go
    assert moved.setpoint_w == -200.0, moved.reason


def test_a_small_setpoint_an_empty_battery_cannot_deliver_is_not_rewritten() -> None:
    # empty battery at night asked for 48 W: it delivers 0 W; the standby load wanders 40-55 W
    ctl = make(settled_s=6.0, trim_limit=0.0, ramp_lead_s=0.0, settle_s=1.5)
    assert ctl.update(0.0, 48.0, 0.0).setpoint_w == -48.0
    decisions = [ctl.update(10.0 + 2 * k, load, 0.0) for k, load in enumerate([41, 55, 44, 52])]
    assert all(d.setpoint_w is None for d in decisions), [d.reason for d in decisions]
    assert "not following" in decisions[-1].reason


def test_a_small_setpoint_below_the_minimum_current_does_not_latch() -> None:
    # a near-empty battery asked to charge 32 W delivers 0 W (below the unit's minimum
    # current); a surplus of 400 W must still be written, or it would never charge again
    ctl = make(settled_s=6.0, trim_limit=0.0, ramp_lead_s=0.0, settle_s=1.5)
    assert ctl.update(0.0, -32.0, 0.0).setpoint_w == 32.0
    assert ctl.update(10.0, -40.0, 0.0).setpoint_w is None  # small change: held
    assert ctl.update(20.0, -400.0, 0.0).setpoint_w == 400.0
