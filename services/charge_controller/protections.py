"""Battery window (SoC and voltage) and BIC temperature window, with restart hysteresis (pure).

Every limit is a latch: it trips when the value reaches the stop threshold and releases only
when the value is back past the restart threshold, so the battery does not toggle around one
value. Times are monotonic seconds passed in by the caller.

SoC comes from a BMS topic when one is configured and its value is fresh; otherwise it is
estimated from the battery voltage with the user's table (``voltage_soc``), updated only while
the battery is near rest. Voltage limits always apply (they need no table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.charge_controller.voltage_soc import parse_table, soc_from_voltage


class BatterySettings(BaseModel):
    """Battery window. SoC in percent, voltages in V at the battery terminals."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    soc_topic: str | None = Field(None, description="BMS SoC topic (percent); None = no BMS")
    soc_json_path: str | None = Field(None, description="JSON path in the SoC payload")
    soc_max_age_s: float = Field(120.0, gt=0, le=86400, description="older BMS SoC is ignored")
    min_soc_pct: float = Field(10.0, ge=0, le=100, description="stop discharging at/below")
    discharge_restart_soc_pct: float = Field(15.0, ge=0, le=100)
    max_soc_pct: float = Field(100.0, ge=0, le=100, description="stop charging at/above")
    charge_restart_soc_pct: float = Field(95.0, ge=0, le=100)
    min_voltage_v: float = Field(46.0, gt=0, le=1000, description="stop discharging at/below")
    discharge_restart_v: float = Field(48.0, gt=0, le=1000)
    max_voltage_v: float = Field(56.0, gt=0, le=1000, description="stop charging at/above")
    charge_restart_v: float = Field(54.5, gt=0, le=1000)
    voltage_soc_table: tuple[tuple[float, float], ...] = Field(
        (), description="SoC from voltage: {pct: volt} or ['Cap2V/<pct>=<volt>', ...]"
    )
    rest_power_w: float = Field(
        60.0, ge=0, le=5000, description="voltage counts as resting below this battery power"
    )

    @field_validator("voltage_soc_table", mode="before")
    @classmethod
    def _table(cls, value: Any) -> tuple[tuple[float, float], ...]:
        if isinstance(value, tuple | list) and all(isinstance(p, tuple | list) for p in value):
            value = {p[0]: p[1] for p in value}
        return parse_table(value)

    @model_validator(mode="after")
    def _hysteresis(self) -> BatterySettings:
        checks = [
            (self.min_soc_pct <= self.discharge_restart_soc_pct, "discharge_restart_soc_pct"),
            (self.charge_restart_soc_pct <= self.max_soc_pct, "charge_restart_soc_pct"),
            (self.min_soc_pct < self.max_soc_pct, "min_soc_pct < max_soc_pct"),
            (self.min_voltage_v <= self.discharge_restart_v, "discharge_restart_v"),
            (self.charge_restart_v <= self.max_voltage_v, "charge_restart_v"),
            (self.min_voltage_v < self.max_voltage_v, "min_voltage_v < max_voltage_v"),
        ]
        for ok, name in checks:
            if not ok:
                raise ValueError(f"{name}: restart thresholds must lie inside the window")
        return self


class TemperatureSettings(BaseModel):
    """BIC internal temperature window (°C)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_c: float = Field(-10.0, ge=-60, le=100, description="no power below")
    max_c: float = Field(70.0, ge=-60, le=150, description="no power above")
    hysteresis_c: float = Field(5.0, ge=0, le=50, description="restart this far inside")
    max_age_s: float = Field(120.0, gt=0, le=86400, description="older readings are unknown")

    @model_validator(mode="after")
    def _window(self) -> TemperatureSettings:
        if self.min_c + 2 * self.hysteresis_c >= self.max_c:
            raise ValueError("min_c + 2 * hysteresis_c must be below max_c")
        return self


@dataclass
class Latch:
    """Blocks at ``stop`` and releases at ``restart``; ``low=True`` trips on falling values."""

    low: bool
    blocked: bool = False

    def update(self, value: float, stop: float, restart: float) -> bool:
        if self.low:
            if value <= stop:
                self.blocked = True
            elif value >= restart:
                self.blocked = False
        else:
            if value >= stop:
                self.blocked = True
            elif value <= restart:
                self.blocked = False
        return self.blocked


@dataclass(frozen=True)
class Permission:
    """What the protections allow right now, with the reasons for anything refused."""

    charge: bool = True
    discharge: bool = True
    reasons: tuple[str, ...] = ()


@dataclass
class SocReading:
    value: float
    time: float
    source: str


@dataclass
class BatteryProtection:
    settings: BatterySettings
    bms_soc: SocReading | None = None
    voltage_soc: SocReading | None = None
    voltage_v: float | None = None
    _soc_low: Latch = field(default_factory=lambda: Latch(low=True))
    _soc_high: Latch = field(default_factory=lambda: Latch(low=False))
    _volt_low: Latch = field(default_factory=lambda: Latch(low=True))
    _volt_high: Latch = field(default_factory=lambda: Latch(low=False))

    def record_bms_soc(self, now: float, soc_pct: float) -> None:
        if 0.0 <= soc_pct <= 100.0:
            self.bms_soc = SocReading(soc_pct, now, "bms")

    def record_battery(self, now: float, voltage_v: float, power_w: float | None) -> None:
        """Battery voltage (and AC/DC power, to know whether it is at rest)."""
        self.voltage_v = voltage_v
        resting = power_w is not None and abs(power_w) <= self.settings.rest_power_w
        estimate = soc_from_voltage(self.settings.voltage_soc_table, voltage_v)
        if estimate is not None and (resting or self.voltage_soc is None):
            self.voltage_soc = SocReading(estimate, now, "voltage")
        s = self.settings
        self._volt_low.update(voltage_v, s.min_voltage_v, s.discharge_restart_v)
        self._volt_high.update(voltage_v, s.max_voltage_v, s.charge_restart_v)

    def soc(self, now: float) -> SocReading | None:
        """BMS SoC if fresh, else the voltage estimate, else None."""
        bms = self.bms_soc
        if bms is not None and now - bms.time <= self.settings.soc_max_age_s:
            return bms
        return self.voltage_soc

    def evaluate(self, now: float) -> Permission:
        s = self.settings
        charge, discharge, reasons = True, True, []
        soc = self.soc(now)
        if soc is not None:
            if self._soc_low.update(soc.value, s.min_soc_pct, s.discharge_restart_soc_pct):
                discharge = False
                reasons.append(
                    f"SoC {soc.value:.0f} % ({soc.source}) reached min {s.min_soc_pct:g} %: "
                    f"no discharge until {s.discharge_restart_soc_pct:g} %"
                )
            if self._soc_high.update(soc.value, s.max_soc_pct, s.charge_restart_soc_pct):
                charge = False
                reasons.append(
                    f"SoC {soc.value:.0f} % ({soc.source}) reached max {s.max_soc_pct:g} %: "
                    f"no charge until {s.charge_restart_soc_pct:g} %"
                )
        if self.voltage_v is not None:
            if self._volt_low.blocked:
                discharge = False
                reasons.append(
                    f"battery {self.voltage_v:.2f} V reached min {s.min_voltage_v:g} V: "
                    f"no discharge until {s.discharge_restart_v:g} V"
                )
            if self._volt_high.blocked:
                charge = False
                reasons.append(
                    f"battery {self.voltage_v:.2f} V reached max {s.max_voltage_v:g} V: "
                    f"no charge until {s.charge_restart_v:g} V"
                )
        return Permission(charge, discharge, tuple(reasons))


@dataclass
class TemperatureGuard:
    settings: TemperatureSettings
    temperature_c: float | None = None
    time: float | None = None
    _blocked: bool = False

    def record(self, now: float, temperature_c: float) -> None:
        self.temperature_c, self.time = temperature_c, now

    def evaluate(self, now: float) -> Permission:
        s, t = self.settings, self.temperature_c
        if t is None or self.time is None or now - self.time > s.max_age_s:
            return Permission(reasons=("no recent BIC temperature: window not checked",))
        if t < s.min_c or t > s.max_c:
            self._blocked = True
        elif s.min_c + s.hysteresis_c <= t <= s.max_c - s.hysteresis_c:
            self._blocked = False
        if self._blocked:
            reason = (
                f"BIC temperature {t:.0f} °C outside {s.min_c:g}..{s.max_c:g} °C "
                f"(restart inside by {s.hysteresis_c:g} °C): no power"
            )
            return Permission(False, False, (reason,))
        return Permission()
