"""Charged and discharged energy of one unit: DC power integrated over time (pure).

Trapezoidal rule between consecutive samples; a segment that crosses zero is split at the
crossing, so charging and discharging never cancel out. A gap longer than `max_gap_s` (the
unit did not answer, the gateway was busy) is not integrated: the energy of that time is
unknown, and the counters rather under-count than guess.
The gateway keeps the totals in its state file, so they continue across restarts.
"""

from __future__ import annotations

from dataclasses import dataclass

WH_PER_KWH = 1000.0
S_PER_H = 3600.0


def split_area(p0: float, p1: float, dt: float) -> tuple[float, float]:
    """(positive, negative) area in W*s of the straight line from p0 to p1 over dt seconds."""
    if p0 >= 0 and p1 >= 0:
        return (p0 + p1) / 2 * dt, 0.0
    if p0 <= 0 and p1 <= 0:
        return 0.0, -(p0 + p1) / 2 * dt
    crossing = dt * p0 / (p0 - p1)  # time of the zero crossing after the first sample
    first, second = p0 * crossing / 2, p1 * (dt - crossing) / 2
    return (first, -second) if p0 > 0 else (second, -first)


@dataclass
class EnergyCounter:
    max_gap_s: float
    charged_kwh: float = 0.0
    discharged_kwh: float = 0.0
    _last: tuple[float, float] | None = None

    def add(self, now: float, power_w: float | None) -> None:
        """One DC power sample (+ charging) at monotonic time `now`; None = not known."""
        if power_w is None:
            self._last = None
            return
        if self._last is not None:
            t0, p0 = self._last
            dt = now - t0
            if 0 < dt <= self.max_gap_s:
                pos, neg = split_area(p0, power_w, dt)
                self.charged_kwh += pos / S_PER_H / WH_PER_KWH
                self.discharged_kwh += neg / S_PER_H / WH_PER_KWH
        self._last = (now, power_w)

    def pause(self) -> None:
        """The unit stopped answering: do not integrate across the gap."""
        self._last = None

    def values(self) -> dict[str, str]:
        """Plain topic suffix -> payload (kWh, 4 decimals = 0.1 Wh)."""
        return {
            "energy_charged": f"{self.charged_kwh:.4f}",
            "energy_discharged": f"{self.discharged_kwh:.4f}",
        }
