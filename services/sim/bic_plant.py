"""Mean Well BIC-2200-48 + battery plant model with explicit time (no wall clock).

What it models (defaults from docs/protocol-bic2200.md#power-envelope and the bslib actuator
ranges):

* a power command (AC W, > 0 charge, < 0 discharge) takes effect after ``dead_time_s``;
  at that moment it is turned into a DC current at the present battery voltage, clamped to
  the current/power ratings, quantised to 0.01 A, and dropped to 0 A below the minimum
  current (the BIC cannot regulate below it, so the gateway idles instead);
* the DC current follows that target with a first-order lag ``time_constant_s``;
* conversion losses ``loss_fixed_w + loss_fraction * |P_dc|`` (about 93 % at 75 % load);
* a battery with capacity, state of charge, linear open-circuit voltage and internal
  resistance; charging stops at ``max_soc`` and discharging at ``min_soc`` (BMS cut-off).

AC power is signed like the controller's setpoints: > 0 drawn from the grid (charging).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class BicPlantParams:
    dead_time_s: float = 1.0
    time_constant_s: float = 1.5
    current_step_a: float = 0.01
    min_current_a: float = 0.45
    max_charge_current_a: float = 45.0
    max_discharge_current_a: float = 38.3
    max_charge_dc_w: float = 2160.0
    max_discharge_dc_w: float = 1800.0
    loss_fixed_w: float = 10.0
    loss_fraction: float = 0.055
    capacity_wh: float = 5120.0
    min_soc: float = 0.05
    max_soc: float = 0.95
    empty_voltage_v: float = 48.0
    full_voltage_v: float = 54.0
    internal_resistance_ohm: float = 0.02

    def __post_init__(self) -> None:
        if self.dead_time_s < 0 or self.time_constant_s < 0:
            raise ValueError("dead time and time constant must be >= 0")
        if self.capacity_wh <= 0 or not 0 <= self.min_soc < self.max_soc <= 1:
            raise ValueError("need capacity > 0 and 0 <= min_soc < max_soc <= 1")
        if not 0 <= self.loss_fraction < 1 or self.loss_fixed_w < 0:
            raise ValueError("loss_fraction must be in [0, 1) and loss_fixed_w >= 0")
        if self.current_step_a <= 0 or self.full_voltage_v < self.empty_voltage_v:
            raise ValueError("current step must be > 0 and full voltage >= empty voltage")

    def open_circuit_voltage(self, soc: float) -> float:
        return self.empty_voltage_v + (self.full_voltage_v - self.empty_voltage_v) * soc

    def dc_from_ac(self, ac_w: float) -> float:
        """DC battery power (W, + into the battery) that gives ``ac_w`` on the grid side."""
        if ac_w > 0:
            return max(0.0, (ac_w - self.loss_fixed_w) / (1 + self.loss_fraction))
        if ac_w < 0:
            return (ac_w - self.loss_fixed_w) / (1 - self.loss_fraction)
        return 0.0

    def ac_from_dc(self, dc_w: float) -> float:
        """Grid-side AC power for a DC battery power (losses always drawn from the grid)."""
        if dc_w == 0:
            return 0.0
        return dc_w + self.loss_fixed_w + self.loss_fraction * abs(dc_w)

    def max_dc_w(self, voltage_v: float, charging: bool) -> float:
        if charging:
            return min(self.max_charge_dc_w, self.max_charge_current_a * voltage_v)
        return min(self.max_discharge_dc_w, self.max_discharge_current_a * voltage_v)


class BicPlant:
    """Step it with ``step(dt)``; command it with ``command(ac_w)`` at the current time."""

    def __init__(self, params: BicPlantParams | None = None, soc: float = 0.5) -> None:
        self.params = params or BicPlantParams()
        if not 0.0 <= soc <= 1.0:
            raise ValueError("soc must be within [0, 1]")
        self.time_s = 0.0
        self.soc = soc
        self.current_a = 0.0
        self.target_current_a = 0.0
        self.commands = 0
        self._pending: deque[tuple[float, float]] = deque()
        self._alpha_dt = -1.0
        self._alpha = 1.0

    @property
    def voltage_v(self) -> float:
        p = self.params
        return p.open_circuit_voltage(self.soc) + p.internal_resistance_ohm * self.current_a

    @property
    def dc_power_w(self) -> float:
        return self.voltage_v * self.current_a

    @property
    def ac_power_w(self) -> float:
        return self.params.ac_from_dc(self.dc_power_w)

    def command(self, ac_w: float) -> None:
        """Queue a power setpoint; it takes effect ``dead_time_s`` from now."""
        self.commands += 1
        self._pending.append((self.time_s + self.params.dead_time_s, ac_w))

    def current_for(self, ac_w: float) -> float:
        """DC current the BIC would regulate to for ``ac_w`` at the present voltage."""
        p = self.params
        voltage = p.open_circuit_voltage(self.soc)
        dc_w = p.dc_from_ac(ac_w)
        dc_w = max(-p.max_dc_w(voltage, False), min(p.max_dc_w(voltage, True), dc_w))
        amps = round(dc_w / voltage / p.current_step_a) * p.current_step_a
        return 0.0 if abs(amps) < p.min_current_a else amps

    def step(self, dt: float) -> None:
        """Advance the model by ``dt`` seconds."""
        if dt <= 0:
            raise ValueError("dt must be > 0")
        p = self.params
        pending = self._pending
        while pending and pending[0][0] <= self.time_s + 1e-9:
            self.target_current_a = self.current_for(pending.popleft()[1])
        target = self.target_current_a
        if (target > 0 and self.soc >= p.max_soc) or (target < 0 and self.soc <= p.min_soc):
            target = 0.0
        if dt != self._alpha_dt:
            self._alpha_dt = dt
            tau = p.time_constant_s
            self._alpha = 1.0 if tau == 0 else 1.0 - math.exp(-dt / tau)
        current = self.current_a + self._alpha * (target - self.current_a)
        if abs(current - target) < 0.005:
            current = target
        self.current_a = current
        energy_wh = self.dc_power_w * dt / 3600.0
        self.soc = min(1.0, max(0.0, self.soc + energy_wh / p.capacity_wh))
        self.time_s += dt
