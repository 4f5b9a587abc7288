"""Which registers to poll when, as pure logic with explicit ``now``.

Two groups per unit: measurements every ``fast_s`` (what the controller and dashboards need) and
setpoints/configuration every ``slow_s`` (they only change when the gateway writes them, and the
gateway reads back every write anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field

FAST_REGISTERS: tuple[str, ...] = (
    "READ_VOUT",
    "READ_IOUT",
    "READ_VIN",
    "READ_TEMPERATURE_1",
    "FAULT_STATUS",
    "SYSTEM_STATUS",
    "OPERATION",
    "DIRECTION_CTRL",
)
SLOW_REGISTERS: tuple[str, ...] = (
    "VOUT_SET",
    "IOUT_SET",
    "REVERSE_VOUT_SET",
    "REVERSE_IOUT_SET",
    "SYSTEM_CONFIG",
    "BIDIRECTIONAL_CONFIG",
    "READ_FAN_SPEED_1",
    "READ_FAN_SPEED_2",
)


@dataclass
class PollScheduler:
    fast_s: float
    slow_s: float
    fast: tuple[str, ...] = FAST_REGISTERS
    slow: tuple[str, ...] = SLOW_REGISTERS
    _next_fast: float = float("-inf")
    _next_slow: float = float("-inf")
    unsupported: set[str] = field(default_factory=set)  # e.g. fans on old firmware

    def due(self, now: float) -> list[str]:
        """Registers to read now (empty if nothing is due); advances the schedule."""
        registers: list[str] = []
        if now >= self._next_fast:
            registers += self.fast
            self._next_fast = _next(self._next_fast, self.fast_s, now)
        if now >= self._next_slow:
            registers += self.slow
            self._next_slow = _next(self._next_slow, self.slow_s, now)
        return [r for r in registers if r not in self.unsupported]

    def seconds_until_due(self, now: float) -> float:
        return max(0.0, min(self._next_fast, self._next_slow) - now)

    def requests_per_second(self) -> float:
        """Steady-state request rate of this schedule (for bus load)."""
        fast = len([r for r in self.fast if r not in self.unsupported])
        slow = len([r for r in self.slow if r not in self.unsupported])
        return fast / self.fast_s + slow / self.slow_s


def _next(previous: float, period: float, now: float) -> float:
    """Keep a fixed cadence; after a stall, restart from now instead of bursting."""
    candidate = previous + period
    return candidate if candidate > now else now + period
