"""How the charge controller copes with a meter whose delay differs from `meter_latency_s`.

Run from the repo root: ``python -m bench.meter_latency`` (``make bench-latency``; part of
``make bench``). The closed-loop simulation of ``bench.closed_loop`` (the service's meter
parsing, control law and supervisor against the simulated BIC plant), on a made-up house:
700 W for 15 minutes, then 1,500 W for 15 minutes, a meter sample every second, four meter
phases. Each row: the meter's real delay, the delay the controller is told
(``control.meter_latency_s``), how far the grid swings once settled (peak to peak over the
last 7.5 minutes before and after the step, the larger) and how many writes the 30 minutes
took. A swing of more than a few watts is a limit cycle: the law answering its own writes.

Writes ``bench/results/meter_latency.json``; docs/charge-controller.md quotes the table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bench.bic import format_rows, write_result
from bench.closed_loop import DT_S, House, simulate
from bench.strategies import CONTROL, Supervised

RESULTS = Path(__file__).parent / "results" / "meter_latency.json"
DEFAULT_LATENCY_S = CONTROL.meter_latency_s
REAL_DELAYS_S = (0.5, 1.0, 2.0, 3.0)
SEEDS = (0, 1, 2, 3)
HALF_S = 900
HOUSE_W = (700.0, 1500.0)  # the first half, the second
METER_PERIOD_S = 1.0


def house(seed: int, half_s: int = HALF_S) -> House:
    net = np.full(2 * half_s, HOUSE_W[0])
    net[half_s:] = HOUSE_W[1]
    return House(net, start_soc=0.6, seed=seed)


def swing_w(grid: np.ndarray, half_s: int = HALF_S) -> float:
    """Peak-to-peak grid power over the second half of each half of the run, the larger."""
    per_s = round(1 / DT_S)
    quarter = half_s // 2 * per_s
    before = grid[half_s * per_s - quarter : half_s * per_s]
    after = grid[-quarter:]
    return float(max(np.ptp(before), np.ptp(after)))


def run_case(real_s: float, told_s: float, seeds=SEEDS, half_s: int = HALF_S) -> dict:
    """One row: the swing and the writes for each meter phase."""
    params = CONTROL.model_copy(update={"meter_latency_s": told_s})
    swings, writes = [], []
    for seed in seeds:
        trace = simulate(
            house(seed, half_s), Supervised(params), METER_PERIOD_S, meter_latency_s=real_s
        )
        swings.append(round(swing_w(trace.grid_w, half_s), 1))
        writes.append(len(trace.write_steps))
    return {"real_s": real_s, "told_s": told_s, "swing_w": swings, "writes": writes}


def run(delays=REAL_DELAYS_S) -> dict:
    cases = [run_case(real, DEFAULT_LATENCY_S) for real in delays]
    cases += [run_case(real, real) for real in delays if real != DEFAULT_LATENCY_S]
    return {"house_w": list(HOUSE_W), "minutes": 2 * HALF_S / 60, "cases": cases}


def table(result: dict) -> str:
    rows = [("real delay / told", "grid swing peak to peak (W), per phase; writes")]
    for c in result["cases"]:
        swings = ", ".join(f"{s:.0f}" for s in c["swing_w"])
        writes = ", ".join(str(w) for w in c["writes"])
        rows.append((f"{c['real_s']:.1f} s / {c['told_s']:.1f} s", f"{swings}; {writes}"))
    return format_rows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.meter_latency", description=__doc__)
    parser.parse_args(argv)
    result = run()
    write_result(RESULTS, result, table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
