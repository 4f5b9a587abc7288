import math

from bench import control


def test_short_slice_metrics_and_controller_beats_no_battery() -> None:
    scenario = control.build_scenario(seed=1, duration_s=600, start_s=3 * 3600)
    results, grids = control.run_scenario(scenario, meter_period_s=1.0)
    assert set(results) == set(control.STRATEGY_NAMES)
    for row in results.values():
        assert all(math.isfinite(v) for v in row.values())
        assert set(row) >= {"avoidable_total_wh", "writes_per_h", "max_overshoot_w"}
    ours, none = results["charge_controller"], results["no_battery"]
    assert ours["avoidable_total_wh"] < 0.5 * none["avoidable_total_wh"]
    assert 0 < ours["writes_per_h"] <= results["pid_last_command"]["writes_per_h"]
    assert none["writes_per_h"] == 0
    assert len(grids["charge_controller"]) == len(scenario.house_w)


def test_goal_check_reports_failures() -> None:
    row = {"avoidable_total_wh": 10.0, "writes_per_h": 100.0}
    worse = {"avoidable_total_wh": 20.0, "writes_per_h": 100.0}
    ok = {"1s": {"charge_controller": row, "pid_last_command": worse, "no_battery": worse}}
    assert control.check_goal(ok) == []
    bad = {"1s": {"charge_controller": worse, "pid_last_command": row, "no_battery": worse}}
    assert len(control.check_goal(bad)) == 2


def test_oracle_is_a_lower_bound_for_the_controller() -> None:
    scenario = control.build_scenario(seed=2, duration_s=600, start_s=3600)
    oracle = control.oracle_grid(scenario)
    trace = control.simulate(scenario, control.OurController(), 5.0)
    assert abs(oracle).sum() < abs(trace.grid_w).sum() < abs(scenario.house_w).sum()
