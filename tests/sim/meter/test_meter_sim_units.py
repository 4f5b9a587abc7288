import numpy as np
import pytest

from services.charge_controller.meter_input import MeterConfig, MeterInput, MeterSource
from services.sim.meter.household import Household
from services.sim.meter.payloads import READ_WITH, render
from services.sim.meter.settings import MeterSimSettings
from services.sim.traces import DEFAULT_TRACE_DIR, HOUSEHOLD, PROSUMER, interpolate, read_rows


@pytest.mark.parametrize("fmt", sorted(READ_WITH))
@pytest.mark.parametrize("grid_w", [-1234.0, 0.0, 987.0])
def test_every_format_reads_back_through_the_controller_meter_input(fmt, grid_w) -> None:
    source = MeterSource(topic="m", **READ_WITH[fmt])
    meter = MeterInput(MeterConfig(sources=[source]))
    result = meter.ingest("m", render(fmt, grid_w), 1.0)
    assert result.sample is not None
    assert result.sample.grid_w == pytest.approx(grid_w, abs=1.0)


def test_shelly_phases_add_up() -> None:
    import json

    body = json.loads(render("shelly3em", 1000.0))
    assert body["a_act_power"] + body["b_act_power"] + body["c_act_power"] == pytest.approx(1000)


def test_constant_and_step_sources() -> None:
    assert Household("constant", DEFAULT_TRACE_DIR, base_w=250).net_w(1e6) == 250
    step = Household("step", DEFAULT_TRACE_DIR, base_w=100, step_w=900, step_period_s=30)
    assert [step.net_w(t) for t in (0, 29, 30, 59, 60)] == [100, 100, 1000, 1000, 100]


def test_trace_source_is_load_minus_scaled_pv_and_loops() -> None:
    house = Household("trace", DEFAULT_TRACE_DIR, load_scale=1.0, pv_scale=0.4)
    load = read_rows(DEFAULT_TRACE_DIR / HOUSEHOLD)
    pv = read_rows(DEFAULT_TRACE_DIR / PROSUMER)
    t = 3600.0
    expected = load[3600][1] - 0.4 * interpolate([r[0] for r in pv], [r[2] for r in pv], t)
    assert house.net_w(t) == pytest.approx(expected)
    assert house.net_w(t + house.span_s) == pytest.approx(expected)


def test_interpolation_matches_numpy() -> None:
    # the whole-day benchmark days are made with numpy.interp from the same traces
    xs, ys = [0.0, 30.0, 60.0], [0.0, 300.0, 0.0]
    for t in (-5.0, 0.0, 12.5, 45.0, 99.0):
        assert interpolate(xs, ys, t) == pytest.approx(np.interp(t, xs, ys))


def test_settings_resolve_the_bic_topic() -> None:
    settings = MeterSimSettings(base_topic="home")
    assert settings.resolved_bic_topic() == "home/sim/bic/0/ac_power"
    assert MeterSimSettings(bic_topic=None).resolved_bic_topic() is None
