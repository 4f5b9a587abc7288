"""State of charge estimated from the battery voltage with a user table (pure).

The table maps SoC percent to the battery's resting voltage, as in the ``Cap2V/<pct>=<volt>``
lines of earlier BIC bridges. It can be written as a mapping (``{0: 46.0, 50: 51.2,
100: 54.0}``) or as such lines (``["Cap2V/0=46.0", "Cap2V/100=54.0"]``). Voltages must rise
with the percentage. Between points the SoC is interpolated linearly; outside the table it is
clamped to the first/last percentage.

A voltage only says something about the SoC at rest (no large current): callers feed a reading
only while the battery power is small (see ``BatteryProtection``).
"""

from __future__ import annotations

import re
from bisect import bisect_left

_LINE = re.compile(r"^\s*(?:cap2v/)?\s*(\d+(?:\.\d+)?)\s*=\s*(\d+(?:\.\d+)?)\s*$", re.IGNORECASE)


def parse_table(
    raw: dict[float | str, float | str] | list[str] | None,
) -> tuple[tuple[float, float], ...]:
    """(percent, volt) points sorted by percent; ValueError with a readable reason."""
    if raw is None:
        return ()
    points: dict[float, float] = {}
    if isinstance(raw, dict):
        items = [(float(k), float(v)) for k, v in raw.items()]
    elif isinstance(raw, list):
        items = []
        for line in raw:
            match = _LINE.match(str(line))
            if match is None:
                raise ValueError(f"{line!r} is not 'Cap2V/<pct>=<volt>'")
            items.append((float(match.group(1)), float(match.group(2))))
    else:
        raise ValueError("must be a mapping percent: volt or a list of 'Cap2V/<pct>=<volt>'")
    for pct, volt in items:
        if not 0.0 <= pct <= 100.0:
            raise ValueError(f"percent {pct:g} is outside 0..100")
        if not 0.0 < volt < 1000.0:
            raise ValueError(f"voltage {volt:g} V for {pct:g} % is not plausible")
        if pct in points:
            raise ValueError(f"percent {pct:g} appears twice")
        points[pct] = volt
    table = tuple(sorted(points.items()))
    if len(table) == 1:
        raise ValueError("needs at least two points")
    for (p1, v1), (p2, v2) in zip(table, table[1:], strict=False):
        if v2 <= v1:
            raise ValueError(f"voltage must rise with SoC: {p1:g} %={v1:g} V, {p2:g} %={v2:g} V")
    return table


def soc_from_voltage(table: tuple[tuple[float, float], ...], voltage_v: float) -> float | None:
    """Interpolated SoC percent for a resting voltage; None without a table."""
    if not table:
        return None
    volts = [v for _, v in table]
    if voltage_v <= volts[0]:
        return table[0][0]
    if voltage_v >= volts[-1]:
        return table[-1][0]
    i = bisect_left(volts, voltage_v)
    (p1, v1), (p2, v2) = table[i - 1], table[i]
    return p1 + (p2 - p1) * (voltage_v - v1) / (v2 - v1)
