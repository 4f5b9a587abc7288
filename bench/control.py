"""Whole-day closed-loop benchmark of charge-control strategies on a BIC-2200 plant.

Run from the repo root:

* ``python -m bench.control`` -- every day of ``bench/dayset.py`` (tuning and test set), both
  meter periods; writes ``bench/results/control.json``, ``control.md`` and a plot per day
  (``bench/results/days/<day>.png``); prints the goals met and not met.
* ``--quick`` -- 90 minutes (10:00-11:30) of each run's first day, no plots.
* ``--trace FILE.csv --out RESULT.json`` -- every strategy on your own trace (``t_s,net_w``,
  one row per second, see ``bench/trace_csv.py``), from ``--soc`` (default 0.5).
* ``--tune`` -- a reproducible grid search of a few ``ControlParams`` on the tuning set only.
* ``--strict`` -- exit 1 when a goal is missed (default: report "GOAL NOT MET", exit 0).

Simulation: ``bench/closed_loop.py`` (meter model, gateway polls, ``services.sim.bic_plant``);
strategies: ``bench/strategies.py`` and ``bench/baselines.py``; metrics: ``bench/metrics.py``.
Data credits: ``bench/data/README.md`` and the ``#`` header of each day file.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench import dayset
from bench.closed_loop import DT_S, METER_LATENCY_S, House, oracle_grid, simulate
from bench.goals import check_goals
from bench.metrics import combine, metrics
from bench.report import (
    format_table,
    markdown_days,
    markdown_goals,
    markdown_summary,
    plot_day,
)
from bench.strategies import CONTROL, OURS, PLANT, STRATEGY_NAMES, factories
from bench.trace_csv import TraceError, read_trace
from services.charge_controller.control_law import ControlParams

RESULTS_DIR = Path(__file__).parent / "results"
METER_PERIODS_S = (1.0, 5.0)
DAY_S = 86400
QUICK_WINDOW_S = (10 * 3600, 11 * 3600 + 1800)
PLOT_EVERY_S = 10


@dataclass(frozen=True)
class Segments:
    """A house trace and the named days (start, end seconds) it is reported by."""

    house: House
    days: tuple[tuple[str, int, int], ...]


#: key -> segments; filled before the worker pool forks, so workers see it too
HOUSES: dict[str, Segments] = {}
_ORACLES: dict[tuple[str, float], np.ndarray] = {}


def run_segments(run: dayset.Run, quick: bool = False) -> Segments:
    days, parts = [], []
    for k, name in enumerate(run.days[:1] if quick else run.days):
        trace = read_trace(dayset.day_path(name))
        net = np.asarray(trace.net_w, dtype=float)
        if quick:
            net = net[QUICK_WINDOW_S[0] : QUICK_WINDOW_S[1]]
        parts.append(net)
        days.append((name, k * DAY_S, k * DAY_S + len(net)))
    start_clock = QUICK_WINDOW_S[0] if quick else 0
    seed = sum(ord(c) for c in run.name)
    house = House(np.concatenate(parts), start_clock, run.start_soc, seed)
    return Segments(house, tuple(days))


def trace_segments(path: Path, soc: float) -> Segments:
    trace = read_trace(path)
    net = np.asarray(trace.net_w, dtype=float)
    house = House(net, trace.start_s % DAY_S, soc, 1)
    name = path.name.removesuffix(".gz").removesuffix(".csv")
    return Segments(house, ((name, 0, len(net)),))


def _oracle(key: str, dt: float) -> np.ndarray:
    if (key, dt) not in _ORACLES:
        _ORACLES[(key, dt)] = oracle_grid(HOUSES[key].house, dt)
    return _ORACLES[(key, dt)]


def _means(values: np.ndarray, per: int) -> np.ndarray:
    n = len(values) // per * per
    return values[:n].reshape(-1, per).mean(axis=1)


@dataclass(frozen=True)
class Job:
    key: str
    period: float
    strategy: str
    params: ControlParams = CONTROL
    plot: bool = False
    dt: float = DT_S


def run_job(job: Job) -> tuple[Job, dict[str, dict[str, float]], dict[str, dict[str, np.ndarray]]]:
    """One strategy on one house trace at one meter period: metrics (and plot data) per day."""
    segments = HOUSES[job.key]
    house, dt = segments.house, job.dt
    per_s = round(1 / dt)
    net = house.at(dt)
    oracle = _oracle(job.key, dt)
    if job.strategy == "no_battery":
        grid, writes = net, np.empty(0, dtype=np.int64)
        trace = None
    else:
        trace = simulate(house, factories(job.params)[job.strategy](), job.period, dt)
        grid, writes = trace.grid_w, trace.write_steps
    rows: dict[str, dict[str, float]] = {}
    plots: dict[str, dict[str, np.ndarray]] = {}
    for name, start_s, end_s in segments.days:
        a, b = start_s * per_s, end_s * per_s
        count = int(np.count_nonzero((writes >= a) & (writes < b)))
        rows[name] = metrics(grid[a:b], oracle[a:b], net[a:b], count, dt)
        if job.plot and trace is not None:
            per = PLOT_EVERY_S * per_s
            plots[name] = {
                "house_w": _means(net[a:b], per),
                "grid_w": _means(grid[a:b], per),
                "battery_w": _means(trace.battery_w[a:b], per),
                "setpoint_w": _means(trace.setpoint_w[a:b], per),
                "soc": _means(trace.soc[a:b], per),
            }
    return job, rows, plots


def run_jobs(jobs: list[Job], workers: int) -> list:
    # longest first (runs with more days, then ours), so two workers finish together
    ordered = sorted(
        jobs, key=lambda j: (-len(HOUSES[j.key].house.net_w), j.strategy != OURS, j.period)
    )
    if workers <= 1 or len(ordered) <= 1:
        return [run_job(j) for j in ordered]
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        return list(pool.imap_unordered(run_job, ordered))


PerDay = dict[str, dict[str, dict[str, dict[str, float]]]]


def collect(done: list) -> tuple[PerDay, dict[str, dict[str, np.ndarray]]]:
    """period -> day -> strategy -> metrics (strategies in STRATEGY_NAMES order), plots."""
    per_day: PerDay = {}
    plots: dict[str, dict[str, np.ndarray]] = {}
    for job, rows, job_plots in done:
        period = f"{job.period:g}s"
        for day, row in rows.items():
            per_day.setdefault(period, {}).setdefault(day, {})[job.strategy] = row
        plots.update(job_plots)
    ordered: PerDay = {}
    for period in sorted(per_day, key=lambda p: float(p[:-1])):
        ordered[period] = {
            day: {s: table[s] for s in STRATEGY_NAMES if s in table}
            for day, table in per_day[period].items()
        }
    return ordered, plots


def summed(per_day: PerDay, days: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """period -> strategy -> metrics over the given days (the JSON's ``results`` schema)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for period, by_day in per_day.items():
        names = list(by_day[days[0]])
        out[period] = {n: combine([by_day[d][n] for d in days]) for n in names}
    return out


def workers_default() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def setup(params: ControlParams, dt: float) -> dict[str, object]:
    return {
        "dt_s": dt,
        "meter_periods_s": list(METER_PERIODS_S),
        "meter_latency_s": METER_LATENCY_S,
        "plant": PLANT.__dict__,
        "controller": params.model_dump(),
        "controller_runs_as": "services.charge_controller.supervisor.Supervisor "
        "(meter watchdog, battery protections from voltage readings, limits, control law)",
    }


def goal_lines(goals) -> list[str]:
    lines = []
    for g in goals:
        state = "met" if g.met else "GOAL NOT MET"
        lines.append(f"  [{g.period}] {g.goal}: {state} -- {g.detail}")
    return lines


def main_days(args: argparse.Namespace) -> int:
    dt = args.dt
    for run in dayset.RUNS:
        HOUSES[run.name] = run_segments(run, args.quick)
    periods = METER_PERIODS_S
    jobs = [
        Job(run.name, p, s, CONTROL, plot=(s == OURS and p == periods[0] and not args.quick), dt=dt)
        for run in dayset.RUNS
        for p in periods
        for s in STRATEGY_NAMES
    ]
    began = time.monotonic()
    per_day, plots = collect(run_jobs(jobs, args.jobs))
    elapsed = time.monotonic() - began
    split_days = {
        split: [d for r in dayset.runs(split) for d in (r.days[:1] if args.quick else r.days)]
        for split in dayset.SPLITS
    }
    results = {split: summed(per_day, days) for split, days in split_days.items()}
    goals = check_goals(per_day, split_days["test"])
    holdout_goals = check_goals(per_day, split_days["holdout"])
    tuning_goals = check_goals(per_day, split_days["tuning"])
    label = "quick 90 min slices" if args.quick else "whole days"
    print(f"{label}, dt {dt} s, {len(jobs)} simulations in {elapsed:.0f} s, {args.jobs} worker(s)")
    for split in dayset.SPLITS:
        print(f"\n== {split} set ({', '.join(split_days[split])}), summed ==")
        print(format_table(results[split]))
    print("\nGoals on the test set:")
    print("\n".join(goal_lines(goals)))
    print("\nThe same goals on the hold-out set:")
    print("\n".join(goal_lines(holdout_goals)))
    report = {
        "setup": {
            **setup(CONTROL, dt),
            "quick": args.quick,
            "runs": [
                {"name": r.name, "split": r.split, "start_soc": r.start_soc, "days": list(r.days)}
                for r in dayset.RUNS
            ],
            "data": "see bench/data/README.md (RAE, Cyprus: CC BY 4.0; CREST via richardsonpy, "
            "BDEW H25 via demandlib, pvlib clear sky x DWD TRY 2010 cloud index)",
        },
        "results": results["test"],
        "tuning_results": results["tuning"],
        "holdout_results": results["holdout"],
        "per_day": per_day,
        "goals": [g.as_dict() for g in goals],
        "tuning_goals": [g.as_dict() for g in tuning_goals],
        "holdout_goals": [g.as_dict() for g in holdout_goals],
        "goal_met": all(g.met for g in goals),
        "runtime_s": elapsed,
    }
    out_dir = RESULTS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    name = "control_quick" if args.quick else "control"
    (out_dir / f"{name}.json").write_text(json.dumps(report, indent=1) + "\n")
    md = [f"# Charge-control benchmark ({label})", ""]
    for split in ("test", "holdout", "tuning"):
        md += ["", markdown_summary(results[split], f"{split} set, summed over its days")]
    md += [
        "",
        "Per day -- cells: avoidable import+export Wh / setpoint writes per hour; best in bold.",
    ]
    for split in ("test", "holdout", "tuning"):
        for period, by_day in per_day.items():
            subset = {d: by_day[d] for d in split_days[split]}
            md += ["", markdown_days(subset, f"{split} set, meter {period}")]
    md += ["", "#### Goals (test set)", "", markdown_goals(goals), ""]
    md += ["#### The same goals on the hold-out set", "", markdown_goals(holdout_goals), ""]
    (out_dir / f"{name}.md").write_text("\n".join(md))
    if plots:
        plot_dir = out_dir / "days"
        plot_dir.mkdir(exist_ok=True)
        for day, series in plots.items():
            split = next(r.split for r in dayset.RUNS if day in r.days)
            plot_day(series, plot_dir / f"{day}.png", f"{day} ({split}), meter 1 s, {OURS}")
    return finish(goals, args.strict)


def finish(goals, strict: bool) -> int:
    if all(g.met for g in goals):
        print("all goals met")
        return 0
    print("GOAL NOT MET (see above)")
    return 1 if strict else 0


def main_trace(args: argparse.Namespace) -> int:
    try:
        HOUSES["trace"] = trace_segments(Path(args.trace), args.soc)
    except TraceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    jobs = [Job("trace", p, s, dt=args.dt) for p in METER_PERIODS_S for s in STRATEGY_NAMES]
    per_day, _ = collect(run_jobs(jobs, args.jobs))
    day = HOUSES["trace"].days[0][0]
    results = summed(per_day, [day])
    print(format_table(results))
    goals = check_goals(per_day, [day])
    print("\n".join(goal_lines(goals)))
    report = {
        "setup": {**setup(CONTROL, args.dt), "trace": str(args.trace), "start_soc": args.soc},
        "results": results,
        "goals": [g.as_dict() for g in goals],
        "goal_met": all(g.met for g in goals),
    }
    out = Path(args.out) if args.out else RESULTS_DIR / "trace.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {out}")
    return finish(goals, args.strict)


#: the reproducible tuning search, only ever run on the tuning set: each stage is a grid
#: searched around the best parameters of the stages before it (coordinate descent)
#: (v0.3 stages: ramp lead, settle bypass, thresholds, in-band persistence, trim; the v0.2
#: search over gain, follow_tolerance_w, max_step_w and settle_s picked 1.0, 300, 2200, 1.5)
TUNING_STAGES: tuple[dict[str, tuple[float, ...]], ...] = (
    {"ramp_lead_s": (2.0, 3.0, 4.0), "ramp_max_w": (300.0, 600.0)},
    {"settle_bypass_w": (80.0, 150.0, 300.0), "deadband_w": (10.0, 15.0, 25.0)},
    {"min_power_w": (12.0, 25.0), "start_power_w": (25.0, 40.0), "direction_hold_s": (2.0, 5.0)},
    {"deadband_s": (15.0, 30.0, 60.0), "persist_w": (3.0, 6.0)},
    {"settled_s": (4.0, 6.0, 9.0), "follow_tolerance_w": (150.0, 300.0)},
)


def main_tune(args: argparse.Namespace) -> int:
    runs = dayset.runs("tuning")
    for run in runs:
        HOUSES[run.name] = run_segments(run, args.quick)
    days = [d for r in runs for d in (r.days[:1] if args.quick else r.days)]
    base = [Job(r.name, p, "pid_last_command", dt=args.dt) for r in runs for p in METER_PERIODS_S]
    pid = summed(collect(run_jobs(base, args.jobs))[0], days)
    best: dict[str, float] = {}
    candidates: list[dict[str, Any]] = []  # report rows (JSON)
    for stage, grid in enumerate(TUNING_STAGES, start=1):
        names = list(grid)
        trials = [
            best | dict(zip(names, values, strict=True))
            for values in itertools.product(*grid.values())
        ]
        jobs = [
            Job(r.name, p, OURS, CONTROL.model_copy(update=trial), dt=args.dt)
            for trial in trials
            for r in runs
            for p in METER_PERIODS_S
        ]
        done = run_jobs(jobs, args.jobs)
        scored: list[dict[str, Any]] = []
        for trial in trials:
            mine = [d for d in done if d[0].params == CONTROL.model_copy(update=trial)]
            ours = summed(collect(mine)[0], days)
            score = sum(t[OURS]["avoidable_total_wh"] for t in ours.values())
            within = all(
                ours[p][OURS]["writes_per_h"] <= pid[p]["pid_last_command"]["writes_per_h"]
                for p in ours
            )
            row = {**trial, "stage": stage, "avoidable_wh_1s_plus_5s": score, "writes_ok": within}
            scored.append(row)
            print(
                f"stage {stage} {trial}: avoidable {score:.0f} Wh (1 s + 5 s), writes ok {within}"
            )
        candidates += scored
        ok = [c for c in scored if c["writes_ok"]] or scored
        winner = min(ok, key=lambda c: c["avoidable_wh_1s_plus_5s"])
        best = {k: float(v) for k, v in winner.items() if k in ControlParams.model_fields}
    print(f"best on the tuning set: {best}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    report = {"tuning_days": days, "stages": TUNING_STAGES, "candidates": candidates, "best": best}
    (RESULTS_DIR / "tuning.json").write_text(json.dumps(report, indent=1) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="90 min of each run's first day")
    parser.add_argument("--trace", metavar="FILE.csv", help="run every strategy on this trace")
    parser.add_argument("--out", metavar="RESULT.json", help="with --trace: where to write")
    parser.add_argument("--soc", type=float, default=0.5, help="with --trace: start SoC 0..1")
    parser.add_argument("--tune", action="store_true", help="grid search on the tuning set")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a goal is missed")
    parser.add_argument("--jobs", type=int, default=workers_default(), help="worker processes")
    parser.add_argument("--dt", type=float, default=DT_S, help="plant step in seconds")
    args = parser.parse_args(argv)
    if not 0.0 <= args.soc <= 1.0:
        parser.error("--soc must be within 0..1")
    if args.trace:
        return main_trace(args)
    if args.tune:
        return main_tune(args)
    return main_days(args)


if __name__ == "__main__":
    sys.exit(main())
