"""The pure parts of bench.e2e: the asked powers make every sample a write."""

from __future__ import annotations

import random

from bench import e2e
from bench.bic import latency_stats
from services.charge_controller.control_law import ControlParams


def test_every_asked_power_is_a_new_write_inside_one_slew_step():
    params = ControlParams()
    rng = random.Random(3)
    power = e2e.MIN_W
    for _ in range(20_000):
        new = e2e.next_power(rng, power)
        assert e2e.MIN_W <= new <= e2e.MAX_W
        assert params.min_change_w < abs(new - power) <= params.max_step_w  # written, not slewed
        assert new <= params.max_charge_w
        power = new


def test_latency_stats_percentiles_and_goal():
    stats = latency_stats([float(x) for x in range(1, 101)], 25.0)
    assert (stats["p50_ms"], stats["p99_ms"], stats["max_ms"]) == (50.5, 99.0, 100.0)
    assert stats["over_goal_pct"] == 76.0 and stats["goal_met"] is False
    assert latency_stats([1.0, 2.0, 24.9], 25.0)["goal_met"] is True
