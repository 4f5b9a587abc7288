"""Pure control law turning grid-power samples into BIC-2200 power setpoints.

Sign conventions (used throughout the charge controller):

* grid power ``grid_w``: > 0 import from the grid, < 0 export to the grid.
* battery AC power (``measured_w`` and every setpoint): > 0 **charging** (the BIC draws
  power from the grid, like a load), < 0 **discharging** (the BIC feeds power into the house).

With these signs an extra watt of charging adds a watt of grid import, so the law is

    new_setpoint = measured_battery_ac_w - gain * (grid_w - target_w)

i.e. "measured actuator power plus gain times the grid error" with the battery counted as a
load. Using the *measured* power as the base (not the last command) means the controller
cannot wind up while the battery is saturated, full, empty or ignores a command.

Around that law the controller adds, in this order: dead-time gating (a sample is only used
if it was taken ``settle_s`` after the last write), a deadband, limits, a slew limit per
write, a direction-change hold, idling below a minimum power (start/stop hysteresis), a
"battery not following" hold, and a minimum change per write. Every call returns a
:class:`Decision` whose ``reason`` explains what happened. No I/O, no clock: all times are
sample timestamps passed in by the caller (seconds, any monotonic origin).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator


class PidParams(BaseModel):
    """Gains for the optional PID mode (applied on top of the measured battery power)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kp: float = Field(0.5, ge=0.0, le=2.0, description="proportional gain (W per W of error)")
    ki: float = Field(
        0.0, ge=0.0, le=1.0, description="integral gain (1/s); usually 0, >0.015 tends to wind up"
    )
    kd: float = Field(0.0, ge=0.0, le=10.0, description="derivative gain (s); usually 0")
    integral_limit_w: float = Field(
        300.0, ge=0.0, le=10000.0, description="clamp of the integral contribution (W)"
    )


class ControlParams(BaseModel):
    """Tuning of the charge/discharge controller. Defaults fit a 1-5 s meter and a BIC-2200."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target_w: float = Field(
        0.0, ge=-5000.0, le=5000.0, description="grid power to hold (W, >0 = keep importing)"
    )
    gain: float = Field(
        1.0, gt=0.0, le=1.0, description="fraction of the grid error corrected per write"
    )
    settle_s: float = Field(
        1.5,
        ge=0.0,
        le=120.0,
        description="a sample must have been taken this long after the last write to be used "
        "(actuator dead time + most of its lag)",
    )
    settle_bypass_w: float = Field(
        150.0,
        ge=0.0,
        le=20000.0,
        description="a sample inside settle_s is used anyway when the house load it shows moved "
        "this much from the one the last write answered (a new step, a spike that ended)",
    )
    meter_latency_s: float = Field(
        0.5,
        ge=0.0,
        le=30.0,
        description="sample taken = arrival - this; also picks the battery reading to pair with",
    )
    deadband_w: float = Field(
        15.0, ge=0.0, le=500.0, description="no action while |grid - target| <= this"
    )
    ramp_lead_s: float = Field(
        4.0,
        ge=0.0,
        le=30.0,
        description="while the house load ramps steadily (two consecutive sample intervals with "
        "a similar slope), aim at the load this far plus half a meter period ahead (meter "
        "latency + the unit's dead time and lag); 0 = off",
    )
    ramp_max_w: float = Field(
        600.0, ge=0.0, le=5000.0, description="largest ramp extrapolation (W)"
    )
    deadband_s: float = Field(
        30.0,
        ge=0.0,
        le=3600.0,
        description="an error inside the deadband whose mean over this long (since the last "
        "write) is at least persist_w is corrected anyway; 0 = never",
    )
    persist_w: float = Field(
        3.0, ge=0.0, le=500.0, description="smallest mean in-band error worth a write"
    )
    confirm_jump_w: float = Field(
        300.0,
        ge=0.0,
        le=20000.0,
        description="a house load jump bigger than this after a quiet sample is answered on the "
        "next sample, if it is still there (spikes shorter than the loop delay are not "
        "answered); 0 = answer at once",
    )
    confirm_interval_s: float = Field(
        2.0,
        ge=0.0,
        le=60.0,
        description="confirm jumps only while meter samples come at most this far apart (with a "
        "slower meter waiting for the next sample costs too much)",
    )
    transit_w: float = Field(
        400.0,
        ge=0.0,
        le=20000.0,
        description="within settled_s of a write, a battery further than this from its setpoint "
        "is still moving and its (polled, interpolated) reading unreliable: a sample then is "
        "only used when the house load estimate moved by half that distance; 0 = off",
    )
    min_change_w: float = Field(
        10.0, ge=0.0, le=500.0, description="skip writes that change the setpoint less than this"
    )
    direction_hold_s: float = Field(
        2.0,
        ge=0.0,
        le=600.0,
        description="reversing is only allowed this long after the last write in the old "
        "direction; sooner reversals idle instead",
    )
    max_step_w: float = Field(
        2200.0, gt=0.0, le=20000.0, description="slew limit: max setpoint change per write (W)"
    )
    min_power_w: float = Field(
        12.0,
        ge=0.0,
        le=2000.0,
        description="stop threshold: setpoints smaller than this idle (BIC minimum current)",
    )
    start_power_w: float = Field(
        25.0, ge=0.0, le=2000.0, description="start threshold when idle (>= min_power_w)"
    )
    max_charge_w: float = Field(2200.0, ge=0.0, le=50000.0, description="hardware charge cap")
    max_discharge_w: float = Field(
        1700.0, ge=0.0, le=50000.0, description="hardware discharge cap (AC output)"
    )
    follow_tolerance_w: float = Field(
        150.0,
        ge=0.0,
        le=2000.0,
        description="measured power further than this from the last setpoint = not following",
    )
    settled_s: float = Field(
        6.0,
        ge=0.0,
        le=600.0,
        description="a sample taken this long after the last write shows the battery's steady "
        "response to it (dead time + about three lag time constants): used to learn the trim",
    )
    trim_limit: float = Field(
        0.1,
        ge=0.0,
        le=0.5,
        description="largest learned correction of the battery's steady response (fraction of "
        "the setpoint); a bigger gap is saturation or not following, not a trim; 0 = no trim",
    )
    mode: Literal["proportional", "pid"] = Field(
        "proportional", description="'proportional' uses gain; 'pid' uses the pid gains"
    )
    pid: PidParams = Field(default_factory=PidParams)

    @model_validator(mode="after")
    def _start_above_stop(self) -> ControlParams:
        if self.start_power_w < self.min_power_w:
            raise ValueError("start_power_w must be >= min_power_w")
        return self


@dataclass(frozen=True)
class PowerLimits:
    """Externally computed limits (protections, schedules); both are magnitudes >= 0."""

    max_charge_w: float
    max_discharge_w: float

    def __post_init__(self) -> None:
        if self.max_charge_w < 0 or self.max_discharge_w < 0:
            raise ValueError("limits are magnitudes and must be >= 0")


@dataclass(frozen=True)
class Decision:
    """Outcome of one controller call: ``setpoint_w`` to write, or None for "no write"."""

    setpoint_w: float | None
    reason: str

    @property
    def writes(self) -> bool:
        return self.setpoint_w is not None


class CorrectionLaw(Protocol):
    """Turns the grid error into a correction subtracted from the measured battery power."""

    def correction(self, error_w: float, dt_s: float | None) -> float: ...

    def commit(self, accepted: bool, pushed: int = 0) -> None: ...

    def reset(self) -> None: ...


class ProportionalLaw:
    """correction = gain * error; the plant (measured base) provides the integration."""

    def __init__(self, gain: float) -> None:
        self.gain = gain

    def correction(self, error_w: float, dt_s: float | None) -> float:
        return self.gain * error_w

    def commit(self, accepted: bool, pushed: int = 0) -> None:
        return None

    def reset(self) -> None:
        return None


class PidLaw:
    """PID on the grid error added to the measured base, with conditional integration.

    ``commit(False, pushed)`` undoes the last integral increment (anti-windup when the result was
    clamped, held or not followed by the battery).
    """

    def __init__(self, params: PidParams) -> None:
        self.params = params
        self.integral_w = 0.0
        self._prev_error: float | None = None
        self._pending_increment = 0.0

    def correction(self, error_w: float, dt_s: float | None) -> float:
        p = self.params
        increment = 0.0
        derivative = 0.0
        if dt_s is not None and dt_s > 0:
            increment = p.ki * error_w * dt_s
            if self._prev_error is not None:
                derivative = p.kd * (error_w - self._prev_error) / dt_s
        new_integral = _clamp(self.integral_w + increment, -p.integral_limit_w, p.integral_limit_w)
        self._pending_increment = new_integral - self.integral_w
        self.integral_w = new_integral
        self._prev_error = error_w
        return p.kp * error_w + self.integral_w + derivative

    def commit(self, accepted: bool, pushed: int = 0) -> None:
        # ``pushed``: +1 if limits/thresholds raised the output above the law's value, -1 if
        # they lowered it. An increment that moves the law back toward the output it got
        # (a smaller correction when pushed up) is kept, or the integral could never unwind
        # from a limit (the output stays pinned at the limit forever).
        unwinds = self._pending_increment * pushed < 0
        if not accepted and not unwinds:
            self.integral_w -= self._pending_increment
        self._pending_increment = 0.0

    def reset(self) -> None:
        self.integral_w = 0.0
        self._prev_error = None
        self._pending_increment = 0.0


#: a battery that came this much closer to its setpoint since the previous sample is lagging
#: (still on its way), not saturated: the not-following hold does not apply
LAG_MOVE_W = 20.0

#: a settled battery delivering less than this fraction of a small setpoint is not following
#: it (empty, full, a limit), however small the setpoint; ``FOLLOW_MIN_W`` keeps the unit's
#: current step and the trim from counting as not following
FOLLOW_FRACTION = 0.5
FOLLOW_MIN_W = 20.0

#: a sample taken while the battery is still moving (see ``ControlParams.transit_w``) is only
#: used when the load estimate moved at least this fraction of the distance the battery still
#: has to go (a new step, not the reading's lag)
TRANSIT_TRUST = 0.5

#: below this battery power (W) a setpoint/delivered ratio is mostly the unit's current step
#: and minimum current, not a trim worth learning
TRIM_MIN_W = 100.0


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


class ChargeController:
    """Stateful but pure controller: feed it samples, write the setpoints it returns.

    The caller must actually send every returned setpoint (the controller assumes it was
    written at the arrival time of the sample it was decided on). Battery readings are either
    passed to :meth:`update` directly or recorded with :meth:`record_battery`; in the latter
    case the reading paired with a grid sample is interpolated at the time the grid sample
    was taken (arrival - ``meter_latency_s``), so grid and battery describe the same instant and
    the law estimates the house load consistently even while a command is in flight.
    """

    def __init__(self, params: ControlParams | None = None) -> None:
        self.params = params or ControlParams()
        self._law: CorrectionLaw = (
            PidLaw(self.params.pid)
            if self.params.mode == "pid"
            else ProportionalLaw(self.params.gain)
        )
        self.setpoint_w = 0.0
        self._last_write_time: float | None = None
        self._last_sample_time: float | None = None
        self._last_direction = 0
        self._last_active_time: float | None = None
        self._battery: deque[tuple[float, float]] = deque(maxlen=64)
        # setpoint / steady delivered power, per direction (+1 charge, -1 discharge)
        self._trim = {1: 1.0, -1: 1.0}
        self._band: tuple[float, float, int] | None = None  # (since, error sum, samples)
        self._written_load: float | None = None  # house load the last law write answered
        self._previous_measured: float | None = None  # battery power of the previous sample
        self._loads: deque[tuple[float, float]] = deque(maxlen=3)  # (taken, house load)
        self._last_change = 0.0  # setpoint change of the last write

    @property
    def trim(self) -> dict[int, float]:
        """Learned setpoint-per-delivered-watt ratio for charging (+1) and discharging (-1)."""
        return dict(self._trim)

    @property
    def last_write_time(self) -> float | None:
        return self._last_write_time

    def retune(self, params: ControlParams) -> None:
        """Use new parameters from the next sample on (runtime change, no restart).

        The setpoint, write times and battery readings are kept; the correction law is only
        rebuilt (and its PID state lost) when the mode, gain or PID gains changed.
        """
        old = self.params
        self.params = params
        if (old.mode, old.gain, old.pid) != (params.mode, params.gain, params.pid):
            self._law = PidLaw(params.pid) if params.mode == "pid" else ProportionalLaw(params.gain)

    def record_battery(self, time_s: float, ac_w: float) -> None:
        """Store a timestamped battery AC power reading (+ charging)."""
        if math.isfinite(ac_w) and (not self._battery or time_s >= self._battery[-1][0]):
            self._battery.append((time_s, ac_w))

    def battery_at(self, time_s: float) -> float | None:
        """Battery power at ``time_s``, interpolated between the recorded readings around it
        (the nearest end reading outside their span); None before the first reading."""
        readings = self._battery
        if not readings:
            return None
        later_time, later_w = readings[-1]
        if time_s >= later_time:
            return later_w
        for reading_time, ac_w in reversed(readings):
            if reading_time <= time_s:
                span = later_time - reading_time
                return ac_w + (later_w - ac_w) * (time_s - reading_time) / span
            later_time, later_w = reading_time, ac_w
        return later_w

    def _bounds(self, limits: PowerLimits | None) -> tuple[float, float]:
        p = self.params
        high, low = p.max_charge_w, p.max_discharge_w
        if limits is not None:
            high = min(high, limits.max_charge_w)
            low = min(low, limits.max_discharge_w)
        return -low, high

    def _write(self, setpoint: float, time_s: float, reason: str) -> Decision:
        self._last_change = setpoint - self.setpoint_w
        if setpoint != 0.0:
            self._last_direction = _sign(setpoint)
            self._last_active_time = time_s
        self.setpoint_w = setpoint
        self._last_write_time = time_s
        self._band = None
        self._written_load = None
        return Decision(setpoint, reason)

    def revert(self, setpoint_w: float, write_time: float | None) -> None:
        """Forget the write :meth:`update` just returned: the caller will not send it (a
        charge-only unit's switch kept the setpoint where it was). The law itself is untouched."""
        self.setpoint_w = setpoint_w
        self._last_write_time = write_time

    def hold(self, time_s: float, setpoint_w: float, reason: str) -> Decision:
        """Write a setpoint decided outside the law (manual, winter, a tightened limit).

        Writes once; while the setpoint already equals ``setpoint_w`` it returns no write.
        """
        self._law.reset()
        setpoint_w = float(round(setpoint_w))
        if setpoint_w == self.setpoint_w:
            return Decision(None, f"{reason}; already at {setpoint_w:.0f} W")
        return self._write(setpoint_w, time_s, reason)

    def idle(self, time_s: float, reason: str) -> Decision:
        """Force idle (e.g. meter stale); writes 0 once, afterwards returns no write."""
        self._law.reset()
        if self.setpoint_w == 0.0:
            return Decision(None, f"{reason}; already idle")
        return self._write(0.0, time_s, f"{reason}; going idle")

    def _learn_trim(self, taken: float, last: float, measured_w: float) -> None:
        """Learn how the battery's steady power relates to the setpoint that caused it.

        The unit turns watts into a current at the battery voltage of the moment, and the
        voltage sags while discharging and rises while charging, so a steady battery delivers a
        little less (or more) than asked: about 17 W of 1.45 kW in the bench. The measured
        base alone never corrects that (measured - error lands on the same setpoint again), so
        the grid would sit just outside the deadband for hours. A sample taken ``settled_s``
        after the last write, with the battery in the setpoint's direction and within
        ``trim_limit`` of it, gives the ratio setpoint / delivered for that direction; later
        proposals in that direction are scaled by it. A bigger gap is a full or empty battery
        or a limit (the not-following hold's business), never learned.
        """
        p = self.params
        if (
            p.trim_limit <= 0.0
            or self._last_write_time is None
            or taken - self._last_write_time < p.settled_s
            or abs(measured_w) < TRIM_MIN_W
            or _sign(measured_w) != _sign(last)
        ):
            return
        ratio = last / measured_w
        if abs(ratio - 1.0) <= p.trim_limit:
            self._trim[_sign(last)] = ratio

    def _follow_tolerance(self, taken: float, last: float) -> float:
        """How far the battery may fall short of the last setpoint before it counts as not
        following. ``follow_tolerance_w``, but for a setpoint the battery had ``settled_s`` to
        reach, at most half of it (at least ``FOLLOW_MIN_W``): an empty battery asked for 48 W
        delivers 0 W, far inside 150 W, and without this every small change of a standby load
        was written to a unit that could not deliver any of it (hundreds of writes per hour
        overnight in the whole-day bench)."""
        p = self.params
        if self._last_write_time is None or taken - self._last_write_time < p.settled_s:
            return p.follow_tolerance_w
        return min(p.follow_tolerance_w, max(FOLLOW_MIN_W, FOLLOW_FRACTION * abs(last)))

    def _unconfirmed_jump(self, taken: float, dt: float | None) -> float:
        """The house load's jump since the previous sample when it still needs confirming.

        A fast meter sees spikes (a kettle's inrush, a cloud gap of one second) that end before
        a write could take effect (meter latency + the unit's dead time and lag, ~3 s): answering
        them moves the battery for nothing and the grid swings the other way when they end
        (up to 600 W in the whole-day bench). So a jump of more than ``confirm_jump_w`` after a
        quiet interval is answered one sample later, if it is still there; a second jump (the
        spike ending, a step continuing) is answered at once. Only while samples come at most
        ``confirm_interval_s`` apart (with a slow meter the wait would cost a whole period). A
        jump that undoes what a recent big write answered (within ``settled_s``, the opposite
        way) is that spike ending: answered at once, the battery must stop.
        """
        p = self.params
        if p.confirm_jump_w <= 0.0 or dt is None or dt > p.confirm_interval_s:
            return 0.0
        if len(self._loads) < 3:
            return 0.0
        (_, l0), (_, l1), (_, l2) = self._loads
        jump = l2 - l1
        if abs(jump) <= p.confirm_jump_w or abs(l1 - l0) > p.confirm_jump_w:
            return 0.0
        if (
            self._last_write_time is not None
            and taken - self._last_write_time < p.settled_s
            and abs(self._last_change) > p.confirm_jump_w
            and _sign(jump) == _sign(self._last_change)
        ):
            return 0.0
        return jump

    def _ramp_w(self) -> float:
        """How far the house load will have moved by the time a write takes effect, while it
        ramps steadily (a cloud edge, a heater ramping): two consecutive intervals whose slopes
        have the same sign and differ by less than half; the smaller slope times
        (``ramp_lead_s`` + half the last sample interval), at most ``ramp_max_w``. A step is
        one interval with a slope, never two alike, so it is not extrapolated."""
        p = self.params
        if p.ramp_lead_s <= 0.0 or len(self._loads) < 3:
            return 0.0
        (t0, l0), (t1, l1), (t2, l2) = self._loads
        if t1 <= t0 or t2 <= t1:
            return 0.0
        s0, s1 = (l1 - l0) / (t1 - t0), (l2 - l1) / (t2 - t1)
        if _sign(s0) != _sign(s1) or abs(s1 - s0) > 0.5 * max(abs(s0), abs(s1)):
            return 0.0
        slope = min(abs(s0), abs(s1)) * _sign(s1)
        # the write holds until the next sample: aim at the middle of that interval
        lead = p.ramp_lead_s + (t2 - t1) / 2
        return _clamp(slope * lead, -p.ramp_max_w, p.ramp_max_w)

    def _in_band(self, sample_time: float, error: float) -> float | None:
        """Track an error inside the deadband; its mean once it persisted ``deadband_s``.

        A steady error just inside the deadband (a standby load the last write left 12 W
        uncorrected, a battery that drifts with its voltage) costs its watts for hours; noise
        averages out. So the mean of the in-band samples is taken every ``deadband_s`` and,
        when it is at least ``persist_w``, corrected with one write (no minimum change).
        """
        p = self.params
        if p.deadband_s <= 0.0:
            return None
        since, total, count = self._band or (sample_time, 0.0, 0)
        total, count = total + error, count + 1
        if sample_time - since < p.deadband_s:
            self._band = (since, total, count)
            return None
        self._band = None
        mean = total / count
        return mean if abs(mean) >= p.persist_w else None

    def update(
        self,
        sample_time: float,
        grid_w: float,
        measured_w: float | None = None,
        limits: PowerLimits | None = None,
    ) -> Decision:
        """Decide on one meter sample.

        ``sample_time``: arrival time of the grid sample (s); ``grid_w``: grid power;
        ``measured_w``: battery AC power (+ charging) at the time the sample was taken, or
        None to look it up in the readings given to :meth:`record_battery`; ``limits``:
        optional narrower charge/discharge caps.
        """
        p = self.params
        if measured_w is None:
            measured_w = self.battery_at(sample_time - p.meter_latency_s)
            if measured_w is None:
                return Decision(None, "no battery power reading yet; ignored")
        if not (math.isfinite(grid_w) and math.isfinite(measured_w)):
            return Decision(None, "non-finite grid or battery power; ignored")
        if self._last_sample_time is not None and sample_time <= self._last_sample_time:
            return Decision(None, "sample not newer than the last one used; ignored")
        taken = sample_time - p.meter_latency_s
        load_w = grid_w - measured_w  # the house without the battery, + import
        # while the battery is still far from its setpoint, its reading (polled, interpolated)
        # lags the meter's, so the load estimate is off by a part of the distance left
        in_transit = abs(self.setpoint_w - measured_w)
        moving = (
            self._last_write_time is not None
            and taken - self._last_write_time < p.settled_s
            and p.transit_w > 0.0
            and in_transit > p.transit_w
        )
        self._loads.append((taken, load_w))
        # lag, not saturation: the battery moved toward the last setpoint since the sample
        # before (by more than LAG_MOVE_W), so it is still following
        previous, self._previous_measured = self._previous_measured, measured_w
        catching_up = (
            previous is not None
            and abs(self.setpoint_w - measured_w) < abs(self.setpoint_w - previous) - LAG_MOVE_W
        )
        if self._last_write_time is not None and taken < self._last_write_time + p.settle_s:
            moved = None if self._written_load is None else abs(load_w - self._written_load)
            if moved is None or moved < p.settle_bypass_w:
                age = taken - self._last_write_time
                return Decision(
                    None,
                    f"dead time: sample taken {age:.1f} s after last write (< {p.settle_s} s)",
                )
        if moving and self._written_load is not None:
            moved = abs(load_w - self._written_load)
            if moved < TRANSIT_TRUST * in_transit:
                return Decision(
                    None,
                    f"battery still {in_transit:.0f} W from the last setpoint: load estimate moved "
                    f"{moved:.0f} W (< {TRANSIT_TRUST:.0%} of that); waiting",
                )
        dt = None if self._last_sample_time is None else sample_time - self._last_sample_time
        self._last_sample_time = sample_time

        low, high = self._bounds(limits)
        last = self.setpoint_w
        self._learn_trim(taken, last, measured_w)
        forced = not (low <= last <= high)
        error = grid_w - p.target_w
        # a grid inside the deadband only means "nothing to do" once the battery got the last
        # write: while that write is still on its way, a small grid error with a setpoint far
        # from what the battery delivers now means the house moved back (a spike that ended)
        in_flight = (
            self._last_write_time is not None
            and taken - self._last_write_time < p.settled_s
            and abs(measured_w - error - last) >= p.settle_bypass_w
        )
        persistent = False
        if abs(error) <= p.deadband_w and not forced and not in_flight:
            mean = self._in_band(sample_time, error)
            if mean is None:
                return Decision(None, f"grid {grid_w:.0f} W within deadband ±{p.deadband_w:.0f} W")
            persistent, error = True, mean
        else:
            self._band = None

        ramp_w = self._ramp_w()
        if ramp_w:
            notes_ramp = f"; load ramping: aiming {ramp_w:+.0f} W ahead"
            error += ramp_w
        else:
            notes_ramp = ""
        jump = self._unconfirmed_jump(taken, dt)
        if jump:
            self._law.commit(False)
            return Decision(
                None,
                f"house load jumped {jump:+.0f} W since the last sample: waiting for the next "
                "sample to confirm it (a spike shorter than the loop delay is not answered)",
            )
        wanted_w = measured_w - self._law.correction(error, dt)
        trim = self._trim[_sign(wanted_w)] if wanted_w else 1.0
        raw = wanted_w * trim
        new = _clamp(raw, low, high)
        notes = [f"grid {grid_w:.0f} W, battery {measured_w:.0f} W -> {raw:.0f} W"]
        if trim != 1.0:
            notes[0] += f" (trim x{trim:.3f})"
        notes[0] += notes_ramp
        if new != raw:
            notes.append(f"limited to [{low:.0f}, {high:.0f}]")
        # The slew window reaches max_step_w beyond the last setpoint *and* beyond what the
        # battery delivers: a move back toward the measured power is never slew-limited. A
        # window around the last setpoint alone kept a full battery's stale charge setpoint
        # pointing the same way as before, so the hold below never released (issue #11).
        stepped = _clamp(
            new, min(last, measured_w) - p.max_step_w, max(last, measured_w) + p.max_step_w
        )
        wanted = new
        if stepped != new:
            notes.append(f"slew-limited to ±{p.max_step_w:.0f} W")
            new = _clamp(stepped, low, high)

        # what limits and slew made of the law's value: the anti-windup reference (the
        # start/stop thresholds and the direction hold below are a dead zone, not a limit: an
        # integral that grows to get across them is what integral action is for)
        bounded = new
        direction = _sign(new)
        if (
            direction != 0
            and direction == -self._last_direction
            and self._last_active_time is not None
            and sample_time - self._last_active_time < p.direction_hold_s
        ):
            new = 0.0
            notes.append(f"direction change within {p.direction_hold_s:.0f} s: idle")
        if new != 0.0:
            threshold = p.start_power_w if last == 0.0 else p.min_power_w
            if abs(new) < threshold <= abs(wanted) and _sign(new) == _sign(wanted):
                # only the slew limit made it small: start at the threshold rather than never
                # (a max_step_w below start_power_w would otherwise idle forever)
                new = math.copysign(threshold, new)
            elif abs(new) < threshold:
                notes.append(f"|{new:.0f}| W below {threshold:.0f} W: idle")
                new = 0.0
        # whole watts, never rounded past a limit (1.5 W allowed must not become 2 W)
        new = _clamp(float(round(new)), float(math.ceil(low)), float(math.floor(high)))

        shortfall = last - measured_w
        if (
            not forced
            and not catching_up
            and abs(shortfall) > self._follow_tolerance(taken, last)
            and _sign(shortfall) == _sign(last)  # delivers less than asked, not more
            and _sign(new - measured_w) == _sign(shortfall)
        ):
            # The battery delivers less than asked (full, empty, BMS or current limit, a
            # direction change held back by the gateway) and the law still asks for more in
            # the same direction. Asking for even more is pointless, so hold; but a proposal
            # that lowers the stale setpoint toward what is delivered is written, so the
            # setpoint keeps tracking the demand and a release starts from a sane value.
            # a small setpoint short of its target may only be below the unit's minimum
            # current (a near-empty battery asked to charge 32 W delivers 0 W): a proposal a
            # whole tolerance beyond it is written, or that battery would never charge again
            small_gap = abs(shortfall) <= p.follow_tolerance_w
            lowered = (last - new) * _sign(shortfall)
            if lowered <= p.follow_tolerance_w and not (
                small_gap and -lowered >= p.follow_tolerance_w
            ):
                self._law.commit(False)
                notes.append(
                    f"battery not following last setpoint ({measured_w:.0f} of {last:.0f} W: "
                    "saturated/full/empty/limited): hold"
                )
                return Decision(None, "; ".join(notes))
            notes.append(
                f"battery not following ({measured_w:.0f} of {last:.0f} W): setpoint lowered"
            )
        small = not forced and not persistent and new != 0.0 and abs(new - last) < p.min_change_w
        if new == last or small:
            self._law.commit(abs(bounded - raw) <= 0.5, _sign(bounded - raw))
            notes.append(f"change {new - last:+.0f} W below {p.min_change_w:.0f} W: no write")
            return Decision(None, "; ".join(notes))
        self._law.commit(abs(bounded - raw) <= 0.5, _sign(bounded - raw))
        decision = self._write(new, sample_time, "; ".join(notes))
        self._written_load = load_w
        return decision
