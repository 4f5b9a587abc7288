"""The ranges a device reading must fall in to be believed (pure, declarative).

A value outside its range is treated as "no value" (never clamped, never 0): a meter that
reports 10^30 W is broken or hostile, and regulating towards it would be worse than waiting for
the next reading. The bounds are far outside anything a home installation produces, so no real
reading is lost.
"""

from __future__ import annotations

import math

Bounds = tuple[float, float]

GRID_W: Bounds = (-1_000_000.0, 1_000_000.0)  # per meter source, after scale and sign
WALLBOX_W: Bounds = (-1_000_000.0, 1_000_000.0)
SOC_PCT: Bounds = (0.0, 100.0)
BATTERY_AC_W: Bounds = (-100_000.0, 100_000.0)  # the gateway's ac_power estimate
BATTERY_V: Bounds = (0.0, 200.0)  # the largest BIC-2200 model is 96 V nominal
TEMPERATURE_C: Bounds = (-60.0, 200.0)


def within(value: float | None, bounds: Bounds) -> float | None:
    """``value`` if it is a finite number inside ``bounds``, else None."""
    if value is None or not math.isfinite(value):
        return None
    low, high = bounds
    return value if low <= value <= high else None
