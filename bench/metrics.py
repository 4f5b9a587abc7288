"""Quality metrics of a grid-power trace against the perfect-foresight bound (pure numpy).

Avoidable import/export = the run's import/export minus the oracle's on the same house trace
from the same SoC; band crossings/h (+-20 W hysteresis); p95-p5 of grid power; setpoint
writes/h; max overshoot = the largest opposite-sign grid excursion within 60 s after a
>= 300 W load/PV step that hit a regulated grid (|grid| < 50 W in the 5 s before).
"""

from __future__ import annotations

import numpy as np

SETTLED_HOUSE_W = 100.0


def step_events(house_w: np.ndarray, dt: float) -> list[tuple[int, int]]:
    """(index, sign) of >= 300 W changes within 2 s, at least 10 s apart."""
    per_s = round(1 / dt)
    net = house_w[::per_s]
    change = net[2:] - net[:-2]
    events: list[tuple[int, int]] = []
    last = -(10**9)
    for k in np.flatnonzero(np.abs(change) >= 300):
        if k - last >= 10:
            events.append(((int(k) + 2) * per_s, int(np.sign(change[k]))))
            last = int(k)
    return events


def max_overshoot(
    grid: np.ndarray, house: np.ndarray, events: list[tuple[int, int]], dt: float
) -> float:
    """Largest opposite-sign grid excursion after a step that hit a regulated grid.

    The window runs up to 60 s after the step, but ends earlier at the next step event or as
    soon as the house itself moves more than ``SETTLED_HOUSE_W`` away from its level just
    after the step (a cloud ramp or the next appliance is a new disturbance, not overshoot).
    """
    window, pre, after = round(60 / dt), round(5 / dt), round(2 / dt)
    worst = 0.0
    for n, (index, sign) in enumerate(events):
        if index < pre or np.max(np.abs(grid[index - pre : index])) >= 50:
            continue
        end = min(index + window, events[n + 1][0] if n + 1 < len(events) else len(grid))
        level = house[min(index + after, len(house) - 1)]
        moved = np.flatnonzero(np.abs(house[index + after : end] - level) > SETTLED_HOUSE_W)
        if len(moved):
            end = index + after + int(moved[0])
        worst = max(worst, float(np.max(-sign * grid[index:end], initial=0.0)))
    return worst


def band_crossings(grid: np.ndarray, band_w: float = 20.0) -> int:
    state = np.where(grid > band_w, 1, np.where(grid < -band_w, -1, 0))
    outside = state[state != 0]
    return int(np.count_nonzero(np.diff(outside)))


def metrics(
    grid: np.ndarray, oracle: np.ndarray, house: np.ndarray, writes: int, dt: float
) -> dict[str, float]:
    hours = len(grid) * dt / 3600
    to_wh = dt / 3600
    imp = float(np.clip(grid, 0, None).sum() * to_wh)
    exp = float(np.clip(-grid, 0, None).sum() * to_wh)
    o_imp = float(np.clip(oracle, 0, None).sum() * to_wh)
    o_exp = float(np.clip(-oracle, 0, None).sum() * to_wh)
    p5, p95 = np.percentile(grid, [5, 95])
    return {
        "hours": hours,
        "import_wh": imp,
        "export_wh": exp,
        "avoidable_import_wh": imp - o_imp,
        "avoidable_export_wh": exp - o_exp,
        "avoidable_total_wh": imp + exp - o_imp - o_exp,
        "band_crossings_per_h": band_crossings(grid) / hours,
        "p95_p5_w": float(p95 - p5),
        "writes": float(writes),
        "writes_per_h": writes / hours,
        "max_overshoot_w": max_overshoot(grid, house, step_events(house, dt), dt),
    }


SUMMED = ("hours", "import_wh", "export_wh", "avoidable_import_wh", "avoidable_export_wh",
          "avoidable_total_wh", "writes")  # fmt: skip


def combine(rows: list[dict[str, float]]) -> dict[str, float]:
    """Several days as one: energies and writes summed, rates over the summed hours,
    overshoot the worst, p95-p5 the worst day's."""
    out = {key: float(sum(r[key] for r in rows)) for key in SUMMED}
    hours = out["hours"]
    out["writes_per_h"] = out["writes"] / hours
    out["band_crossings_per_h"] = sum(r["band_crossings_per_h"] * r["hours"] for r in rows) / hours
    out["p95_p5_w"] = max(r["p95_p5_w"] for r in rows)
    out["max_overshoot_w"] = max(r["max_overshoot_w"] for r in rows)
    return out
