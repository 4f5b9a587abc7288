"""Which registers to poll when, as data plus pure logic with explicit ``now``.

Every poll request holds the unit for the manual's 20 ms request period, and a setpoint that
arrives in that window has to wait for it. So the schedule polls each register only as often as
someone needs it (docs/bic2200.md, "Polling"):

* measurements, every ``poll_interval_s`` (1 s): battery voltage and current, i.e. the power the
  controller, the energy counters and dashboards follow;
* status, every ``slow_poll_interval_s`` (10 s): faults, status, AC voltage, temperature, fans,
  operation, direction and the four setpoints. The gateway is the only writer and reads every
  write back at once, so these only change when the unit itself changes them (fault, restart);
* configuration, every ``config_poll_interval_s`` (60 s): the two words only `init_mode` changes.

An NPB charger polls its own status and configuration registers (``FAMILY_GROUPS``); registers a
unit does not answer (fans on old firmware, READ_VIN on an NPB-450/750) are ``unsupported``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PollGroup:
    name: str
    registers: tuple[str, ...]
    interval_s: float


MEASUREMENT_REGISTERS: tuple[str, ...] = ("READ_VOUT", "READ_IOUT")
STATUS_REGISTERS: tuple[str, ...] = (
    "FAULT_STATUS",
    "SYSTEM_STATUS",
    "READ_VIN",
    "READ_TEMPERATURE_1",
    "READ_FAN_SPEED_1",
    "READ_FAN_SPEED_2",
    "OPERATION",
    "DIRECTION_CTRL",
    "VOUT_SET",
    "IOUT_SET",
    "REVERSE_VOUT_SET",
    "REVERSE_IOUT_SET",
)
CONFIG_REGISTERS: tuple[str, ...] = ("SYSTEM_CONFIG", "BIDIRECTIONAL_CONFIG")
#: an NPB charger: no fans, direction, discharge setpoints or BIDIRECTIONAL_CONFIG; its charger
#: status and CURVE_CONFIG instead (CURVE_CONFIG CUVE decides whether setpoints act)
NPB_STATUS_REGISTERS: tuple[str, ...] = (
    "FAULT_STATUS",
    "SYSTEM_STATUS",
    "CHG_STATUS",
    "READ_VIN",
    "READ_TEMPERATURE_1",
    "OPERATION",
    "VOUT_SET",
    "IOUT_SET",
)
NPB_CONFIG_REGISTERS: tuple[str, ...] = ("SYSTEM_CONFIG", "CURVE_CONFIG")
FAMILY_GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "bic": (STATUS_REGISTERS, CONFIG_REGISTERS),
    "npb": (NPB_STATUS_REGISTERS, NPB_CONFIG_REGISTERS),
}


def poll_groups(
    measurement_s: float, status_s: float, config_s: float, family: str = "bic"
) -> tuple[PollGroup, ...]:
    status, config = FAMILY_GROUPS[family]
    return (
        PollGroup("measurements", MEASUREMENT_REGISTERS, measurement_s),
        PollGroup("status", status, status_s),
        PollGroup("configuration", config, config_s),
    )


@dataclass
class PollScheduler:
    groups: tuple[PollGroup, ...]
    unsupported: set[str] = field(default_factory=set)  # e.g. fans on old firmware
    _next: dict[str, float] = field(default_factory=dict)

    def due(self, now: float) -> list[str]:
        """Registers to read now (empty if nothing is due); advances the schedule."""
        registers: list[str] = []
        for group in self.groups:
            due_at = self._next.get(group.name, float("-inf"))
            if now >= due_at:
                registers += group.registers
                self._next[group.name] = _next(due_at, group.interval_s, now)
        return [r for r in registers if r not in self.unsupported]

    def reset(self) -> None:
        """Every group due at once (a unit that comes back may have been power-cycled)."""
        self._next.clear()

    def seconds_until_due(self, now: float) -> float:
        upcoming = [self._next.get(g.name, float("-inf")) for g in self.groups]
        return max(0.0, min(upcoming) - now)

    def requests_per_second(self) -> float:
        """Steady-state request rate of this schedule (for bus load)."""
        return sum(
            len([r for r in g.registers if r not in self.unsupported]) / g.interval_s
            for g in self.groups
        )


def _next(previous: float, period: float, now: float) -> float:
    """Keep a fixed cadence; after a stall, restart from now instead of bursting."""
    candidate = previous + period
    return candidate if candidate > now else now + period
