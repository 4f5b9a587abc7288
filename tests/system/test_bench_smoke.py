import json
import math
import re

import numpy as np
import pytest

from bench import control, dayset, meter_latency
from bench.baselines import BatteryView, HamstieBic2mqtt, OpenDtuDpl
from bench.closed_loop import House, oracle_grid, simulate
from bench.goals import check_goals
from bench.metrics import max_overshoot, step_events
from bench.strategies import OURS, PLANT, STRATEGY_NAMES, Supervised, factories
from bench.trace_csv import TraceError, parse_trace, read_trace
from services.charge_controller.meter_input import GridSample


def slice_house(seconds: int = 600, start: int = 11 * 3600, soc: float = 0.5) -> House:
    trace = read_trace(dayset.day_path("spring_apr12"))
    net = np.asarray(trace.net_w[start : start + seconds], dtype=float)
    return House(net, start, soc, seed=1)


def test_short_slice_metrics_and_controller_beats_no_battery() -> None:
    control.HOUSES["smoke"] = control.Segments(slice_house(), (("slice", 0, 600),))
    rows = {}
    for name in STRATEGY_NAMES:
        _, per_day, _ = control.run_job(control.Job("smoke", 1.0, name))
        rows[name] = per_day["slice"]
    for row in rows.values():
        assert all(math.isfinite(v) for v in row.values())
        assert set(row) >= {"avoidable_total_wh", "writes_per_h", "max_overshoot_w"}
    ours, none = rows[OURS], rows["no_battery"]
    assert ours["avoidable_total_wh"] < 0.5 * none["avoidable_total_wh"]
    assert ours["avoidable_total_wh"] < rows["pid_last_command"]["avoidable_total_wh"]
    # the writes goal (<= the PID's) is judged over whole days by bench.control; on this
    # cloudy 10 minutes ours writes about as often as the PID (396 vs 384/h since the ramp
    # lead of v0.3), still far fewer than a law that writes on every sample
    assert 0 < ours["writes_per_h"] < 0.8 * rows["last_command_step"]["writes_per_h"]
    assert none["writes_per_h"] == 0
    assert {k for k in rows if "pid" in k} == {"pid_last_command", "hamstie_bic2mqtt_pid"}


def test_new_baselines_regulate_a_short_slice() -> None:
    house = slice_house(900)
    no_battery = np.abs(house.at(0.25)).sum()
    for name in ("hamstie_bic2mqtt_pid", "opendtu_dpl"):
        trace = simulate(house, factories()[name](), 5.0)
        assert np.abs(trace.grid_w).sum() < 0.6 * no_battery, name
        assert len(trace.write_steps) > 0


def test_hamstie_idles_at_its_minimum_charge_current_and_blocks_discharge() -> None:
    hamstie = HamstieBic2mqtt(2200, 1690, plant=PLANT)
    hamstie.observe_battery(0.0, BatteryView(0.0, 51.0, 0.0, 51.0))
    sample = GridSample(time=1.0, grid_w=800.0, period_s=1.0)
    # the first PID step after start is 0 -> 0 W -> 0.9 A charging (its idle)
    first = hamstie.on_sample(1.0, sample, 0.0)
    assert first is not None and first > 0
    assert hamstie.written == (1, 90)
    # import asks for discharge, but within 61 s of start-up (last "charge") it stays 0
    assert hamstie.on_sample(2.0, GridSample(2.0, 800.0, 1.0), 0.0) is None
    # that reset the PID: its first step afterwards is 0 again, the next one discharges
    assert hamstie.on_sample(70.0, GridSample(70.0, 800.0, 1.0), 0.0) is None
    later = hamstie.on_sample(71.0, GridSample(71.0, 800.0, 1.0), 0.0)
    assert later is not None and later < 0
    assert hamstie.written is not None and hamstie.written[0] == -1


def test_opendtu_waits_for_fresh_statistics_and_two_more_seconds() -> None:
    dpl = OpenDtuDpl(2200, 1690)
    dpl.observe_battery(0.0, BatteryView(0.0, 51.0, 0.0, 51.0))
    assert dpl.on_sample(1.0, GridSample(1.0, 500.0, 1.0), 0.0) is None  # < stats + 2 s
    assert dpl.on_sample(2.5, GridSample(2.5, 500.0, 1.0), 0.0) == -500.0
    dpl.observe_battery(2.6, BatteryView(-100.0, 51.0, -100.0, 51.0))
    assert dpl.on_sample(3.0, GridSample(3.0, 300.0, 1.0), 0.0) is None  # stats not yet +2 s
    assert dpl.on_sample(4.7, GridSample(4.7, 300.0, 1.0), 0.0) == -400.0  # -100 - 300


def test_ours_runs_through_the_supervisor_and_resumes_after_full() -> None:
    house = House(np.full(240, -1500.0), 12 * 3600, start_soc=0.949, seed=3)
    trace = simulate(house, Supervised(), 1.0)
    assert trace.soc.max() <= PLANT.max_soc + 1e-3
    assert trace.setpoint_w.max() > 0  # it charged until the BMS cut off


def test_oracle_is_a_lower_bound_for_the_controller() -> None:
    house = slice_house(600, start=13 * 3600)
    oracle = oracle_grid(house)
    trace = simulate(house, Supervised(), 5.0)
    assert abs(oracle).sum() < abs(trace.grid_w).sum() < abs(house.at(0.25)).sum()


def test_goal_check_reports_each_goal_with_numbers() -> None:
    def row(avoid: float, writes: float, overshoot: float = 0.0) -> dict[str, float]:
        keys = ("import_wh", "export_wh", "avoidable_import_wh", "avoidable_export_wh")
        base = dict.fromkeys(keys, 0.0) | {"band_crossings_per_h": 0.0, "p95_p5_w": 0.0}
        return base | {
            "hours": 1.0,
            "avoidable_total_wh": avoid,
            "writes": writes,
            "writes_per_h": writes,
            "max_overshoot_w": overshoot,
        }

    good = {"d": {OURS: row(10, 50, 40), "pid_last_command": row(20, 100), "x": row(30, 0)}}
    assert all(g.met for g in check_goals({"1s": good}, ["d"]))
    bad = {"d": {OURS: row(19, 150, 120), "pid_last_command": row(20, 100), "x": row(30, 0)}}
    goals = {g.goal: g for g in check_goals({"1s": bad}, ["d"])}
    assert goals["least avoidable import+export on every day"].met
    assert not goals[">= 20% less avoidable than the best baseline (sum)"].met
    assert "+5.0% less" in goals[">= 20% less avoidable than the best baseline (sum)"].detail
    assert not goals["writes/h <= PID baseline"].met
    assert not goals["worst overshoot < 100 W"].met


def test_trace_csv_accepts_comments_extra_columns_and_reports_bad_lines() -> None:
    trace = parse_trace("# mine\nt_s,load,net_w\n10,5,100\n11,5,-20.5\n# note\n12,5,3\n")
    assert trace.start_s == 10 and trace.net_w == [100.0, -20.5, 3.0]
    cases = {
        "t_s,grid\n0,1\n": "line 1: header 't_s,grid' lacks column(s) net_w",
        "t_s,net_w\n0,1\n1,abc\n": "line 3: net_w 'abc' is not a number",
        "t_s,net_w\n0,1\n1,2\n5,3\n": "line 4: t_s jumps from 1 to 5",
        "t_s,net_w\n0,1\n0,2\n": "line 3: t_s repeats or goes back from 0 to 0",
        "t_s,net_w\n0,nan\n": "line 2: net_w 'nan' is not a finite number",
        "t_s,net_w\n0\n": "line 2: 1 field(s), the header has 2",
        "# only\n": ": no header row",
        "t_s,net_w\n": ": no data rows",
    }
    for text, message in cases.items():
        with pytest.raises(
            TraceError,
            match=re.escape(f"x.csv{message}" if message[0] == ":" else f"x.csv {message}"),
        ):
            parse_trace(text, "x.csv")


def test_trace_cli_writes_the_result_schema(tmp_path) -> None:
    start = 12 * 3600
    rows = "\n".join(f"{start + i},{-900 if i < 150 else 700}" for i in range(300))
    csv = tmp_path / "mine.csv"
    csv.write_text(f"# my house\nt_s,net_w\n{rows}\n")
    out = tmp_path / "result.json"
    assert control.main(["--trace", str(csv), "--out", str(out), "--jobs", "1"]) == 0
    report = json.loads(out.read_text())
    for period in ("1s", "5s"):
        table = report["results"][period]
        assert set(table) == set(STRATEGY_NAMES)
        assert table[OURS]["avoidable_total_wh"] < table["no_battery"]["avoidable_total_wh"]
        assert all("writes_per_h" in row for row in table.values())


def test_trace_cli_rejects_a_bad_csv_with_the_line(tmp_path, capsys) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("t_s,net_w\n0,1\n2,1\n")
    assert control.main(["--trace", str(csv), "--out", str(tmp_path / "r.json")]) == 2
    assert "bad.csv line 3: t_s jumps from 0 to 2" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()


def test_day_files_exist_for_every_run_and_splits_are_disjoint() -> None:
    tuning = {d for r in dayset.runs("tuning") for d in r.days}
    test = {d for r in dayset.runs("test") for d in r.days}
    holdout = {d for r in dayset.runs("holdout") for d in r.days}
    assert tuning and test and holdout
    assert not tuning & test and not holdout & (tuning | test)
    assert len(tuning | test) >= 7
    for day in tuning | test | holdout:
        assert dayset.day_path(day).exists(), day


def test_overshoot_counts_the_response_to_a_step_not_the_next_disturbance() -> None:
    dt, n = 0.25, 400
    house = np.zeros(n)
    house[40:] = 1000.0  # a 1 kW step at 10 s
    grid = np.zeros(n)
    grid[40:48] = 1000.0
    grid[48:60] = -150.0  # the response overshoots by 150 W
    events = step_events(house, dt)
    assert max_overshoot(grid, house, events, dt) == 150.0
    later = house.copy()
    # the load ends 20 s later in a 20 s ramp (too slow to be an event) ...
    late_grid = grid.copy()
    late_grid[130:150] = -900.0  # ... so this export is a new disturbance, not overshoot
    ramp = np.linspace(1000.0, 0.0, 80)
    later[120:200], later[200:] = ramp, 0.0
    assert max_overshoot(late_grid, later, step_events(later, dt), dt) == 150.0


class FixedSetpoint:
    """Writes one setpoint at the start and nothing else (optionally with a keepalive)."""

    def __init__(self, watts: float, keepalive_s: float | None) -> None:
        self.watts, self.sent = watts, False
        if keepalive_s is not None:
            self.keepalive_s = keepalive_s

    def observe_battery(self, time_s: float, battery: BatteryView) -> None:
        return None

    def on_sample(self, time_s: float, sample: GridSample, clock_s: float) -> float | None:
        return None

    def tick(self, time_s: float, clock_s: float) -> float | None:
        if self.sent:
            return None
        self.sent = True
        return self.watts


def test_keepalive_resend_corrects_the_drift_of_a_fixed_current() -> None:
    # charging 2 kW for 40 min from 20 % SoC: the voltage rises, so a fixed current drifts up
    house = House(np.zeros(2400), 0, start_soc=0.2, seed=1)
    plain = simulate(house, FixedSetpoint(2000.0, None), 5.0)
    kept = simulate(house, FixedSetpoint(2000.0, 10.0), 5.0)
    assert plain.battery_w[-1] > 2080.0  # the current stayed, the power drifted
    # re-converted at the present open-circuit voltage (+1.5 % from the internal resistance)
    assert abs(kept.battery_w[-1] - 2000.0) < 40.0
    assert len(plain.write_steps) == 1
    assert 1 < len(kept.write_steps) <= 2400 / 10 + 1  # a re-send counts only if amps changed


def test_meter_latency_bench_measures_the_swing_after_the_step() -> None:
    # the controller told the meter's real delay holds the grid on both loads
    told_right = meter_latency.run_case(1.0, 1.0, seeds=(0,), half_s=300)
    assert told_right["swing_w"][0] < 20.0 and 0 < told_right["writes"][0] < 60
    # the swing is measured over the settled part of each half, the larger of the two
    grid = np.zeros(2 * 300 * 4)
    grid[-10] = 500.0  # a spike late after the step
    assert meter_latency.swing_w(grid, 300) == 500.0
    grid[:10] = 9000.0  # the start-up transient is not part of the settled swing
    assert meter_latency.swing_w(grid, 300) == 500.0
