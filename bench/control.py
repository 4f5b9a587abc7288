"""Deterministic closed-loop benchmark of charge-control strategies on a BIC-2200 plant.

Run from the repo root: ``python -m bench.control`` (``--quick`` for a 30-minute slice).

Disturbance: the RAE 1 Hz household trace (CC BY 4.0) minus the Cyprus 30 s PV trace
(CC BY 4.0), interpolated to 1 s, scaled by ``PV_SCALE`` and overlaid with seeded fast cloud
dips; 6 simulated hours at ``DT_S`` resolution. Meter: Tasmota SML JSON payloads every 1 s or
5 s with ``METER_LATENCY_S`` delivery latency, parsed by ``meter_input``; times seen by the
strategies are arrival times. Plant: ``services.sim.bic_plant`` (same for every strategy).

Strategies: (a) no battery; (b) incremental P(ID) on its own last command (P 0.3, +-10 W
tolerance, 10 W rounding, +-400 W per step, as in earlier BIC bridges); (c) last command +
(grid - target) on every sample; (d) ``ChargeController``.

Metrics per run: import/export Wh; avoidable import/export = run minus a perfect-foresight
greedy dispatch with the same power, energy and efficiency limits (no dead time, no minimum
current, so a lower bound); band crossings/h (+-20 W hysteresis); p95-p5 of grid power;
setpoint writes/h; max overshoot (largest opposite-sign grid excursion within 60 s after a
>= 300 W load/PV step that hit a regulated grid, i.e. |grid| < 50 W in the 5 s before).

Data credits: see bench/data/README.md and the '#' header of each CSV.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.charge_controller.control_law import ChargeController, ControlParams
from services.charge_controller.meter_input import MeterConfig, MeterInput, MeterSource
from services.sim.bic_plant import BicPlant, BicPlantParams
from services.sim.traces import read_rows

DATA_DIR = Path(__file__).parent / "data"
RESULTS_DIR = Path(__file__).parent / "results"
DT_S = 0.25
DURATION_S = 6 * 3600
PV_SCALE = 0.4
INITIAL_SOC = 0.6
METER_LATENCY_S = 0.5
METER_PERIODS_S = (1.0, 5.0)
BATTERY_POLL_S = 1.0  # the gateway's READ_IOUT/READ_VOUT poll, timestamped
SEEDS = (1, 2, 3)
MAX_CHARGE_W = 2200.0
MAX_DISCHARGE_W = 1690.0
METER_TOPIC = "tele/meter/SENSOR"
STRATEGY_NAMES = ("no_battery", "pid_last_command", "last_command_step", "charge_controller")

PLANT = BicPlantParams()
CONTROL = ControlParams(max_charge_w=MAX_CHARGE_W, max_discharge_w=MAX_DISCHARGE_W)


def load_trace(name: str) -> np.ndarray:
    """CSV body (after '#' comments and the header row) as a float array."""
    return np.array(read_rows(DATA_DIR / name))


def cloud_factor(seconds: int, rng: np.random.Generator) -> np.ndarray:
    """Seeded fast cloud dips (the 30 s PV trace hides edges): ~8 per hour, 30-80 % deep."""
    factor = np.ones(seconds)
    for _ in range(rng.poisson(8 * seconds / 3600)):
        start = int(rng.uniform(0, seconds))
        ramp, hold = int(rng.uniform(3, 12)), int(rng.uniform(15, 150))
        depth = rng.uniform(0.3, 0.8)
        shape = np.concatenate([np.linspace(0, 1, ramp), np.ones(hold), np.linspace(1, 0, ramp)])
        end = min(seconds, start + len(shape))
        factor[start:end] = np.minimum(factor[start:end], 1 - depth * shape[: end - start])
    return factor


@dataclass(frozen=True)
class Scenario:
    seed: int
    house_w: np.ndarray  # net house power (load - PV) at DT_S resolution, > 0 import
    dt: float

    @property
    def hours(self) -> float:
        return len(self.house_w) * self.dt / 3600


def build_scenario(seed: int, duration_s: int = DURATION_S, start_s: int = 0) -> Scenario:
    load = load_trace("rae_household.csv")[start_s : start_s + duration_s, 1]
    cyprus = load_trace("cyprus_netload.csv")
    seconds = np.arange(start_s, start_s + len(load), dtype=float)
    pv = np.interp(seconds, cyprus[:, 0], cyprus[:, 2]) * PV_SCALE
    pv *= cloud_factor(len(load), np.random.default_rng(seed))
    net_1hz = load - pv
    return Scenario(seed=seed, house_w=np.repeat(net_1hz, round(1 / DT_S)), dt=DT_S)


# --- strategies: decide(arrival_time, grid_w) -> setpoint or None -------------------------


class CommandIntegrator:
    """Base of the baselines: they integrate on their own last command, ignore the battery."""

    command = 0.0

    def observe_battery(self, time_s: float, ac_w: float) -> None:
        return None


class IncrementalPid(CommandIntegrator):
    """(b) velocity P on the last *command*: cmd += -kp * error outside a +-10 W band."""

    def __init__(self, kp: float = 0.3, tolerance_w: float = 10.0, max_step_w: float = 400.0):
        self.kp, self.tolerance_w, self.max_step_w = kp, tolerance_w, max_step_w
        self.command = 0.0

    def decide(self, time_s: float, grid_w: float) -> float | None:
        if abs(grid_w) <= self.tolerance_w:
            return None
        step = float(np.clip(-self.kp * grid_w, -self.max_step_w, self.max_step_w))
        new = round((self.command + step) / 10) * 10
        new = float(np.clip(new, -MAX_DISCHARGE_W, MAX_CHARGE_W))
        if new == self.command:
            return None
        self.command = new
        return new


class LastCommandStep(CommandIntegrator):
    """(c) cmd = last cmd - (grid - target) on every sample outside +-10 W."""

    def __init__(self, tolerance_w: float = 10.0) -> None:
        self.tolerance_w = tolerance_w
        self.command = 0.0

    def decide(self, time_s: float, grid_w: float) -> float | None:
        if abs(grid_w) <= self.tolerance_w:
            return None
        new = float(np.clip(round(self.command - grid_w), -MAX_DISCHARGE_W, MAX_CHARGE_W))
        if new == self.command:
            return None
        self.command = new
        return new


class OurController:
    """(d) the service's ChargeController."""

    def __init__(self, params: ControlParams = CONTROL) -> None:
        self.controller = ChargeController(params)

    def observe_battery(self, time_s: float, ac_w: float) -> None:
        self.controller.record_battery(time_s, ac_w)

    def decide(self, time_s: float, grid_w: float) -> float | None:
        return self.controller.update(time_s, grid_w).setpoint_w


STRATEGIES: dict[str, Callable[[], IncrementalPid | LastCommandStep | OurController]] = {
    "pid_last_command": IncrementalPid,
    "last_command_step": LastCommandStep,
    "charge_controller": OurController,
}


@dataclass(frozen=True)
class RunTrace:
    grid_w: np.ndarray
    writes: int


def simulate(
    scenario: Scenario,
    strategy: IncrementalPid | LastCommandStep | OurController,
    meter_period_s: float,
) -> RunTrace:
    """Closed loop: meter samples -> payload -> meter_input -> strategy -> plant."""
    dt, house = scenario.dt, scenario.house_w
    plant = BicPlant(PLANT, soc=INITIAL_SOC)
    meter = MeterInput(
        MeterConfig(sources=[MeterSource(topic=METER_TOPIC, json_path="SML.Power_curr")])
    )
    phase = np.random.default_rng(scenario.seed + 1000).uniform(0, meter_period_s)
    sample_every = max(1, round(meter_period_s / dt))
    first_sample = round(phase / dt)
    latency_steps = round(METER_LATENCY_S / dt)
    poll_every = round(BATTERY_POLL_S / dt)
    in_flight: deque[tuple[int, bytes]] = deque()
    battery = np.empty(len(house))
    writes, last_written = 0, 0.0
    for i in range(len(house)):
        ac = plant.ac_power_w
        battery[i] = ac
        if i % poll_every == 0:
            strategy.observe_battery(i * dt, ac)
        if i >= first_sample and (i - first_sample) % sample_every == 0:
            payload = b'{"SML":{"Power_curr":%d}}' % round(house[i] + ac)
            in_flight.append((i + latency_steps, payload))
        while in_flight and in_flight[0][0] <= i:
            result = meter.ingest(METER_TOPIC, in_flight.popleft()[1], i * dt)
            if result.sample is None:
                continue
            setpoint = strategy.decide(result.sample.time, result.sample.grid_w)
            if setpoint is not None and setpoint != last_written:
                plant.command(setpoint)
                writes, last_written = writes + 1, setpoint
        plant.step(dt)
    return RunTrace(grid_w=house + battery, writes=writes)


def oracle_grid(scenario: Scenario) -> np.ndarray:
    """Perfect-foresight greedy dispatch with the plant's power, energy and loss limits.

    For minimising import + export energy, serving every instant as fully as the limits
    allow is optimal (holding energy back can at best be repaid 1:1 later)."""
    p, dt = PLANT, scenario.dt
    soc, capacity_ws = INITIAL_SOC, p.capacity_wh * 3600
    battery = np.empty(len(scenario.house_w))
    for i, house in enumerate(scenario.house_w.tolist()):
        want = min(MAX_CHARGE_W, max(-MAX_DISCHARGE_W, -house))
        voltage = p.open_circuit_voltage(soc)
        dc = p.dc_from_ac(want)
        if dc > 0:
            dc = min(dc, p.max_dc_w(voltage, True), (p.max_soc - soc) * capacity_ws / dt)
        else:
            dc = max(dc, -p.max_dc_w(voltage, False), -(soc - p.min_soc) * capacity_ws / dt)
        dc = max(dc, 0.0) if want > 0 else min(dc, 0.0)
        soc += dc * dt / capacity_ws
        battery[i] = p.ac_from_dc(dc)
    return scenario.house_w + battery


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


def max_overshoot(grid: np.ndarray, events: list[tuple[int, int]], dt: float) -> float:
    window, pre = round(60 / dt), round(5 / dt)
    worst = 0.0
    for n, (index, sign) in enumerate(events):
        if index < pre or np.max(np.abs(grid[index - pre : index])) >= 50:
            continue
        end = min(index + window, events[n + 1][0] if n + 1 < len(events) else len(grid))
        worst = max(worst, float(np.max(-sign * grid[index:end], initial=0.0)))
    return worst


def band_crossings(grid: np.ndarray, band_w: float = 20.0) -> int:
    state = np.where(grid > band_w, 1, np.where(grid < -band_w, -1, 0))
    outside = state[state != 0]
    return int(np.count_nonzero(np.diff(outside)))


def metrics(
    grid: np.ndarray,
    oracle: np.ndarray,
    writes: int,
    events: list[tuple[int, int]],
    dt: float,
) -> dict[str, float]:
    hours = len(grid) * dt / 3600
    to_wh = dt / 3600
    imp, exp = (
        float(np.clip(grid, 0, None).sum() * to_wh),
        float(np.clip(-grid, 0, None).sum() * to_wh),
    )
    o_imp = float(np.clip(oracle, 0, None).sum() * to_wh)
    o_exp = float(np.clip(-oracle, 0, None).sum() * to_wh)
    p5, p95 = np.percentile(grid, [5, 95])
    return {
        "import_wh": imp,
        "export_wh": exp,
        "avoidable_import_wh": imp - o_imp,
        "avoidable_export_wh": exp - o_exp,
        "avoidable_total_wh": imp + exp - o_imp - o_exp,
        "band_crossings_per_h": band_crossings(grid) / hours,
        "p95_p5_w": float(p95 - p5),
        "writes_per_h": writes / hours,
        "max_overshoot_w": max_overshoot(grid, events, dt),
    }


def run_scenario(
    scenario: Scenario, meter_period_s: float
) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
    oracle = oracle_grid(scenario)
    events = step_events(scenario.house_w, scenario.dt)
    grids = {"no_battery": scenario.house_w}
    writes = {"no_battery": 0}
    for name, factory in STRATEGIES.items():
        trace = simulate(scenario, factory(), meter_period_s)
        grids[name], writes[name] = trace.grid_w, trace.writes
    results = {
        name: metrics(grid, oracle, writes[name], events, scenario.dt)
        for name, grid in grids.items()
    }
    return results, grids


def average(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {
        name: {key: float(np.mean([run[name][key] for run in runs])) for key in runs[0][name]}
        for name in runs[0]
    }


def check_goal(results: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """Failures: ours must have the least avoidable total and <= writes/h of (b)."""
    failures = []
    for period, table in results.items():
        ours = table["charge_controller"]
        for name, row in table.items():
            if (
                name != "charge_controller"
                and row["avoidable_total_wh"] <= ours["avoidable_total_wh"]
            ):
                failures.append(
                    f"meter {period}: {name} avoidable {row['avoidable_total_wh']:.1f} Wh <= "
                    f"ours {ours['avoidable_total_wh']:.1f} Wh"
                )
        if ours["writes_per_h"] > table["pid_last_command"]["writes_per_h"]:
            failures.append(
                f"meter {period}: ours {ours['writes_per_h']:.0f} writes/h > PID baseline "
                f"{table['pid_last_command']['writes_per_h']:.0f}"
            )
    return failures


COLUMNS = (
    ("import_wh", "import Wh", "{:.0f}"),
    ("export_wh", "export Wh", "{:.0f}"),
    ("avoidable_import_wh", "avoid imp", "{:.1f}"),
    ("avoidable_export_wh", "avoid exp", "{:.1f}"),
    ("avoidable_total_wh", "avoid tot", "{:.1f}"),
    ("band_crossings_per_h", "cross/h", "{:.0f}"),
    ("p95_p5_w", "p95-p5 W", "{:.0f}"),
    ("writes_per_h", "writes/h", "{:.0f}"),
    ("max_overshoot_w", "overshoot W", "{:.0f}"),
)


def format_table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    header = f"{'meter':>6} {'strategy':<19}" + "".join(f"{c[1]:>12}" for c in COLUMNS)
    lines = [header, "-" * len(header)]
    for period, table in results.items():
        for name, row in table.items():
            cells = "".join(f"{fmt.format(row[key]):>12}" for key, _, fmt in COLUMNS)
            lines.append(f"{period:>6} {name:<19}{cells}")
    return "\n".join(lines)


def plot(grids: dict[str, np.ndarray], dt: float, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(grids), 1, figsize=(12, 2.2 * len(grids)), sharex=True)
    per_10s = round(10 / dt)
    for ax, (name, grid) in zip(axes, grids.items(), strict=True):
        n = len(grid) // per_10s * per_10s
        hours = np.arange(n // per_10s) * 10 / 3600
        chunks = grid[:n].reshape(-1, per_10s)
        ax.fill_between(hours, chunks.min(axis=1), chunks.max(axis=1), alpha=0.3, lw=0)
        ax.plot(hours, chunks.mean(axis=1), lw=0.6)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylabel("grid W")
        ax.set_ylim(-2500, 3500)
        ax.set_title(name, fontsize=9, loc="left")
    axes[-1].set_xlabel("hours (10 s mean, band = 10 s min/max)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 simulated minutes, one seed")
    args = parser.parse_args(argv)
    duration, seeds = (1800, SEEDS[:1]) if args.quick else (DURATION_S, SEEDS)

    results: dict[str, dict[str, dict[str, float]]] = {}
    plotted: dict[str, np.ndarray] = {}
    for period in METER_PERIODS_S:
        runs = []
        for seed in seeds:
            table, grids = run_scenario(build_scenario(seed, duration), period)
            runs.append(table)
            if period == METER_PERIODS_S[0] and seed == seeds[0]:
                plotted = grids
        results[f"{period:g}s"] = average(runs)

    print(
        f"{duration / 3600:g} h simulated, mean of seeds {list(seeds)}, dt {DT_S} s, "
        f"meter latency {METER_LATENCY_S} s, plant dead time {PLANT.dead_time_s} s, "
        f"lag {PLANT.time_constant_s} s"
    )
    print(format_table(results))
    failures = check_goal(results)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    report = {
        "setup": {
            "duration_s": duration,
            "seeds": list(seeds),
            "dt_s": DT_S,
            "pv_scale": PV_SCALE,
            "initial_soc": INITIAL_SOC,
            "meter_latency_s": METER_LATENCY_S,
            "limits_w": {"charge": MAX_CHARGE_W, "discharge": MAX_DISCHARGE_W},
            "plant": PLANT.__dict__,
            "controller": CONTROL.model_dump(),
            "data": "RAE (Makonin 2018, doi:10.7910/DVN/ZJW4LC) and Cyprus prosumer "
            "(Zenodo doi:10.5281/zenodo.8348862), both CC BY 4.0; see bench/data/README.md",
        },
        "results": results,
        "goal_met": not failures,
        "goal_failures": failures,
    }
    (RESULTS_DIR / "control.json").write_text(json.dumps(report, indent=2) + "\n")
    plot(
        plotted,
        DT_S,
        RESULTS_DIR / "control.png",
        f"grid power, meter {METER_PERIODS_S[0]:g} s, seed {seeds[0]}",
    )
    if failures:
        print("GOAL NOT MET:\n  " + "\n  ".join(failures))
        return 1
    print("goal met: least avoidable import+export, writes/h <= PID baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
