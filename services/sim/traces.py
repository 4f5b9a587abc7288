"""The real load and PV traces in ``bench/data`` (CC BY 4.0; credits in bench/data/README.md).

Plain Python (no numpy): the meter simulator runs in the service image, the benchmark wraps
the rows in arrays. Lines starting with ``#`` are comments; the first other line is the header.
"""

from __future__ import annotations

from bisect import bisect_right
from pathlib import Path

#: bench/data next to the source tree (mounted there in the container, see docs)
DEFAULT_TRACE_DIR = Path(__file__).resolve().parents[2] / "bench" / "data"
HOUSEHOLD = "rae_household.csv"  # t_s, watts (1 s)
PROSUMER = "cyprus_netload.csv"  # t_s, load_w, pv_w (30 s)


def read_rows(path: Path) -> list[list[float]]:
    """CSV body (after '#' comments and the header row) as rows of floats."""
    lines = path.read_text().splitlines()
    rows = [line for line in lines if line and not line.startswith("#")][1:]
    return [[float(v) for v in row.split(",")] for row in rows]


def interpolate(times: list[float], values: list[float], t: float) -> float:
    """Linear interpolation, clamped at both ends (like numpy.interp)."""
    if t <= times[0]:
        return values[0]
    if t >= times[-1]:
        return values[-1]
    i = bisect_right(times, t)
    t0, t1 = times[i - 1], times[i]
    return values[i - 1] + (values[i] - values[i - 1]) * (t - t0) / (t1 - t0)
