"""Baseline charge-control strategies the benchmark compares ours with (pure, no I/O).

Every strategy sees what a real controller sees: meter samples at their arrival time
(``on_sample``), the gateway's battery readings (``observe_battery``) and a 1 s tick; it
returns an AC power setpoint (W, + charge / - discharge) to write, or None. Setpoint writes
are counted by the benchmark whenever the value sent to the unit changes.

* ``IncrementalPid`` (``pid_last_command``): velocity P on its own last command, P 0.3,
  +-10 W tolerance, 10 W rounding, +-400 W per step -- the law of earlier BIC bridges as their
  example configurations intend it.
* ``LastCommandStep`` (``last_command_step``): last command - (grid - target) on every sample.
* ``HamstieBic2mqtt`` (``hamstie_bic2mqtt_pid``): the charge control of hamstie's bic2mqtt
  (``bic2mqtt.py`` class ``CChargeCtrlPID`` with ``CPID`` and the device's ``charge_set_pow``
  / ``charge_set_amp``), with the parameters its shipped ``bic2mqtt.ini`` really yields.
* ``OpenDtuDpl`` (``opendtu_dpl``): the OpenDTU-OnBattery dynamic power limiter law.

See docs/charge-controller.md ("Baselines") for how each follows its source.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.charge_controller.meter_input import GridSample
from services.sim.bic_plant import BicPlantParams


@dataclass(frozen=True)
class BatteryView:
    """One gateway reading: AC power (+ charging), terminal voltage, DC power (+ charging).

    ``rest_voltage_v`` is the simulated battery's open-circuit voltage; strategies that command
    a DC *current* (hamstie) use it only to express that current as the plant's AC command.
    """

    ac_w: float
    voltage_v: float
    dc_w: float
    rest_voltage_v: float


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


class Baseline:
    """Shared plumbing: limits, no-op hooks."""

    def __init__(self, max_charge_w: float, max_discharge_w: float) -> None:
        self.max_charge_w, self.max_discharge_w = max_charge_w, max_discharge_w

    def observe_battery(self, time_s: float, battery: BatteryView) -> None:
        return None

    def tick(self, time_s: float, clock_s: float) -> float | None:
        return None

    def limit(self, watts: float) -> float:
        return _clamp(watts, -self.max_discharge_w, self.max_charge_w)


class IncrementalPid(Baseline):
    """cmd += clamp(-kp * grid, +-max_step) outside +-tolerance, rounded to 10 W."""

    def __init__(
        self,
        max_charge_w: float,
        max_discharge_w: float,
        kp: float = 0.3,
        tolerance_w: float = 10.0,
        max_step_w: float = 400.0,
    ) -> None:
        super().__init__(max_charge_w, max_discharge_w)
        self.kp, self.tolerance_w, self.max_step_w = kp, tolerance_w, max_step_w
        self.command = 0.0

    def on_sample(self, time_s: float, sample: GridSample, clock_s: float) -> float | None:
        grid = sample.grid_w
        if abs(grid) <= self.tolerance_w:
            return None
        step = _clamp(-self.kp * grid, -self.max_step_w, self.max_step_w)
        new = self.limit(round((self.command + step) / 10) * 10)
        if new == self.command:
            return None
        self.command = new
        return new


class LastCommandStep(Baseline):
    """cmd = last cmd - (grid - target) on every sample outside +-tolerance."""

    def __init__(self, max_charge_w: float, max_discharge_w: float, tolerance_w: float = 10.0):
        super().__init__(max_charge_w, max_discharge_w)
        self.tolerance_w = tolerance_w
        self.command = 0.0

    def on_sample(self, time_s: float, sample: GridSample, clock_s: float) -> float | None:
        if abs(sample.grid_w) <= self.tolerance_w:
            return None
        new = self.limit(round(self.command - sample.grid_w))
        if new == self.command:
            return None
        self.command = new
        return new


@dataclass(frozen=True)
class HamstieParams:
    """What bic2mqtt's code and shipped ``bic2mqtt.ini`` give (see the class docstring)."""

    kp: float = 1.0  # code default; the shipped ini line 'Id/0/Pid/P=0.3Id/0/Pid/I=0' is no float
    step_max_w: float = 500.0  # Pid/MaxChargePower, per step
    step_min_w: float = -500.0  # Pid/MaxDischargePower, per step
    tolerance_w: float = 10.0  # ChargeTol
    discharge_block_s: float = 61.0  # DischargeBlockTimeSec (profile: 60; the code uses it)
    gap_range_w: float = 100.0  # DEF_MAX_POW_GAP
    gap_count: int = 10  # gap handling after more than this many big gaps
    gap_every: int = 60  # then only every 60th result is published
    direction_reset_w: float = 300.0  # grid sign flip at >= this resets to idle
    finetune_every: int = 30  # in-band samples between fine-tune steps
    poll_s: float = 2.0  # cfg_tmo_charge_ms: battery voltage/current read every 2 s
    min_current_a: float = 0.9  # cfg_min_ccharge100 / cfg_min_cdischarge100
    max_charge_a: float = 45.0  # BIC-2200-48 ratings (the ini's 20/21 A are for a 24 V unit)
    max_discharge_a: float = 38.3


class HamstieBic2mqtt(Baseline):
    """hamstie/meanwell-bic2mqtt charge control (``CChargeCtrlPID``), event-driven per sample.

    Per meter sample (``calc_power``): a grid sign flip (last |grid| > 2 x tolerance, now
    |grid| >= 300 W, other sign) resets everything to idle; outside +-tolerance
    ``new = last calculated + PID(grid)`` where the P step is clamped to the per-step range and
    the first step after any PID reset is 0; inside the band the PID is reset and every 30th
    in-band sample applies ``-residual``; the result is rounded to 10 W and clamped to the
    profile limits. Gap logic: after each result, ``calc - measured DC power`` >= 100 W counts
    up (reset below 80 W); past 10 only every 60th result is published. Discharge block: a
    negative result within 61 s of the last positive one becomes 0 (and resets the PID). A
    published W value becomes a DC current at the last read voltage, rounded to 0.1 A and then
    to an even tenth (upwards), clamped to 0.9 A..max per direction: idle is 0.9 A *charging*.
    Registers are only written when they change.
    """

    def __init__(
        self,
        max_charge_w: float,
        max_discharge_w: float,
        plant: BicPlantParams,
        params: HamstieParams | None = None,
    ) -> None:
        super().__init__(max_charge_w, max_discharge_w)
        self.p = params or HamstieParams()
        self.plant = plant
        self.calc_last = 0.0
        self.grid_last = 0.0
        self.pid_steps = 0  # CPID.cnt_step: the first step after a reset returns 0
        self.in_tol = 0
        self.gap_cnt = 0
        self.last_charge_time = 0.0  # t_last_charge: set at start-up
        self.power_set: float | None = None  # charge_pow_set (last published W)
        self.written: tuple[int, int] | None = None  # (direction, centi-amps) on the unit
        self.voltage_v = 0.0  # dcBatV
        self.rest_voltage_v = 0.0
        self.measured_w = 0.0  # chargeP (DC, V x I)
        self.next_poll = 0.0

    def observe_battery(self, time_s: float, battery: BatteryView) -> None:
        if time_s + 1e-9 >= self.next_poll:
            self.next_poll = time_s + self.p.poll_s
            self.voltage_v = round(battery.voltage_v, 1)
            self.measured_w = round(battery.dc_w)
        self.rest_voltage_v = battery.rest_voltage_v

    def _pid_step(self, grid: float) -> float:
        if self.pid_steps == 0:
            self.pid_steps = 1
            return 0.0
        self.pid_steps += 1
        return float(int(_clamp(self.p.kp * (0.0 - grid), self.p.step_min_w, self.p.step_max_w)))

    def _reset(self) -> float | None:
        self.calc_last = 0.0
        self.gap_cnt = 0
        self.in_tol = 0
        self.pid_steps = 0
        return self._write_amps(1, self.p.min_current_a)  # charge_set_idle

    def _set_power(self, calc: float, time_s: float) -> None:
        """calc_power_set: remember the result, track charging time and the gap."""
        self.calc_last = calc
        if calc > 0:
            self.last_charge_time = time_s
        gap = calc - self.measured_w
        if abs(gap) >= self.p.gap_range_w:
            self.gap_cnt += 1
        elif self.gap_cnt > 0 and abs(gap) < self.p.gap_range_w * 0.8:
            self.gap_cnt = 0

    def _write_amps(self, direction: int, amps: float) -> float | None:
        key = (direction, round(amps * 100))
        if key == self.written:
            return None
        self.written = key
        dc = direction * amps * (self.rest_voltage_v or self.plant.open_circuit_voltage(0.5))
        return self.plant.ac_from_dc(dc)

    def _publish(self, watts: float) -> float | None:
        """charge_set_pow + charge_set_amp: W -> even-tenth amps on the unit."""
        if self.power_set == watts:
            return None
        self.power_set = watts
        volts = self.voltage_v if self.voltage_v >= 20 else 24.0
        amps = round(watts / round(volts, 1), 1)
        if round(amps * 10) % 2:
            amps = round(amps + 0.1, 1)
        if amps >= 0:
            return self._write_amps(1, _clamp(amps, self.p.min_current_a, self.p.max_charge_a))
        return self._write_amps(-1, _clamp(-amps, self.p.min_current_a, self.p.max_discharge_a))

    def on_sample(self, time_s: float, sample: GridSample, clock_s: float) -> float | None:
        p, grid = self.p, round(sample.grid_w)
        previous, self.grid_last = self.grid_last, grid
        tol = grid - 0.0
        if abs(tol) > p.tolerance_w:
            self.in_tol = 0
        else:
            self.in_tol += 1
        flipped = (
            abs(previous) > 2 * p.tolerance_w
            and previous != 0
            and abs(grid) >= p.direction_reset_w
            and (grid >= 0) != (previous >= 0)
        )
        reset_write = None
        if flipped:
            reset_write = self._reset()
            new = 0.0
        elif abs(tol) > p.tolerance_w:
            new = self.calc_last + self._pid_step(grid)
        elif tol != 0 and self.in_tol > 0 and self.in_tol % p.finetune_every == 0:
            new = self.calc_last - tol
        else:
            self.pid_steps = 0
            self._set_power(self.calc_last, time_s)
            return None
        new = _clamp(round(new, -1), -self.max_discharge_w, self.max_charge_w)
        skip = self.gap_cnt > p.gap_count and self.gap_cnt % p.gap_every != 0
        if new < 0 and time_s - self.last_charge_time <= p.discharge_block_s:
            new = 0.0
            self.pid_steps = 0
        write = None if skip else self._publish(new)
        self._set_power(new, time_s)
        return write if write is not None else reset_write


@dataclass(frozen=True)
class OpenDtuParams:
    """OpenDTU-OnBattery defaults (``include/defaults.h``) relevant to one battery unit."""

    target_w: float = 0.0
    hysteresis_w: float = 0.0
    lower_limit_w: float = 10.0  # discharge: below -> standby
    meter_after_stats_s: float = 2.0  # meter reading newer than the stats + 2 s
    charger_lower_limit_w: float = 150.0  # grid-charger auto power: below -> 0 A
    charger_efficiency: float = 0.95  # error scaled by the PSU-reported efficiency
    charger_block_s: float = 5.0  # 2 x 2.5 s data interval after each charger setpoint


class OpenDtuDpl(Baseline):
    """OpenDTU-OnBattery dynamic power limiter, applied to one bidirectional unit.

    Discharge side (DPL): a calculation runs only when the unit reported statistics newer than
    its last command and the meter sample arrived at least 2 s after the first such statistics
    (the gateway reports every second, so "the latest statistics + 2 s" would never pass); then
    ``desired = measured output + grid - target``; a change smaller than the hysteresis is
    skipped (default 0: every change is sent), below the lower limit (10 W) the unit goes to
    standby. Charge side (grid-charger "auto power"): the same step with the error scaled by
    the charger efficiency, 0 below 150 W, and no new charge setpoint for 5 s after one. The two
    exclude each other (never both), which a single bidirectional unit gives by itself.
    """

    def __init__(
        self, max_charge_w: float, max_discharge_w: float, params: OpenDtuParams | None = None
    ) -> None:
        super().__init__(max_charge_w, max_discharge_w)
        self.p = params or OpenDtuParams()
        self.command = 0.0
        self.command_time = -1e9
        self.confirmed_at: float | None = None  # first statistics newer than the command
        self.measured_w = 0.0

    def observe_battery(self, time_s: float, battery: BatteryView) -> None:
        self.measured_w = battery.ac_w
        if self.confirmed_at is None and time_s > self.command_time:
            self.confirmed_at = time_s

    def on_sample(self, time_s: float, sample: GridSample, clock_s: float) -> float | None:
        p = self.p
        if self.confirmed_at is None:
            return None  # waiting for statistics newer than the last command
        if time_s < self.confirmed_at + p.meter_after_stats_s:
            return None
        error = sample.grid_w - p.target_w
        charging = self.measured_w - error > 0
        if charging:
            if time_s - self.command_time < p.charger_block_s and self.command > 0:
                return None
            desired = self.measured_w - error * p.charger_efficiency
            if desired < p.charger_lower_limit_w:
                desired = 0.0
        else:
            desired = self.measured_w - error
            if -desired < p.lower_limit_w:
                desired = 0.0
        desired = float(round(self.limit(desired)))
        if desired != 0.0 and abs(desired - self.measured_w) < p.hysteresis_w:
            return None
        if desired == self.command:
            return None
        self.command, self.command_time, self.confirmed_at = desired, time_s, None
        return desired
