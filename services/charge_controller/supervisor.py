"""Everything above the control law: mode, limits, protections, schedules, meter silence (pure).

The MQTT adapter feeds it readings (grid samples, gateway state, BMS SoC, wallbox power) and
calls ``tick`` about once a second; every call returns a ``Decision`` (write this setpoint or
not, and why). Times: ``now`` is monotonic seconds, ``clock`` the local wall-clock time of day
(for the schedules). Setpoints are AC watts, + charge / - discharge.

Order of precedence, highest first:

1. disabled -> safe idle;
2. meter silent / not yet back (``MeterWatchdog``) -> safe idle (manual mode excepted: it does
   not use the meter);
3. limits: the active profile's max charge/discharge, the battery unit offline or silent
   (no power), battery window (SoC, voltage), BIC temperature, EV charging (no discharge),
   discharge block after charging, mode ``hold`` (no discharge), winter floor (no discharge
   at/below its min SoC), a charge-only unit (NPB: no discharge ever);
4. manual mode -> the manual setpoint within the limits; winter forced charge -> its fixed
   power within the limits; otherwise the control law on each meter sample, within the limits.
   A setpoint outside limits that just tightened is pulled inside on the next tick.
   A charge-only unit's law setpoints are switched on/off (``charge_only.ChargeSwitch``) rather
   than asked below its large minimum current.

Every limit is evaluated afresh on every sample and tick, and the law regulates again as soon
as a limit lifts: nothing here is a state that only a configuration change can leave
(tests/charge_controller/test_control_law_properties.py states this as properties).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from services.charge_controller.charge_only import ChargeSwitch, UnitCapabilities
from services.charge_controller.control_law import ChargeController, Decision, PowerLimits
from services.charge_controller.controller_config import ControllerConfig
from services.charge_controller.ev_guard import EvGuard
from services.charge_controller.meter_input import GridSample
from services.charge_controller.meter_watchdog import MeterWatchdog
from services.charge_controller.protections import BatteryProtection, TemperatureGuard
from services.charge_controller.schedules import DischargeBlock, active_profile
from services.charge_controller.winter_mode import WinterAction, WinterMode


@dataclass(frozen=True)
class BatteryReading:
    """One gateway state: AC power (+ charging), battery voltage, BIC temperature."""

    ac_w: float | None
    voltage_v: float | None
    temperature_c: float | None


@dataclass(frozen=True)
class LimitReport:
    limits: PowerLimits
    target_w: float
    profile: str
    reasons: tuple[str, ...]
    winter: WinterAction | None


class Supervisor:
    def __init__(self, config: ControllerConfig) -> None:
        self.config = config
        self.controller = ChargeController(config.control)
        self.watchdog = MeterWatchdog(config.meter_timeout_s, config.resume_samples)
        self.protection = BatteryProtection(config.battery)
        self.temperature = TemperatureGuard(config.temperature)
        self.ev = EvGuard()
        self.winter = WinterMode()
        self.discharge_block = DischargeBlock()
        self.last_decision = Decision(None, "starting")
        self.last_limits: LimitReport | None = None
        self.grid_w: float | None = None
        self.battery_w: float | None = None
        self.battery_time: float | None = None
        self.unit_online: bool | None = None
        self.unit: UnitCapabilities | None = None  # from the gateway's `info`
        self.efficiency = 0.93  # DC<->AC, with the unit's capabilities
        self.battery_v: float | None = None
        self.switch = ChargeSwitch(config.charge_only)

    # --- configuration ------------------------------------------------------------
    def reconfigure(self, config: ControllerConfig) -> None:
        """Apply a validated runtime change; state (setpoint, latches, timers) is kept."""
        self.config = config
        self.controller.retune(config.control)
        self.watchdog.timeout_s = config.meter_timeout_s
        self.watchdog.resume_samples = config.resume_samples
        self.protection.settings = config.battery
        self.temperature.settings = config.temperature
        self.switch.params = config.charge_only

    # --- readings -----------------------------------------------------------------
    def record_battery(self, now: float, reading: BatteryReading) -> None:
        if reading.ac_w is not None:
            self.battery_w = reading.ac_w
            self.battery_time = now
            self.controller.record_battery(now, reading.ac_w)
        if reading.voltage_v is not None:
            self.battery_v = reading.voltage_v
            self.protection.record_battery(now, reading.voltage_v, reading.ac_w)
        if reading.temperature_c is not None:
            self.temperature.record(now, reading.temperature_c)

    def record_unit_online(self, online: bool) -> None:
        """The gateway's availability of the unit (``online``/``offline``)."""
        self.unit_online = online

    def record_unit_info(self, unit: UnitCapabilities, efficiency: float) -> None:
        """The gateway's `info` of the unit (retained): bidirectional or charge-only."""
        self.unit, self.efficiency = unit, efficiency

    @property
    def charge_only(self) -> bool:
        return self.unit is not None and self.unit.charge_only

    def record_soc(self, now: float, soc_pct: float) -> None:
        self.protection.record_bms_soc(now, soc_pct)

    def record_wallbox(self, now: float, payload: bytes | bytearray) -> str | None:
        return self.ev.ingest(self.config.ev, now, payload)

    # --- limits -------------------------------------------------------------------
    def limits(self, now: float, clock: time) -> LimitReport:
        cfg = self.config
        profile = active_profile(cfg.schedule, clock)
        charge, discharge = profile.max_charge_w, profile.max_discharge_w
        reasons: list[str] = [f"profile {profile.name}"]

        def refuse(what: str, reason: str) -> None:
            nonlocal charge, discharge
            if what in ("charge", "both"):
                charge = 0.0
            if what in ("discharge", "both"):
                discharge = 0.0
            reasons.append(reason)

        if self.unit_online is False:
            refuse("both", "battery unit offline: no power")
        elif self.battery_time is not None and now - self.battery_time > cfg.battery_max_age_s:
            age = now - self.battery_time
            refuse("both", f"no battery reading for {age:.0f} s: no power")
        unit = self.unit
        if unit is not None and unit.charge_only:
            refuse("discharge", f"{unit.model} is charge-only: no discharge")
        most = None if unit is None else unit.max_charge_w(self.battery_v, self.efficiency)
        if unit is not None and most is not None and most < charge:
            charge = most
            reasons.append(f"{unit.model} charges at most {most:.0f} W")
        battery = self.protection.evaluate(now)
        for reason in battery.reasons:
            reasons.append(reason)
        if not battery.charge:
            charge = 0.0
        if not battery.discharge:
            discharge = 0.0
        heat = self.temperature.evaluate(now)
        reasons.extend(heat.reasons)
        if not heat.charge:
            charge, discharge = 0.0, 0.0
        car, car_reason = self.ev.charging(cfg.ev, now)
        if car and cfg.ev.block_discharge:
            refuse("discharge", f"{car_reason}: no discharge")
        blocked = self.discharge_block.remaining_s(now, profile.discharge_block_s)
        if blocked > 0:
            refuse("discharge", f"discharge blocked {blocked:.0f} s more after charging")
        if cfg.mode == "hold":
            refuse("discharge", "mode hold: no discharge")
        winter = None
        if cfg.mode == "winter":
            soc = self.protection.soc(now)
            winter = self.winter.evaluate(
                cfg.winter,
                None if soc is None else soc.value,
                self.temperature.temperature_c,
            )
            if not winter.allow_discharge:
                refuse("discharge", winter.reason)
            else:
                reasons.append(winter.reason)
        target = cfg.control.target_w if profile.target_w is None else profile.target_w
        report = LimitReport(
            PowerLimits(charge, discharge), target, profile.name, tuple(reasons), winter
        )
        self.last_limits = report
        return report

    # --- decisions ----------------------------------------------------------------
    def _decided(self, now: float, decision: Decision) -> Decision:
        self.discharge_block.note_setpoint(now, self.controller.setpoint_w)
        self.switch.observe(now, self.controller.setpoint_w)
        if decision.writes or decision.reason != self.last_decision.reason:
            self.last_decision = decision
        return decision

    def _override(self, now: float, clock: time) -> tuple[Decision | None, LimitReport]:
        """A decision that replaces the control law right now, or None."""
        cfg = self.config
        report = self.limits(now, clock)
        if report.target_w != self.controller.params.target_w:
            self.controller.retune(
                self.controller.params.model_copy(update={"target_w": report.target_w})
            )
        if not cfg.enabled:
            return self.controller.idle(now, "disabled"), report
        low, high = -report.limits.max_discharge_w, report.limits.max_charge_w
        if cfg.mode == "manual":
            wanted = min(max(cfg.manual_setpoint_w, low), high)
            note = "" if wanted == cfg.manual_setpoint_w else f" (limited to {wanted:.0f} W)"
            return self.controller.hold(
                now, wanted, f"manual setpoint {cfg.manual_setpoint_w:.0f} W{note}"
            ), report
        health = self.watchdog.health(now)
        if not health.ok:
            return self.controller.idle(now, health.reason), report
        if report.winter is not None and report.winter.force_charge_w is not None:
            wanted = min(report.winter.force_charge_w, high)
            return self.controller.hold(now, wanted, report.winter.reason), report
        setpoint = self.controller.setpoint_w
        if not low <= setpoint <= high:
            pulled = min(max(setpoint, low), high)
            if abs(pulled) < cfg.control.min_power_w:
                pulled = 0.0
            why = "; ".join(r for r in report.reasons if not r.startswith("profile ")) or (
                f"profile {report.profile}"
            )
            return self.controller.hold(now, pulled, f"limits tightened: {why}"), report
        return None, report

    def tick(self, now: float, clock: time) -> Decision:
        """Periodic check (about 1 s): silence, disable, manual/winter, tightened limits."""
        override, _ = self._override(now, clock)
        if override is None:
            override = Decision(None, "auto: waiting for the next meter sample")
            return override
        return self._decided(now, override)

    def on_grid(self, now: float, sample: GridSample, clock: time) -> Decision:
        """A combined grid sample arrived (``now`` = its arrival time)."""
        self.grid_w = sample.grid_w
        self.watchdog.on_sample(now)
        override, report = self._override(now, clock)
        if override is not None:
            return self._decided(now, override)
        before = (self.controller.setpoint_w, self.controller.last_write_time)
        decision = self.controller.update(sample.time, sample.grid_w, limits=report.limits)
        if self.charge_only and decision.setpoint_w is not None:
            decision = self._switched(now, decision, *before)
        return self._decided(now, decision)

    def _switched(
        self, now: float, decision: Decision, before_w: float, written_at: float | None
    ) -> Decision:
        """A charge-only unit: the law's setpoint, switched rather than trickled."""
        assert self.unit is not None and decision.setpoint_w is not None
        min_w = self.unit.min_charge_w(self.battery_v, self.efficiency)
        gated, why = self.switch.gate(now, decision.setpoint_w, min_w)
        if why is None:
            return decision
        reason = f"{decision.reason}; {why}"
        if gated == before_w:  # the unit keeps what it has: no write at all
            self.controller.revert(before_w, written_at)
            return Decision(None, reason)
        return self.controller.hold(now, gated, reason)
